"""Raw text becomes the ids the models see, the same way in Python, tf.data and a saved model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqapps.text import TextVectorizer, build_vocabulary


def ids(vectorizer, texts):
    return vectorizer(tf.constant(texts)).numpy().tolist()


def test_words_are_lowercased_and_punctuation_split_off():
    vectorizer = TextVectorizer(["good", "movie", "!", "isn't"])
    assert ids(vectorizer, ["Good movie!", "isn't GOOD"]) == [[2, 3, 4], [5, 2, 0]]


def test_unknown_words_padding_and_truncation():
    vectorizer = TextVectorizer(["a", "b"], max_length=3)
    assert ids(vectorizer, ["a zebra b a b", "b"]) == [[2, 1, 3], [3, 0, 0]]


def test_empty_texts_give_one_padding_step():
    vectorizer = TextVectorizer(["a"])
    assert ids(vectorizer, ["", "   "]) == [[0], [0]]


def test_characters_keep_case_and_unicode():
    vectorizer = TextVectorizer(["R", "o", "é"], split="char")
    assert ids(vectorizer, ["Roé!"]) == [[2, 3, 4, 1]]
    assert vectorizer.detokenize(tf.constant([[2, 3, 4, 0]])).numpy().tolist() == [b"Ro\xc3\xa9"]


def test_vocabulary_is_by_frequency_then_alphabetical():
    assert build_vocabulary(["b a c", "a b", "a"]) == ["a", "b", "c"]
    assert build_vocabulary(["b a c", "a b", "a"], min_count=2) == ["a", "b"]
    assert build_vocabulary(["zz yy"], max_size=1) == ["yy"]


def test_runs_inside_tf_data_and_survives_saving(tmp_path):
    vectorizer = TextVectorizer(["hello", "world"], name="vectorizer")
    dataset = tf.data.Dataset.from_tensor_slices(["hello world", "world"]).batch(2).map(vectorizer)
    assert next(iter(dataset)).numpy().tolist() == [[2, 3], [3, 0]]

    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, vectorizer(inputs))
    model.save(tmp_path / "v.keras")
    restored = keras.saving.load_model(tmp_path / "v.keras")
    np.testing.assert_array_equal(
        restored.predict(tf.constant(["world hello"]), verbose=0), [[3, 2]]
    )


def test_bad_split_is_refused():
    with pytest.raises(ValueError, match="split must be 'word' or 'char'"):
        TextVectorizer(split="subword")


def test_a_nul_byte_does_not_cut_the_text():
    vectorizer = TextVectorizer(["great", "terrible", "awful"])
    words = vectorizer.tokenize(tf.constant(["Great\x00 TERRIBLE awful"])).to_list()[0]
    assert words == [b"great", b"terrible", b"awful"]
    dataset = tf.data.Dataset.from_tensors(["great\x00 terrible"]).map(vectorizer)
    assert next(iter(dataset)).numpy().tolist() == [[2, 3]]
