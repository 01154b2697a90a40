"""Translator on a tiny config: subwords, attention, the step-able decoder, translate, export."""

import json
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from harness import assert_config_round_trip, assert_same_outputs, load_export_without_seqapps
from seqapps.generation import GenerationConfig
from seqapps.layers import Attention
from seqapps.tasks import Task, Translator
from seqapps.text import SubwordVectorizer, train_subword_model

# A toy language pair a tiny model learns exactly: words map one to one, order kept.
WORDS = {"cat": "gato", "dog": "perro", "sees": "ve", "eats": "come", "the": "el", "fish": "pez"}
SOURCES = [
    f"the {a} {v} the {b}"
    for a in ("cat", "dog", "fish")
    for v in ("sees", "eats")
    for b in ("cat", "dog", "fish")
]
TARGETS = [" ".join(WORDS[w] for w in s.split()) for s in SOURCES]


@pytest.fixture(scope="module")
def model():
    tf.keras.utils.set_random_seed(0)
    translator = Translator(
        train_subword_model(SOURCES * 5, 40),
        train_subword_model(TARGETS * 5, 40),
        units=32,
        embedding_dim=16,
    )
    import keras

    translator.compile(optimizer=keras.optimizers.Adam(1e-2))
    # 135 steps: the pairs three times per epoch, as fewer epochs cost less than the steps
    data = translator.make_dataset(SOURCES * 3, TARGETS * 3, batch_size=6, shuffle=True)
    translator.fit(data, epochs=15, verbose=0)
    return translator


# -- the shared blocks -----------------------------------------------------------


def test_subword_round_trip_keeps_accents_case_and_punctuation():
    texts = ["¿Qué dijo Jehová?", "Él respondió: «Sí, señor»; y fué.", "ÁÉÍÓÚ ñ ü — 3,5 km"]
    vectorizer = SubwordVectorizer(train_subword_model(texts * 20, 60))
    back = vectorizer.detokenize(vectorizer(tf.constant(texts))).numpy()
    assert [b.decode() for b in back] == [unicodedata.normalize("NFKC", t) for t in texts]


def test_subword_vectorizer_reserves_padding_unknown_start_and_end():
    vectorizer = SubwordVectorizer(
        train_subword_model(["abc abc"] * 20, 10), add_start=True, add_end=True
    )
    ids = vectorizer(tf.constant(["abc", "abc abc", "zzz"])).numpy()
    assert (ids[:, 0] == vectorizer.start_id).all()
    assert ids[0].tolist().count(0) > 0  # shorter rows padded with 0 on the right
    assert 1 in ids[2]  # unseen characters read as <unk>
    restored = SubwordVectorizer.from_config(vectorizer.get_config())
    assert (
        restored(tf.constant(["abc"])).numpy() == vectorizer(tf.constant(["abc"])).numpy()
    ).all()


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_attention_gives_masked_steps_no_weight(kind):
    attention = Attention(kind, units=4)
    query = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    memory = np.random.default_rng(1).normal(size=(2, 4, 6)).astype("float32")
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    context, weights = attention(query, memory, mask)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert (weights[0, :, 2:] == 0).all()
    np.testing.assert_allclose(
        np.asarray(context)[0], weights[0, :, :2] @ memory[0, :2], rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="unknown attention kind"):
        Attention("dot-product")


@pytest.mark.parametrize("attention", ["additive", "multiplicative", None])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_decoder_runs_a_step_at_a_time_as_it_runs_a_sequence(attention, cell):
    from seqapps.layers import AttentionDecoder

    decoder = AttentionDecoder(cell, 6, num_layers=2, attention=attention)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, 5, 3)).astype("float32")
    memory = rng.normal(size=(2, 4, 7)).astype("float32")
    mask = np.array([[True] * 4, [True, True, False, False]])
    states = [rng.normal(size=(2, 6)).astype("float32") for _ in decoder.state_names]
    whole, _, whole_weights = decoder(inputs, memory=memory, memory_mask=mask, initial_state=states)
    steps, weights = [], []
    for t in range(5):
        out, states, w = decoder(
            inputs[:, t : t + 1], memory=memory, memory_mask=mask, initial_state=states
        )
        steps.append(out)
        weights.append(w)
    assert_same_outputs(np.concatenate(steps, 1), whole, atol=1e-5)
    assert_same_outputs(np.concatenate(weights, 1), whole_weights, atol=1e-5)
    restored = AttentionDecoder.from_config(decoder.get_config())
    assert restored.get_config() == decoder.get_config()


