"""Property tests over arbitrary text: no crash, answers in input order, Python = export."""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqapps.tasks import TextClassifier
from seqapps.text import SubwordVectorizer, TextVectorizer, train_subword_model

# Arbitrary Unicode without lone surrogates (refused by name, see test_text_classifier),
# with control characters, combining marks, NUL and long runs. The examples are derived from
# each test's name (derandomize): every run, CI's included, tries the same ones.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def model():
    return TextClassifier(
        ["good", "bad", "not"], ["negative", "positive"], units=4, embedding_dim=4
    )


def exported(model, tmp_path_factory, name):
    """The model's export, loaded back: one export per tiny model serves every test here."""
    return tf.saved_model.load(str(model.export(tmp_path_factory.mktemp("fuzz") / name)))


@pytest.fixture(scope="module")
def loaded_classifier(model, tmp_path_factory):
    return exported(model, tmp_path_factory, "export")


@pytest.fixture(scope="module")
def served(loaded_classifier):
    return loaded_classifier.signatures["serving_default"]


@SETTINGS
@given(st.lists(TEXT, max_size=6))
def test_classify_answers_every_text_in_order_as_the_export_does(model, served, texts):
    answers = model.classify(texts, all_scores=True)
    assert len(answers) == len(texts)
    for text, answer in zip(texts, answers):
        # Alone, a text is padded to its own length, not the batch's: the same answer up to
        # float rounding (CI once saw 0.52263457 against 0.52263451).
        alone = model.classify(text)
        assert alone["label"] == answer["label"]
        assert alone["score"] == pytest.approx(answer["score"], abs=1e-6)
    if texts:
        probabilities = served(tf.constant(texts))["probabilities"].numpy()
        expected = [[a["scores"][label] for label in model.labels] for a in answers]
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=4), st.sampled_from(["word", "char"]))
def test_the_vectorizer_takes_any_text(texts, split):
    vectorizer = TextVectorizer(["a", "b"], split=split, max_length=64)
    ids = vectorizer(tf.constant(texts)).numpy()
    assert ids.shape[0] == len(texts) and ids.min() >= 0 and ids.max() < 4


SUBWORD_CORPUS = ["¿Qué dijo? «Sí», señor; él fué a Belén.", "The LORD said: Don't fear!"] * 30


@pytest.fixture(scope="module")
def subwords():
    return SubwordVectorizer(train_subword_model(SUBWORD_CORPUS, 80))


@SETTINGS
@given(st.text(st.sampled_from(sorted(set("".join(SUBWORD_CORPUS)))), max_size=120))
def test_subword_round_trip_on_the_training_characters(subwords, text):
    back = subwords.detokenize(subwords(tf.constant([text]))).numpy()[0].decode("utf-8")
    # SentencePiece's NFKC normalisation also folds runs of spaces and trims the ends.
    assert back == " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    from seqapps.tasks import SequenceTagger

    model = SequenceTagger(["the", "cat"], sorted(set("thecat.,")), ["A", "B", "C"], units=4)
    return model, exported(model, tmp_path_factory, "tagger")


@SETTINGS
@given(st.lists(TEXT, max_size=5))
def test_tag_splits_any_text_losing_nothing_and_matches_the_export(tagger, texts):
    model, loaded = tagger
    served = loaded.signatures["tag"]
    answers = model.tag(texts, is_split_into_words=False)
    assert len(answers) == len(texts)
    for text, pairs in zip(texts, answers):
        tokens = [token for token, _ in pairs]
        assert all(tag in model.tags for _, tag in pairs)
        assert all(token and not any(c.isspace() for c in token) for token in tokens)
        assert "".join(tokens) == "".join(text.split())  # only whitespace is dropped
    if texts:
        out = served(texts=tf.constant(texts))
        for row, pairs in enumerate(answers):
            length = int(out["lengths"][row])
            assert [t.decode() for t in out["tags"][row, :length].numpy()] == [t for _, t in pairs]


