"""One data path for every task's finetune: a tf.data dataset of raw examples, one hold-out split
by a hashed group key, and the command line's CSV parsed once."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqapps import datasets
from seqapps.tasks import SequenceTagger, TextClassifier, TextGenerator


def sides(train, held):
    return (
        sorted(text.decode() for text, _ in train.as_numpy_iterator()),
        sorted(text.decode() for text, _ in held.as_numpy_iterator()),
    )


def test_the_split_depends_on_the_data_alone_not_its_order():
    texts = [f"text {i}" for i in range(200)]
    pairs = tf.data.Dataset.from_tensor_slices((texts, np.arange(200)))
    train, held = datasets.hold_out(pairs, 0.1)
    assert int(train.cardinality()) == 180 and int(held.cardinality()) == 20
    kept, held_texts = sides(train, held)
    assert sorted(kept + held_texts) == sorted(texts)
    shuffled = pairs.shuffle(200, seed=3)
    assert sides(*datasets.hold_out(shuffled, 0.1)) == (kept, held_texts)
    # More rows move only the groups near the cut: most held-out texts stay held out.
    more = tf.data.Dataset.from_tensor_slices(([*texts, "text 200", "text 201"], np.arange(202)))
    assert len(set(held_texts) & set(sides(*datasets.hold_out(more, 0.1))[1])) >= 18


def test_equal_inputs_stay_on_one_side():
    texts = [f"photo {i % 10}" for i in range(60)]  # six captions of each of ten images
    pairs = tf.data.Dataset.from_tensor_slices((texts, [f"caption {i}" for i in range(60)]))
    kept, held = sides(*datasets.hold_out(pairs, 0.2))
    assert len(held) == 12 and not set(kept) & set(held)
    # A key names the group: here by the caption, so each row is its own group.
    train, held = datasets.hold_out(pairs, 0.2, key=lambda text, caption: caption)
    assert int(held.cardinality()) == 12
    assert set(sides(train, held)[0]) & set(sides(train, held)[1])


def test_too_little_data_is_refused_in_words():
    one = tf.data.Dataset.from_tensor_slices((["a"], [0]))
    with pytest.raises(ValueError, match="need at least 2 sentences to fine-tune, got 1"):
        datasets.hold_out(one, 0.1, what="sentences")
    same = tf.data.Dataset.from_tensor_slices((["a"] * 4, [0, 1, 0, 1]))
    with pytest.raises(ValueError, match="all 4 examples are the same.*or pass validation_data"):
        datasets.hold_out(same, 0.1)
    two = tf.data.Dataset.from_tensor_slices((["a", "b"], [0, 1]))
    with pytest.raises(ValueError, match="validation_fraction=0.9 of 2 different examples"):
        datasets.hold_out(two, 0.9)


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    return TextClassifier(
        ["good", "bad", "fine"], ["bad", "okay", "good"], units=4, embedding_dim=4
    )


def test_lists_and_a_dataset_train_on_the_same_split(classifier):
    texts = [f"{word} {i}" for i in range(10) for word in ("good", "bad")]
    labels = ["good", "bad"] * 10
    keras.utils.set_random_seed(1)
    listed = classifier.reconfigure().finetune(texts, labels, epochs=2, verbose=0)
    ids = [classifier.labels.index(label) for label in labels]
    keras.utils.set_random_seed(1)
    dataset = tf.data.Dataset.from_tensor_slices((texts, ids))
    streamed = classifier.reconfigure().finetune(dataset, epochs=2, verbose=0)
    np.testing.assert_allclose(listed.history["val_loss"], streamed.history["val_loss"], rtol=1e-4)


def test_a_readers_ids_that_name_other_labels_are_refused(classifier, tmp_path):
    data = tmp_path / "mood.csv"
    data.write_text("text,label\ngood film,good\nbad film,bad\nfine film,good\n", "utf-8")
    dataset, names = datasets.from_csv(data)
    assert names == dataset.label_names == ["bad", "good"]  # id 1 is "good"; the model's is "okay"
    with pytest.raises(ValueError, match=r"ids name the labels \['bad', 'good'\].*label_names="):
        classifier.finetune(dataset, epochs=1, verbose=0)
    # Read against the model's labels, the ids are the model's.
    dataset, _ = datasets.from_csv(data, label_names=classifier.labels)
    assert classifier.reconfigure().finetune(dataset, epochs=1, verbose=0).history["val_loss"]

    tagger = SequenceTagger(["a", "b"], list("ab"), ["Y", "X"], units=4, embedding_dim=4)
    conll = tmp_path / "train.conll"
    conll.write_text("a\tX\nb\tY\n\nb\tX\n\na\tY\n", "utf-8")
    examples, _ = datasets.from_conll(conll)  # the file's tags sorted: X 0, Y 1
    with pytest.raises(ValueError, match=r"tags \['X', 'Y'\].*load the model with tags="):
        tagger.finetune(examples, epochs=1, verbose=0)
    examples, _ = datasets.from_conll(conll, label_names=tagger.tags)
    assert tagger.finetune(examples, epochs=1, verbose=0).history["val_loss"]


def test_the_command_line_csv_is_parsed_once_and_renumbered(classifier, tmp_path, monkeypatch):
    from seqapps.datasets import _user

    parsed = []
    read_table = _user._read_table
    monkeypatch.setattr(_user, "_read_table", lambda *a: parsed.append(a) or read_table(*a))
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\ngood film,good\nbad film,bad\nfine film,good\n", "utf-8")
    model, (examples,), _ = classifier.finetune_data(data, "text", "label", False, None)
    assert model is classifier and len(parsed) == 1
    # The file's names sort as bad, good; the model's ids are bad 0, okay 1, good 2.
    assert [int(label) for _, label in examples] == [2, 0, 2]


def test_the_command_line_conll_is_parsed_once_and_renumbered(tmp_path, monkeypatch):
    from seqapps.datasets import _user

    parsed = []
    read_lines = _user._read_lines
    monkeypatch.setattr(_user, "_read_lines", lambda *a: parsed.append(a) or read_lines(*a))
    tagger = SequenceTagger(["a", "b"], list("ab"), ["Y", "X", "Z"], units=4, embedding_dim=4)
    data = tmp_path / "train.conll"
    data.write_text("a\tX\nb\tY\n\nb\tX\n", "utf-8")
    model, (examples,), _ = tagger.finetune_data(data)
    assert model is tagger and len(parsed) == 1
    # The file's tags sort as X, Y; the model's ids are Y 0, X 1.
    assert [ids.numpy().tolist() for _, ids in examples] == [[1, 0], [1]]


def test_a_tagging_dataset_with_ids_outside_the_tags_is_refused_before_training():
    tagger = SequenceTagger(["a", "b"], list("ab"), ["X", "Y"], units=4, embedding_dim=4)
    tokens = tf.ragged.constant([["a", "b"], ["b"], ["a"]])
    ids = tf.ragged.constant([[0, 2], [1], [0]], dtype=tf.int64)
    dataset = tf.data.Dataset.from_tensor_slices((tokens, ids)).map(lambda t, i: (t, i))
    with pytest.raises(ValueError, match=r"tag ids run from 0 to 2, outside 0..1 .*label_names"):
        tagger.finetune(dataset, epochs=1, verbose=0)


def test_text_generation_takes_a_dataset_of_texts_like_a_list():
    keras.utils.set_random_seed(0)
    texts = ["the cat sat on the mat.\n", "the dog sat on the log?\n"] * 5
    model = TextGenerator(sorted(set("".join(texts)) - {"?"}), cell="gru", units=8)
    weights = model.get_weights()
    keras.utils.set_random_seed(1)
    with pytest.warns(UserWarning, match="5 of 240 characters are outside"):
        listed = model.finetune(texts, window=8, epochs=2, verbose=0)
    model.set_weights(weights)
    keras.utils.set_random_seed(1)
    dataset = tf.data.Dataset.from_tensor_slices(texts)
    with pytest.warns(UserWarning, match="5 of 240 characters are outside"):
        streamed = model.finetune(dataset, window=8, epochs=2, verbose=0)
    assert listed.unknown_characters == streamed.unknown_characters == 5  # the five "?"
    np.testing.assert_allclose(listed.history["val_loss"], streamed.history["val_loss"], rtol=1e-4)
    with pytest.raises(ValueError, match="a dataset of texts holds one string per element"):
        model.finetune(tf.data.Dataset.from_tensor_slices((texts, texts)), epochs=1)


def test_a_mistyped_finetune_keyword_is_named_with_the_closest_one(classifier):
    with pytest.raises(TypeError, match=r"finetune\(\) .* 'epoch'; did you mean 'epochs'\?"):
        classifier.finetune(["good", "bad"], ["good", "bad"], epoch=1)
    generator = TextGenerator(list("ab "), units=4, embedding_dim=4)
    with pytest.raises(TypeError, match=r"'windows'; did you mean 'window'\?"):
        generator.finetune(["ab ba"], windows=4)


def test_a_file_where_a_folder_belongs_is_named_as_a_file(tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(FileNotFoundError, match="image folder .*red.png is a file, not a folder"):
        datasets.from_image_folder(image, tmp_path / "captions.csv")
    with pytest.raises(ValueError, match="red.png holds an image, not text"):
        datasets.from_csv(image)
    spreadsheet = tmp_path / "unicode.txt"
    spreadsheet.write_bytes("text,label\nniño,good\n".encode("utf-16"))
    with pytest.raises(ValueError, match="is UTF-16 text .*encoding='utf-16'"):
        datasets.from_csv(spreadsheet)
    assert datasets.from_csv(spreadsheet, encoding="utf-16")[1] == ["good"]
    latin = tmp_path / "cars.csv"  # begins as a BMP file does, but is none
    latin.write_bytes("text,label\nBMW ñ,good\n".encode("latin-1"))
    with pytest.raises(ValueError, match="line 2: bytes .* are not valid utf-8"):
        datasets.from_csv(latin)
    # A classifier takes examples, not files: the error names the reader to use.
    with pytest.raises(TypeError, match="got the file .*from_csv"):
        TextClassifier(["a"], ["x", "y"], units=4, embedding_dim=4).finetune(image)


def test_a_classification_dataset_with_ids_outside_the_labels_is_refused_before_training():
    classifier = TextClassifier(["a", "b"], ["x", "y"], units=4, embedding_dim=4)
    dataset = tf.data.Dataset.from_tensor_slices((["a", "b", "a b"], [0, 1, 2]))
    with pytest.raises(ValueError, match=r"label ids run from 0 to 2, outside 0..1 .*label_names"):
        classifier.finetune(dataset, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"holds \(input, label ids\) pairs; this one holds"):
        classifier.finetune(tf.data.Dataset.from_tensor_slices(["a", "b"]), epochs=1, verbose=0)
