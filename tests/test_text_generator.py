import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import harness
from seqapps.tasks import Task, TextGenerator, text_generator

CORPUS = ["the cat sat on the mat.\nthe dog sat on the log.\n"] * 30


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    model = TextGenerator(sorted(set("".join(CORPUS))), cell="gru", units=24, embedding_dim=8)
    inputs, targets = model.windows(CORPUS, length=20)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    model.fit(inputs, targets, batch_size=16, epochs=15, verbose=0)
    return model


def test_hello_the_lecture_example(capsys):
    """docs/hello_rnn.py: {h, e, l, o}, one-hot input, 3 tanh units: from "h" it writes "ello".

    The two l's need different successors, so the hidden state must remember
    how far into the word it is: the replayed states after the two l's differ.
    """
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "hello_rnn.py"
    spec = importlib.util.spec_from_file_location("hello_rnn", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    written, states, norms = example.main()
    assert written == "ello" and states.shape == (4, 3) and norms.shape == (4,)
    assert np.abs(states[2] - states[3]).max() > 0.5
    assert "predicts" in capsys.readouterr().out


def test_windows_are_the_stream_shifted_by_one(model):
    inputs, targets = model.windows(["abcdefg"], length=3)
    assert inputs.shape == targets.shape == (2, 3)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    assert inputs[0, 0] == model.start_id  # every text is read after START


def test_config_and_preset_round_trip(model, tmp_path):
    harness.assert_config_round_trip(model)
    restored = Task.from_preset(model.save_preset(tmp_path / "textgen.keras"))
    assert isinstance(restored, TextGenerator)
    assert restored.generate("the", 40, temperature=0.8, seed=5) == model.generate(
        "the", 40, temperature=0.8, seed=5
    )


def test_a_float16_preset_is_smaller_and_still_computes_in_float32(model, tmp_path):
    full = model.save_preset(tmp_path / "full.keras")
    half = model.save_preset(tmp_path / "half.keras", weights_dtype="float16")
    assert half.stat().st_size < full.stat().st_size
    restored = Task.from_preset(half)
    for ours, theirs in zip(model.get_weights(), restored.get_weights(), strict=True):
        assert theirs.dtype == np.float32
        np.testing.assert_allclose(theirs, ours.astype(np.float16), rtol=0, atol=0)
    text = CORPUS[0]
    assert abs(restored.score(text)["bits_per_char"] - model.score(text)["bits_per_char"]) < 0.01
    with pytest.raises(ValueError, match="weights_dtype"):
        model.save_preset(tmp_path / "bad.keras", weights_dtype="int8")


def test_the_model_learned_its_corpus(model):
    assert model.score(CORPUS[0])["bits_per_char"] < 1.5
    assert model.generate("the cat sat on", 9, temperature=0) == " the mat."


def test_generation_is_reproducible_per_seed(model):
    first = model.generate("the", 60, temperature=1.0, seed=1)
    assert len(first) == 60
    assert model.generate("the", 60, temperature=1.0, seed=1) == first
    assert model.generate("the", 60, temperature=1.0, seed=2) != first


def test_stream_yields_the_text_of_generate_piece_by_piece(model):
    pieces = list(model.stream("the", 30, temperature=0.9, seed=4))
    assert len(pieces) == 30 and all(len(piece) == 1 for piece in pieces)
    assert "".join(pieces) == model.generate("the", 30, temperature=0.9, seed=4)


def test_stop_ends_the_text_after_the_stop_string(model):
    text = model.generate("the dog", 200, temperature=0, stop=["mat.", "log."])
    assert text.endswith(("mat.", "log.")) and text.count(".") == 1


def test_bad_input_has_clear_behaviour(model):
    assert len(model.generate("", 20, temperature=0.5, seed=0)) == 20  # start state
    # Unknown characters are read as [UNK]; [UNK] and padding are never written.
    written = model.generate("ZZZ #", 50, temperature=2.0, seed=0)
    assert set(written) <= set(model.vocabulary)
    assert len(model.generate("the", 10, top_k=1000, seed=0)) == 10
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        model.generate("the", 10, temperature=-1)
    with pytest.raises(ValueError, match="max_length must lie in"):
        model.generate("the", text_generator.MAX_LENGTH + 1)
    with pytest.raises(TypeError, match="prompt must be one string, got int"):
        model.generate(42)


def test_each_step_reads_one_token_with_the_state_as_cache(model):
    """Stepping through a text gives the logits of one full read."""
    ids = model._prompt_ids(tf.constant("the dog sat"))
    full, _ = model.read(ids, model.zero_state())
    state, stepped = model.zero_state(), []
    for index in range(ids.shape[1]):
        logits, state = model.read(ids[:, index : index + 1], state)
        stepped.append(logits[:, 0])
    harness.assert_same_outputs(tf.stack(stepped, 1), full, atol=1e-4)


def test_score_reads_the_text_once_across_chunks(model, monkeypatch):
    text = "".join(CORPUS)[:500]
    ids = np.concatenate([[model.start_id], model.token_ids(text)])
    logits = model(ids[None, :-1])
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(ids[None, 1:], logits)
    expected = float(tf.reduce_mean(expected))
    monkeypatch.setattr(text_generator, "SCORE_CHUNK", 64)
    score = model.score(text)
    assert score["characters"] == 500
    assert score["nats_per_char"] == pytest.approx(expected, rel=1e-4)
    assert score["bits_per_char"] == pytest.approx(expected / math.log(2), rel=1e-4)
    assert score["perplexity"] == pytest.approx(math.exp(expected), rel=1e-4)


def test_score_pools_texts_weighted_by_length(model):
    short, long = "the cat.", "".join(CORPUS)[:300]
    pooled = model.score([short, long])
    parts = [model.score(text) for text in (short, long)]
    expected = sum(p["nats_per_char"] * p["characters"] for p in parts) / (8 + 300)
    assert pooled["nats_per_char"] == pytest.approx(expected, rel=1e-4)
    dataset = tf.data.Dataset.from_tensor_slices([short, long])
    assert model.score(dataset)["nats_per_char"] == pytest.approx(expected, rel=1e-4)
    assert model.score("the cat ZZ")["unknown_characters"] == 2


def test_finetune_on_a_folder_counts_unknown_characters(model, tmp_path):
    tuned = TextGenerator.from_config(model.get_config())
    tuned.set_weights(model.get_weights())
    (tmp_path / "a.txt").write_text("the bat sat on the hat.\n" * 20, encoding="utf-8")
    (tmp_path / "b.txt").write_text("the rat sat on the mat!\n" * 20, encoding="utf-8")
    before = tuned.score("the bat sat on the hat.\n")["bits_per_char"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = tuned.finetune(tmp_path, epochs=3, learning_rate=1e-2, verbose=0)
    assert history.unknown_characters == 60  # "b", "r" and "!" (20 each) are new
    assert any("outside the model's vocabulary" in str(w.message) for w in caught)
    assert tuned.score("the bat sat on the hat.\n")["bits_per_char"] < before


def test_a_string_naming_a_folder_is_refused_not_trained_on(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_texts").mkdir()
    (tmp_path / "my_texts" / "a.txt").write_text("the cat sat.\n", encoding="utf-8")
    for verb in (model.finetune, model.score):
        with pytest.raises(ValueError, match=r"names an existing file or folder: pass pathlib"):
            verb("my_texts")
    assert model.score(["my_texts"])["characters"] == len("my_texts")
    # A mistyped path names nothing, but is still no text to train on.
    for typo in ("my_text/", "my_texts/b.txt", "plays.txt"):
        with pytest.raises(ValueError, match=r"looks like a path, but no file or folder has"):
            model.finetune(typo)
    assert model.score("and/or")["characters"] == len("and/or")  # scored: a text may be one


def test_export_generates_the_same_text_without_seqapps(model, tmp_path):
    model.export(tmp_path / "export")
    code = f"""
loaded = tf.saved_model.load({str(tmp_path / "export")!r})
generate = loaded.signatures["generate"]
texts = [generate(prompt=tf.constant(p), num_chars=tf.constant(40), temperature=tf.constant(t),
                  top_k=tf.constant(k), top_p=tf.constant(q), seed=tf.constant(s, tf.int64)
                  )["text"].numpy().decode() for p, t, k, q, s in
         [("the", 0.8, 0, 1.0, 1), ("the", 0.8, 0, 1.0, 2), ("", 0.0, 0, 1.0, 0),
          ("the", 1.5, 3, 1.0, 1), ("the", 1.5, 0, 0.5, 1), ("the", float("inf"), 0, 1.0, 1)]]
step = loaded.signatures["step"](token_ids=tf.constant([[2, 3, 4]]), state=tf.zeros([1, 1, 24]))
result = {{"texts": texts, "logits": step["logits"].numpy().tolist()}}
"""
    result = harness.run_without_seqapps(code)  # a Python where seqapps cannot be imported
    assert result["texts"] == [
        model.generate("the", 40, temperature=0.8, seed=1),
        model.generate("the", 40, temperature=0.8, seed=2),
        model.generate("", 40, temperature=0, seed=0),
        model.generate("the", 40, temperature=1.5, top_k=3, seed=1),
        model.generate("the", 40, temperature=1.5, top_p=0.5, seed=1),
        model.generate("the", 40, temperature=float("inf"), seed=1),
    ]
    assert all(len(text) == 40 for text in result["texts"])  # padding/[UNK] never written
    logits, _ = model.read(tf.constant([[2, 3, 4]]), model.zero_state())
    harness.assert_same_outputs(result["logits"], logits, atol=1e-5)
    assert (tmp_path / "export" / "assets" / "vocabulary.json").exists()


def test_word_level_writes_words():
    keras.utils.set_random_seed(0)
    model = TextGenerator(["the", "cat", "sat", "on", "mat", "."], split="word", units=16)
    inputs, targets = model.windows(["the cat sat on the mat ."] * 40, length=7)
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    model.fit(inputs, targets, batch_size=8, epochs=10, verbose=0)
    assert model.generate("The cat", 4, temperature=0) == " sat on the mat"
    assert model.score("the cat sat")["characters"] == 3  # tokens, i.e. words


def test_a_prompt_over_the_limit_is_refused(model):
    with pytest.raises(ValueError, match="MAX_PROMPT_LENGTH"):
        model.generate("a" * (text_generator.MAX_PROMPT_LENGTH + 1), 1)


def test_no_temperature_writes_padding_or_unknown(model):
    for temperature in (float("inf"), 1e9):
        text = model.generate("the", 200, temperature=temperature, seed=0)
        assert len(text) == 200 and "[UNK]" not in text


def continuation_log_prob(model, prompt, continuation):
    """log p(continuation | prompt) recomputed by `score`, the model's full softmax, from START."""

    def nats(text):
        return model.score(text)["nats_per_char"] * len(text) if text else 0.0

    return nats(prompt) - nats(prompt + continuation)


def reference_beams(model, prompt, beam_size, length):
    """The final beams of a plain beam search written here with numpy over `model.step`."""
    state, last = model.initial_state(tf.constant([prompt]))
    excluded = list(model.tokenizer.never_written_ids)
    beams = [((), 0.0, state, int(last[0]))]
    for _ in range(length):
        candidates = []
        for tokens, total, state, last in beams:
            logits, next_state = model.step(tf.constant([last]), state)
            logits = logits.numpy()[0].astype("float64")
            logits[excluded] = -np.inf
            log_probs = logits - np.logaddexp.reduce(logits[np.isfinite(logits)])
            for token in np.argsort(-log_probs)[:beam_size]:
                candidates.append((tokens + (int(token),), total + log_probs[token], next_state))
        candidates.sort(key=lambda c: -c[1])
        beams = [(t, s, state, t[-1]) for t, s, state in candidates[:beam_size]]
    return ["".join(model.tokenizer.tokens[i] for i in tokens) for tokens, *_ in beams]


def test_beam_search_returns_the_best_scoring_of_its_beams(model):
    prompt, length = "the d", 12
    written = model.generate(prompt, length, beam_size=4, length_penalty=0.0)
    assert len(written) == length
    beams = reference_beams(model, prompt, 4, length)
    assert written in beams
    scores = {text: continuation_log_prob(model, prompt, text) for text in beams}
    assert scores[written] == pytest.approx(max(scores.values()), abs=1e-3)
    greedy = model.generate(prompt, length)
    assert scores[written] >= continuation_log_prob(model, prompt, greedy) - 1e-3
    # Streaming a beam search yields the same text, piece by piece.
    assert "".join(model.stream(prompt, length, beam_size=4, length_penalty=0.0)) == written


def test_no_repeat_ngram_size_in_text_generation(model):
    def repeats(text, size):
        grams = [text[i : i + size] for i in range(len(text) - size + 1)]
        return len(grams) != len(set(grams))

    assert repeats(model.generate("the cat", 60), 3)  # greedy loops over its corpus
    for options in ({}, {"beam_size": 3}, {"temperature": 1.0, "seed": 3}):
        text = model.generate("the cat", 60, no_repeat_ngram_size=3, **options)
        assert len(text) == 60 and not repeats(text, 3), options
    # A rule no text of this length can break is no rule.
    assert model.generate("the cat", 30, no_repeat_ngram_size=30) == model.generate("the cat", 30)


def test_options_as_one_config_or_as_keywords(model):
    from seqapps import GenerationConfig

    config = GenerationConfig(max_length=25, temperature=np.float32(0.9), seed=np.int64(4))
    expected = model.generate("the", 25, temperature=0.9, seed=4)
    assert model.generate("the", generation_config=config) == expected
    assert model.generate("the", generation_config=config, temperature=0) == model.generate(
        "the", 25
    )
    assert len(model.generate("the")) == 400  # max_length=None: the task's default
    with pytest.raises(ValueError, match="beam search is deterministic"):
        model.generate("the", 10, beam_size=2, temperature=0.5)
    with pytest.raises(TypeError, match=r"unknown generation option\(s\) \['temprature'\]"):
        model.generate("the", 10, temprature=0.5)


def test_the_cli_prints_what_python_returns(model, tmp_path, capsys):
    from seqapps.cli import main

    preset = str(model.save_preset(tmp_path / "textgen.keras"))
    runs = [
        (["--temperature", "0.9", "--seed", "4"], {"temperature": 0.9, "seed": 4}),
        (
            ["--beam", "3", "--no-repeat-ngram-size", "2"],
            {"beam_size": 3, "no_repeat_ngram_size": 2},
        ),
        ([], {}),
    ]
    for flags, options in runs:
        assert main(["generate", preset, "--prompt", "the", "--max-length", "30", *flags]) == 0
        assert capsys.readouterr().out == model.generate("the", 30, **options) + "\n"
    assert main(["generate", preset, "--max-length", "-1"]) == 2
    assert "max_length must lie in 0..100000" in capsys.readouterr().err