SHORT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
FEW = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    from seqapps.tasks import Translator

    model = Translator(
        train_subword_model(SUBWORD_CORPUS, 60), train_subword_model(SUBWORD_CORPUS, 60), units=8
    )
    import tensorflow_text  # noqa: F401  (the export's tokenizer ops)

    return model, exported(model, tmp_path_factory, "translator")


@FEW
@given(st.lists(SHORT, max_size=3))
def test_translate_answers_any_text_in_order_as_the_export_does(translator, texts):
    model, loaded = translator
    served = loaded.signatures["translate"]
    answers = model.translate(texts)
    assert len(answers) == len(texts) and all(isinstance(a, str) for a in answers)
    if texts:
        assert [model.translate(t) for t in texts] == answers
        exported = served(texts=tf.constant(texts))["translations"].numpy()
        assert [t.decode("utf-8") for t in exported] == answers


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    from seqapps.tasks import TextGenerator

    model = TextGenerator(sorted(set("abc xyz\n")), units=8, embedding_dim=4)
    path = model.export(tmp_path_factory.mktemp("fuzz") / "generator")
    return model, tf.saved_model.load(str(path)).signatures["generate"]


@FEW
@given(SHORT, st.integers(0, 2**63 - 1), st.floats(0, 5))
def test_generate_continues_any_prompt_as_the_export_does(generator, prompt, seed, temperature):
    model, served = generator
    text = model.generate(prompt, max_length=12, temperature=temperature, seed=seed)
    assert isinstance(text, str) and len(text) == 12
    exported = served(
        prompt=tf.constant(prompt),
        num_chars=tf.constant(12),
        temperature=tf.constant(temperature, tf.float32),
        top_k=tf.constant(0),
        top_p=tf.constant(1.0),
        seed=tf.constant(seed, tf.int64),
    )["text"].numpy()
    assert exported.decode("utf-8") == text


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    from seqapps.tasks import ImageCaptioner

    model = ImageCaptioner(
        train_subword_model(["red circle", "blue square", "green face"] * 20, 30),
        image_size=(16, 16),
        units=8,
        embedding_dim=4,
    )
    return model, exported(model, tmp_path_factory, "captioner")


def png(array):
    return tf.io.encode_png(array).numpy()


# An image of any size from 1x1, gray, RGB or RGBA, with arbitrary pixels.
IMAGE = st.builds(
    lambda shape, seed: np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8),
    st.tuples(st.integers(1, 300), st.integers(1, 300), st.sampled_from([1, 3, 4])),
    st.integers(0, 2**32 - 1),
)


@FEW
@given(st.lists(IMAGE, min_size=1, max_size=3))
def test_caption_takes_any_image_size_and_mode_in_order_as_the_export_does(captioner, images):
    model, loaded = captioner
    served = loaded.signatures["caption"]
    answers = model.caption(images, max_length=6)
    assert len(answers) == len(images) and all(isinstance(a, str) for a in answers)
    assert [model.caption(image, max_length=6) for image in images] == answers
    exported = served(images=tf.constant([png(image) for image in images]))["captions"]
    full = model.caption(images)  # the export writes up to the model's own limit
    assert [c.decode("utf-8") for c in exported.numpy()] == full


# Bytes that are no image, and PNG files cut short or with bytes changed.
GOOD_PNG = png(np.full((8, 8, 3), 200, np.uint8))
DAMAGED = st.one_of(
    st.binary(max_size=200),
    st.integers(0, len(GOOD_PNG) - 1).map(lambda n: GOOD_PNG[:n]),
    st.tuples(st.integers(0, len(GOOD_PNG) - 1), st.integers(0, 255)).map(
        lambda change: GOOD_PNG[: change[0]] + bytes([change[1]]) + GOOD_PNG[change[0] + 1 :]
    ),
)