def test_one_step_at_a_time_equals_the_whole_sequence(model):
    texts = tf.constant(["the cat sees the dog", "the fish eats"])
    target = model.target_tokenizer(tf.constant(["el gato ve el perro", "el pez come"]))[:, :-1]
    whole = model((model.tokenizer(texts), target)).numpy()
    state = model.encode(texts)
    steps = []
    for index in range(target.shape[1]):
        logits, state = model.step(target[:, index], state)
        steps.append(logits.numpy())
    assert_same_outputs(np.stack(steps, 1), whole, atol=1e-4)


def test_padding_the_source_does_not_change_a_translation(model):
    alone = model.translate("the cat sees the dog")
    batched = model.translate(
        ["the cat sees the dog", "the fish eats the cat the dog sees the fish"]
    )
    assert batched[0] == alone


# -- translate ---------------------------------------------------------------------


def test_translate_learns_the_toy_pairs_greedy_and_with_a_beam(model):
    assert model.translate(SOURCES) == TARGETS
    assert model.translate(SOURCES, beam_size=3) == TARGETS


def test_a_string_gives_a_string_and_a_list_a_list_in_order(model):
    assert model.translate("the dog eats the fish") == "el perro come el pez"
    texts = ["the fish sees the cat", "", "the cat eats the dog"]
    out = model.translate(texts, batch_size=2)
    assert isinstance(out, list) and len(out) == 3
    assert [out[0], out[2]] == ["el pez ve el gato", "el gato come el perro"]
    assert model.translate([]) == []


def test_max_length_bounds_the_pieces_written(model):
    short = model.translate("the cat sees the dog", max_length=2)
    pieces = model.target_tokenizer.tokenize(tf.constant([short]))[0][1:-1]  # no start, end
    assert 0 < len(pieces) <= 2


def test_sampling_is_seeded(model):
    first = model.translate(SOURCES[:4], temperature=1.5, seed=7)
    assert model.translate(SOURCES[:4], temperature=1.5, seed=7) == first
    # A text sampled in a batch gets what it gets alone, wherever it sits.
    assert [model.translate(s, temperature=1.5, seed=7) for s in SOURCES[:4]] == first
    assert model.translate(SOURCES[3::-1], temperature=1.5, seed=7) == first[::-1]


def test_no_repeat_ngram_size_never_writes_a_piece_ngram_twice(model):
    # Greedy output changes exactly where it would repeat a pair of pieces.
    free = model.translate(SOURCES, return_attention=True)
    ruled = model.translate(SOURCES, no_repeat_ngram_size=2)
    changed = []
    for (translation, attention), other in zip(free, ruled):
        pieces = attention["target"][:-1]  # the end piece not counted
        pairs = list(zip(pieces, pieces[1:]))
        changed.append(other != translation)
        assert changed[-1] == (len(set(pairs)) < len(pairs)), (pieces, other)
    assert any(changed)
    # No output is long enough to repeat an n-gram this long: the same as no rule.
    assert model.translate(SOURCES[:2], no_repeat_ngram_size=10**9) == model.translate(SOURCES[:2])
    for beam_size in (1, 3):
        results = model.translate(
            SOURCES, no_repeat_ngram_size=1, beam_size=beam_size, return_attention=True
        )
        for _, attention in results:
            pieces = attention["target"][:-1]  # the end piece not counted
            assert pieces and len(set(pieces)) == len(pieces), pieces
        assert [translation for translation, _ in results] != TARGETS


def test_return_attention_gives_pieces_and_weights(model):
    translation, attention = model.translate("the cat sees the dog", return_attention=True)
    assert translation == "el gato ve el perro"
    weights = attention["weights"]
    assert weights.shape == (len(attention["target"]), len(attention["source"]))
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-4)
    assert attention["target"][-1] == "</s>"


