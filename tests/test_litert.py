"""LiteRT export and runtime on tiny untrained models: every task gives the Keras model's answers."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("ai_edge_litert")

import seqapps  # noqa: E402
from seqapps.litert import ConversionError, export_litert  # noqa: E402
from seqapps.litert.numpy_decoder import NumpyDecoder, decoder_arrays  # noqa: E402
from seqapps.litert.programs import translator as translator_program  # noqa: E402
from seqapps.litert.tokenize import (  # noqa: E402
    SentencePieceTokenizer,
    TaggerTokenizer,
    WordTokenizer,
)
from seqapps.tasks import (  # noqa: E402
    ImageCaptioner,
    SequenceTagger,
    TextClassifier,
    TextGenerator,
    Translator,
)
from seqapps.text import (  # noqa: E402
    TextVectorizer,
    WordVectors,
    split_words,
    train_subword_model,
)

TEXTS = [
    "a gorgeous, witty, seductive movie.",
    "Dull -- and the U.S. crowd hated it!!",
    "",
    "  spaces\tand\nlines ",
    "café naïve ÉCOLE",  # not ASCII: the TensorFlow tokenizer answers
    "3.5 million, 1,000 fans; well-known actor's film",
]
WORDS = sorted({w for t in TEXTS for w in t.lower().replace(",", " ").split()})


def exported(model, tmp_path, variant="float32"):
    folder = model.export(tmp_path / "litert", format="litert")
    return seqapps.load(folder, runtime="litert", variant=variant)


def test_classifier_answers_as_keras_in_both_variants(tmp_path):
    keras.utils.set_random_seed(1)
    model = TextClassifier(
        WORDS[:20],
        ["neg", "mid", "pos"],
        units=8,
        embedding_dim=8,
        bidirectional=True,
        pooling="max",
        embedding_dtype="float16",
    )
    served = exported(model, tmp_path)
    ours, theirs = served.classify(TEXTS, all_scores=True), model.classify(TEXTS, all_scores=True)
    assert [a["label"] for a in ours] == [b["label"] for b in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(
            list(a["scores"].values()), list(b["scores"].values()), atol=1e-5
        )
    assert served.classify(TEXTS[0]) == {k: v for k, v in ours[0].items() if k != "scores"}
    int8 = seqapps.load(tmp_path / "litert", runtime="litert", variant="int8")
    assert len(int8.classify(TEXTS)) == len(TEXTS)
    files = {p.name for p in (tmp_path / "litert").iterdir()}
    assert {"model.tflite", "model_int8.tflite", "assets.json"} <= files
    asset = json.loads((tmp_path / "litert" / "assets.json").read_text())
    assert asset["labels"] == ["neg", "mid", "pos"] and asset["signatures"] == {"classify": ["ids"]}


def test_a_lexicon_classifier_answers_as_keras(tmp_path):
    from seqapps.litert.tokenize import LexiconRows

    keras.utils.set_random_seed(3)
    model = TextClassifier(
        WORDS[:20], ["neg", "pos"], units=8, embedding_dim=8, lexicon="opinion-en"
    )
    texts = TEXTS + [
        "I can't stand this well-known, 2-faced star",
        "it didn't feel very GOOD at all, not bad",
        "superb superb superb " * 30,  # past max_length
    ]
    served = exported(model, tmp_path)
    assert json.loads((tmp_path / "litert" / "assets.json").read_text())["signatures"] == {
        "classify": ["ids", "features"]
    }
    ours, theirs = served.classify(texts, all_scores=True), model.classify(texts, all_scores=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(
            list(a["scores"].values()), list(b["scores"].values()), atol=1e-5
        )
    # The client's numbers are the layer's, token for token.
    layer = model.get_layer("lexicon")
    rows = LexiconRows(layer.client_spec())
    for text in texts:
        tokens = served.tokenizer.tokenize(text)
        expected = layer(tf.constant([text])).numpy()[0]
        np.testing.assert_allclose(rows(tokens), expected[: max(len(tokens), 1)])


def test_tagger_answers_as_keras(tmp_path):
    keras.utils.set_random_seed(2)
    model = SequenceTagger(
        WORDS,
        sorted(set("".join(TEXTS))),
        ["A", "B", "C", "D"],
        units=8,
        embedding_dim=8,
        char_embedding_dim=4,
        char_filters=8,
        max_chars=6,
    )
    served = exported(model, tmp_path)
    texts = [t for t in TEXTS if t.strip()] + ["a " * 40]  # a long one: past one padded length
    assert served.tag(texts, is_split_into_words=False) == model.tag(
        texts, is_split_into_words=False
    )
    assert served.tag(["x", "y"], is_split_into_words=True) == model.tag(
        ["x", "y"], is_split_into_words=True
    )
    assert served.tag("") == model.tag("") == []


@pytest.mark.parametrize("pretrained", [False, True])
def test_tagger_numpy_path_gives_the_interpreters_scores(tmp_path, pretrained):
    """float32 tags one sentence in NumPy over `tagger.npz`; int8 and old exports use LiteRT.

    With pretrained vectors the word table is the vectors beside the trained rows."""
    keras.utils.set_random_seed(3)
    arguments = dict(units=8, embedding_dim=8, char_embedding_dim=4, char_filters=8, max_chars=6)
    tagger = (WORDS, sorted(set("".join(TEXTS))), ["A", "B", "C"])
    if pretrained:
        rng = np.random.default_rng(3)
        vectors = WordVectors(WORDS + ["zebra"], rng.normal(size=(len(WORDS) + 1, 5)))
        model, _ = SequenceTagger.from_vectors(
            vectors, WORDS[:3], *tagger[1:], vocabulary_size=len(WORDS) + 1, **arguments
        )
    else:
        model = SequenceTagger(*tagger, **arguments)
    served = exported(model, tmp_path)
    assert served.numpy is not None and (tmp_path / "litert" / "tagger.npz").is_file()
    interpreter = seqapps.load(tmp_path / "litert", runtime="litert")
    assert repr(interpreter).startswith(f"<LiteRTTagger {str(tmp_path / 'litert')!r}: ")
    interpreter.numpy = None  # as an export without tagger.npz is served
    texts = [t for t in TEXTS if t.strip()] * 2 + ["a " * 40]  # again: the kept gate inputs
    ours = served.tag(texts, is_split_into_words=False, all_scores=True)
    theirs = interpreter.tag(texts, is_split_into_words=False, all_scores=True)
    keras_tags = model.tag(texts, is_split_into_words=False)
    assert [[(t, max(p, key=p.get)) for t, p in s] for s in ours] == keras_tags
    for a, b in zip(ours, theirs):
        for (token_a, scores_a), (token_b, scores_b) in zip(a, b):
            assert token_a == token_b
            np.testing.assert_allclose(list(scores_a.values()), list(scores_b.values()), atol=1e-5)
    assert seqapps.load(tmp_path / "litert", runtime="litert", variant="int8").numpy is None


def test_generator_writes_the_same_text_greedy_and_sampled(tmp_path):
    keras.utils.set_random_seed(3)
    model = TextGenerator(sorted(set("".join(TEXTS))), units=16, num_layers=2, embedding_dim=8)
    served = exported(model, tmp_path)
    for options in (
        {"seed": 5},
        {"temperature": 0.7, "top_k": 3, "seed": 1},
        {"top_p": 0.8, "seed": 2},
    ):
        options.setdefault("temperature", 1.5)
        assert served.generate("a movie", 40, **options) == model.generate("a movie", 40, **options)
    assert served.generate("a", 20) == model.generate("a", 20)  # greedy
    assert served.generate("", 30, temperature=1.0, seed=4, stop="e") == model.generate(
        "", 30, temperature=1.0, seed=4, stop="e"
    )
    with pytest.raises(ValueError, match="beam_size=2.*seqapps.load"):
        served.generate("a", 5, beam_size=2)


@pytest.mark.parametrize(
    "cell, attention, bidirectional, layers",
    [
        ("gru", "multiplicative", True, 1),
        ("lstm", "additive", True, 2),
        ("gru", None, False, 2),
        ("rnn", "multiplicative", True, 1),
    ],
)
def test_numpy_decoder_translates_as_keras(cell, attention, bidirectional, layers):
    """The float32 batch-1 path: encoder, bridge and decoder steps in NumPy, greedy as Keras."""
    keras.utils.set_random_seed(6)
    sources = [t for t in TEXTS if t.strip()] * 8
    model = Translator(
        train_subword_model(sources, 60),
        train_subword_model(sources, 60),
        cell=cell,
        units=8,
        num_layers=layers,
        bidirectional=bidirectional,
        attention=attention,
        embedding_dim=8,
    )
    _, asset = translator_program(model)
    spec = asset["tokenizer"]
    source = SentencePieceTokenizer(
        spec["source_model"],
        spec["source_max_length"],
        spec["source_add_start"],
        spec["source_add_end"],
    )
    target = SentencePieceTokenizer(spec["target_model"])
    decoder = NumpyDecoder(decoder_arrays(model))
    assert decoder.can_encode
    for text in TEXTS + ["a " * 40]:
        decoder.encode_ids(source.ids(text))
        last, written = asset["start_id"], []
        for _ in range(12):
            logits = decoder.step(last)
            logits[asset["never_written_ids"]] = -np.inf
            last = int(logits.argmax())
            if last == asset["end_id"]:
                break
            written.append(last)
        assert target.detokenize(written) == model.translate(text, max_length=12), text


@pytest.mark.slow  # the encoder-decoder step of both tasks; 15-45 s of conversion and tracing
def test_translator_writes_as_keras(tmp_path):
    keras.utils.set_random_seed(4)
    sources = [t for t in TEXTS if t.strip()] * 8
    translator = Translator(
        train_subword_model(sources, 60), train_subword_model(sources, 60), units=8, embedding_dim=8
    )
    served = exported(translator, tmp_path / "t")
    assert served.numpy is not None and served.numpy.can_encode  # float32: NumPy, no interpreter
    interpreter = seqapps.load(tmp_path / "t" / "litert", runtime="litert")
    interpreter.numpy = None  # as an export without decoder.npz is served
    greedy = translator.translate(TEXTS, max_length=12)
    assert served.translate(TEXTS, max_length=12) == greedy
    assert interpreter.translate(TEXTS, max_length=12) == greedy
    served.numpy.can_encode = False  # LiteRT's `encode`, then the steps in NumPy
    assert served.translate(TEXTS, max_length=12) == greedy
    sampled = {"temperature": 1.0, "seed": 3, "max_length": 12}
    assert served.translate(TEXTS[:2], **sampled) == translator.translate(TEXTS[:2], **sampled)
    assert seqapps.load(tmp_path / "t" / "litert", runtime="litert", variant="int8").numpy is None


@pytest.mark.slow
def test_captioner_writes_as_keras(tmp_path):
    keras.utils.set_random_seed(5)
    sources = [t for t in TEXTS if t.strip()] * 8
    captioner = ImageCaptioner(
        train_subword_model(sources, 60), image_size=(16, 16), units=8, embedding_dim=8
    )
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    served = exported(captioner, tmp_path / "c")
    assert served.numpy is None  # the interpreter: a NumPy decoder step was no faster
    greedy = captioner.caption(images, max_length=10)
    assert served.caption(images, max_length=10) == greedy
    assert served.caption(images[0], max_length=10) == captioner.caption(images[0], max_length=10)


def test_python_tokenizers_match_the_tensorflow_ones():
    texts = TEXTS + ["x--y", ".lead", "end.", "a.b,c", "'quoted'", "tab\x0bvt", "a\x1cb", "_-_"]
    vectorizer = TextVectorizer(WORDS)
    tokenizer = WordTokenizer(
        {"kind": "words", "vocabulary": vectorizer.tokens, "lowercase": True, "max_length": None}
    )
    expected = [[t.decode() for t in row] for row in vectorizer.tokenize(texts).to_list()]
    assert [tokenizer.tokenize(t) for t in texts] == expected
    tagger = TaggerTokenizer(
        {
            "vocabulary": ["", "[UNK]"],
            "characters": ["", "[UNK]"],
            "lowercase": True,
            "max_chars": 4,
        }
    )
    expected = [[t.decode() for t in row] for row in split_words(texts).to_list()]
    assert [tagger.split(t) for t in texts] == expected


def test_a_task_without_a_litert_program_is_refused_by_name(tmp_path):
    class Unknown:
        task_name = "summarization"

    with pytest.raises(ConversionError, match="summarization.*tf_saved_model"):
        export_litert(Unknown(), tmp_path / "x")
    with pytest.raises(TypeError, match="not \\['labels'\\]"):
        seqapps.load("sentiment-lstm", runtime="litert", labels=["a", "b"])
    with pytest.raises(ValueError, match="runtime must be"):
        seqapps.load("sentiment-lstm", runtime="onnx")
    with pytest.raises(FileNotFoundError, match="no LiteRT export"):
        seqapps.load(tmp_path, runtime="litert")


@pytest.mark.slow  # the zoo entry: exported once (~15 s, kept in the cache), 20 verses each way
def test_zoo_translator_numpy_path_writes_as_keras(tmp_path, monkeypatch):
    """`translate-en-es-gru` in float32 NumPy (encoder, bridge, 8,000-piece decoder): the
    Keras model's greedy verses, where rounding would show first on the real weights."""
    from seqapps.zoo.recipes.translation import pairs

    sources = pairs("test")[0][:20]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "translate-en-es-gru").mkdir()  # the entry's name wins over a folder's
    served = seqapps.load("translate-en-es-gru", runtime="litert")
    assert repr(served) == "<LiteRTTranslator 'translate-en-es-gru': translation, float32>"
    assert served.numpy is not None and served.numpy.can_encode
    assert [served.translate(s) for s in sources] == seqapps.load("translate-en-es-gru").translate(
        sources
    )