@FEW
@given(DAMAGED)
def test_damaged_image_bytes_are_refused_by_index_or_read_as_the_export_reads_them(captioner, data):
    model, loaded = captioner
    served = loaded.signatures["caption"]
    try:
        answer = model.caption([GOOD_PNG, data])
    except ValueError as error:
        assert str(error).startswith("images[1] cannot be decoded as an image")
        with pytest.raises(tf.errors.InvalidArgumentError):
            served(images=tf.constant([GOOD_PNG, data]))
        return
    exported = served(images=tf.constant([GOOD_PNG, data]))["captions"].numpy()
    assert [c.decode("utf-8") for c in exported] == answer


# -- images of every depth and shape: every way in gives the same pixels ---------------------

IMAGE_ARRAYS = st.tuples(
    st.sampled_from([np.uint8, np.uint16, np.float32]),
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from([None, 1, 2, 3, 4]),
    st.integers(0, 2**32 - 1),
)


@pytest.fixture(scope="module")
def served_decoder(tmp_path_factory):
    from seqapps.tasks.images import decode_image

    module = tf.Module()
    module.decode = tf.function(
        lambda data: tf.map_fn(
            lambda one: decode_image(one, (5, 4)), data, fn_output_signature=tf.uint8
        ),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    path = str(tmp_path_factory.mktemp("decoder"))
    tf.saved_model.save(module, path)
    return tf.saved_model.load(path).decode


@SETTINGS
@given(IMAGE_ARRAYS)
def test_an_image_array_a_pil_image_and_its_png_give_the_same_pixels(served_decoder, drawn):
    from PIL import Image

    from seqapps.tasks.images import to_rgb

    dtype, height, width, channels, seed = drawn
    shape = (height, width) if channels is None else (height, width, channels)
    rng = np.random.default_rng(seed)
    if dtype is np.float32:
        array = rng.random(shape, dtype=np.float32)
    else:
        array = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    expected = to_rgb(array, (5, 4))
    assert expected.shape == (5, 4, 3) and expected.dtype == np.uint8
    if dtype is not np.float32:  # PNG holds 8 and 16 bits, 1 to 4 channels
        png = tf.io.encode_png(array if array.ndim == 3 else array[..., None]).numpy()
        np.testing.assert_array_equal(to_rgb(png, (5, 4)), expected)
        np.testing.assert_array_equal(served_decoder(tf.constant([png])).numpy()[0], expected)
    pil_mode = {(np.uint8, None): "L", (np.uint8, 3): "RGB", (np.uint8, 4): "RGBA"}.get(
        (dtype, channels), "I;16" if (dtype, channels) == (np.uint16, None) else None
    )
    if dtype is np.float32 and channels is None:
        pil_mode = "F"
    if pil_mode:
        np.testing.assert_array_equal(to_rgb(Image.fromarray(array), (5, 4)), expected)


# -- exported signatures on an empty batch ----------------------------------------------------


def test_every_exported_signature_answers_an_empty_batch(
    model, loaded_classifier, tagger, translator, captioner
):
    # The exports the tests above use, one per text/image task (the generator's signature
    # takes one prompt, not a batch).
    exports = [(model, loaded_classifier), tagger, translator, captioner]
    for task, loaded in exports:
        assert loaded.signatures, type(task).__name__
        for name, signature in loaded.signatures.items():
            outputs = signature(tf.constant([], tf.string))
            for key, value in outputs.items():
                assert value.shape[0] == 0, (type(task).__name__, name, key, value.shape)


# -- the command line with closed or undecodable streams ----------------------------------------


def test_the_command_line_with_stdin_closed_or_a_file_not_utf8(model, tmp_path):
    import subprocess
    import sys

    preset = model.save_preset(tmp_path / "tiny.keras")
    for reading in ("", "--file -"):  # stdin by default, or named
        command = f"{sys.executable} -m seqapps.cli predict {preset} {reading} 0<&-"
        closed = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=300
        )
        assert closed.returncode == 2
        assert "stdin is closed; give texts as arguments or with --file FILE" in closed.stderr
        assert "Traceback" not in closed.stderr
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("good\nbad\nniño\n".encode("latin-1"))
    from seqapps.cli import main

    assert main(["predict", str(preset), "--file", str(latin)]) == 1  # bad data, not usage