def test_the_attention_heatmap_is_drawn_to_png(model, tmp_path):
    from seqapps import plots

    _, attention = model.translate("the dog sees the fish", return_attention=True)
    figure = plots.attention_heatmap(attention, tmp_path / "attention.png", title="toy")
    assert (tmp_path / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert len(labels) == len(attention["source"]) and "\u2581" not in "".join(labels)
    assert_every_label_lies_whole_inside(figure, tmp_path / "attention.png")
    with pytest.raises(ValueError, match="expected"):
        plots.attention_heatmap({**attention, "weights": attention["weights"].T})


def assert_every_label_lies_whole_inside(figure, png):
    """The tick labels, axis labels and title lie inside the saved picture, off the heatmap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    FigureCanvasAgg(figure)  # saved, the figure left pyplot: measure it on a canvas of its own
    figure.set_dpi(120)  # as saved
    width, height = Image.open(png).size
    assert figure.bbox.width == pytest.approx(width, abs=1)
    assert figure.bbox.height == pytest.approx(height, abs=1)
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[0]
    texts = [*axes.get_xticklabels(), *axes.get_yticklabels(), axes.xaxis.label, axes.yaxis.label]
    for text in [*texts, *figure.texts]:
        box = text.get_window_extent(renderer)
        inside = 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height
        assert inside, f"{text.get_text()!r} at {box.extents.round()} in a {width}x{height} picture"
    heatmap = axes.get_window_extent(renderer)
    for title in figure.texts:  # below the heatmap, not over it
        assert title.get_window_extent(renderer).y1 <= heatmap.y0


@pytest.mark.parametrize("pieces", [(2, 2), (5, 5), (40, 3), (3, 45)])
def test_the_attention_heatmap_shows_its_labels_whole_at_any_size(pieces, tmp_path):
    # Before: a two-piece translation's picture cut its vertical axis label at the bottom.
    from seqapps import plots

    source = [f"\u2581source{index}" for index in range(pieces[0] - 1)] + ["</s>"]
    target = [f"\u2581target{index}" for index in range(pieces[1] - 1)] + ["</s>"]
    weights = np.random.default_rng(0).dirichlet(np.ones(len(source)), len(target))
    attention = {"source": source, "target": target, "weights": weights}
    path = tmp_path / "attention.png"
    figure = plots.attention_heatmap(attention, path, title="Jesus wept. → Jesús lloró.")
    assert_every_label_lies_whole_inside(figure, path)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"beam_size": 0}, "beam_size"),
        ({"beam_size": -2}, "beam_size"),
        ({"max_length": -1}, "max_length"),
        ({"max_length": 100_001}, "max_length must lie in 0..100000"),
        ({"temperature": True}, "temperature"),
        ({"beam": 3}, "unknown generation option"),
        ({"stop": "."}, "stop is for text generation"),
        ({"beam_size": 2, "temperature": 0.5}, "deterministic"),
        ({"seed": "abc"}, "seed"),
        ({"temperature": float("nan")}, "temperature"),
        ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size"),
    ],
)
def test_bad_options_are_refused_naming_them(model, options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        model.translate("the cat", **options)


def test_max_length_zero_writes_nothing_greedy_or_by_beam(model):
    # One rule for max_length in every task: 0..MAX_LENGTH tokens written.
    assert model.translate(SOURCES[:2], max_length=0) == ["", ""]
    assert model.translate(SOURCES[:2], max_length=0, beam_size=3) == ["", ""]


def test_a_generation_config_gives_what_its_keywords_give(model):
    config = GenerationConfig(beam_size=3, no_repeat_ngram_size=2, max_length=np.int64(6))
    expected = model.translate(SOURCES[:3], beam_size=3, no_repeat_ngram_size=2, max_length=6)
    assert model.translate(SOURCES[:3], generation_config=config) == expected
    # Keywords beside the config replace its fields.
    greedy = model.translate(SOURCES[:3], no_repeat_ngram_size=2, max_length=6)
    assert model.translate(SOURCES[:3], generation_config=config, beam_size=1) == greedy
    with pytest.raises(TypeError, match="generation_config must be a seqapps.GenerationConfig"):
        model.translate("the cat", generation_config={"beam_size": 3})


def test_the_cli_takes_the_search_options(model, tmp_path, capsys):
    from seqapps.cli import main

    preset = model.save_preset(tmp_path / "translator.keras")
    options = ["--beam", "3", "--no-repeat-ngram-size", "1", "--json"]
    assert main(["translate", str(preset), *SOURCES[:2], *options]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = model.translate(SOURCES[:2], beam_size=3, no_repeat_ngram_size=1)
    assert [row["translation"] for row in rows] == expected
    # argparse refuses it naming the option: a usage error
    assert main(["translate", str(preset), "the cat", "--no-repeat-ngram-size", "0"]) == 2
    assert "--no-repeat-ngram-size" in capsys.readouterr().err


def test_bad_inputs_are_refused_naming_the_item(model):
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        model.translate(["the cat", None])
    with pytest.raises(ValueError, match=r"texts\[0\] is not valid UTF-8"):
        model.translate([b"\xff\xfe"])


# -- saving and export -------------------------------------------------------------


def test_config_and_preset_round_trip(model, tmp_path):
    assert_config_round_trip(model)
    restored = Task.from_preset(model.save_preset(tmp_path / "translator.keras"))
    assert isinstance(restored, Translator)
    assert restored.translate(SOURCES[:6]) == model.translate(SOURCES[:6])


def test_recurrent_gain_starts_encoder_and_decoder_and_is_kept(tmp_path):
    translator = Translator(
        train_subword_model(SOURCES * 5, 40),
        train_subword_model(TARGETS * 5, 40),
        cell="rnn",
        units=8,
        embedding_dim=8,
        recurrent_gain=0.5,
    )
    recurrent = [v for v in translator.weights if "recurrent_kernel" in v.path]
    assert {v.path.split("/")[0] for v in recurrent} == {"encoder", "decoder"}
    for variable in recurrent:  # each starts as 0.5 × an orthogonal matrix
        kernel = np.asarray(variable)
        np.testing.assert_allclose(kernel @ kernel.T, 0.25 * np.eye(8), atol=1e-5)
    restored = Task.from_preset(translator.save_preset(tmp_path / "rnn.keras"))
    assert restored.get_config()["recurrent_gain"] == 0.5
    config = translator.get_config()
    del config["recurrent_gain"]  # a preset saved before the option loads with Keras's start
    assert Translator.from_config(config).recurrent_gain == 1.0


def test_the_recipe_refuses_a_recurrent_gain_before_reading_data(capsys):
    from seqapps.zoo.recipes.translation import parser

    for bad in ("0", "-1", "nan", "inf", "half"):
        with pytest.raises(SystemExit):
            parser().parse_args(["--name", "x", "--recurrent-gain", bad])
        assert "must be" in capsys.readouterr().err


def test_export_translates_like_python_without_seqapps(model, tmp_path):
    texts = SOURCES[:5] + [""]
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", texts, imports=("tensorflow_text",))
    assert served["translations"] == model.translate(texts)


def test_score_gives_corpus_bleu_and_chrf_against_raw_references(model):
    perfect = model.score(SOURCES[:6], TARGETS[:6])
    assert perfect == {"bleu": 100.0, "chrf": 100.0}
    capitalised = model.score(SOURCES[:6], [t.capitalize() for t in TARGETS[:6]])
    assert capitalised["bleu"] < 100  # no lower-casing of the references
    with pytest.raises(ValueError, match="6 sources and 5 references"):
        model.score(SOURCES[:6], TARGETS[:5])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "0.6", True])
def test_a_length_penalty_that_is_not_a_finite_number_is_refused(model, bad):
    # NaN used to keep beam search from ever settling a row: translate never returned.
    with pytest.raises(ValueError, match="length_penalty must be a finite number"):
        model.translate("the cat", beam_size=2, length_penalty=bad)


def test_a_numpy_length_penalty_is_taken_like_a_float(model):
    expected = model.translate("the cat", beam_size=2, length_penalty=0.5)
    assert model.translate("the cat", beam_size=2, length_penalty=np.float32(0.5)) == expected
