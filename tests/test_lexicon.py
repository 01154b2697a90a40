"""Opinion-lexicon features: the numbers per word, a classifier that uses them, bad lexicon files."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from harness import (
    assert_batch_independent,
    assert_preset_round_trip,
    assert_same_outputs,
    load_export_without_seqapps,
)
from seqapps.tasks import TextClassifier
from seqapps.text import TextVectorizer
from seqapps.text import lexicon as lexicon_module
from seqapps.text.lexicon import LexiconFeatures, load_lexicon

TEXTS = ["a good movie!", "It is well-known, and I can't stand it", "", "not bad at all"]


@pytest.fixture(scope="module")
def features():
    return LexiconFeatures(max_length=8)


def rows_of(features, text):
    return features(tf.constant([text])).numpy()[0].astype(float).round(3).tolist()


def test_known_words_get_their_lexicon_numbers(features):
    good, bad, plain = rows_of(features, "good bad film")[:3]
    assert good == [0.6, 1.0, 0.0, 0.0]  # AFINN +3, Liu positive
    assert bad == [-0.6, 0.0, 1.0, 0.0]  # AFINN -3, Liu negative
    assert plain == [0.0, 0.0, 0.0, 0.0]
    # Case does not matter; an unlisted inflection is not found (no stemming).
    assert rows_of(features, "GOOD")[0] == good
    assert rows_of(features, "superb")[0] == [1.0, 1.0, 0.0, 0.0]
    assert rows_of(features, "superbness")[0] == [0.0, 0.0, 0.0, 0.0]


def test_multi_word_entries_give_their_numbers_to_their_last_word(features):
    rows = rows_of(features, "well-known . can't stand")
    # "well-known" splits into "well" "-" "known"; Liu lists the whole word as positive.
    assert rows[2][:3] == [0.0, 1.0, 0.0]
    # AFINN's phrase "can't stand" is -3 on "stand" (alone "stand" is unrated).
    assert rows[5][0] == -0.6
    assert rows_of(features, "stand")[0][0] == 0.0


def test_negation_reaches_three_words(features):
    negated = [row[3] for row in rows_of(features, "it didn't feel very good at all")]
    assert negated == [0, 0, 1, 1, 1, 0, 0]
    assert [row[3] for row in rows_of(features, "dont like")[:2]] == [0, 1]


def test_rows_line_up_with_the_tokenizer_ids(features):
    ids = TextVectorizer(["good"], max_length=8)(tf.constant(TEXTS + ["good " * 20]))
    assert features(tf.constant(TEXTS + ["good " * 20])).shape[:2] == ids.shape


def test_the_bundled_lists_are_complete():
    lists = load_lexicon("opinion-en")
    assert (len(lists["afinn_111"]), len(lists["liu_positive"]), len(lists["liu_negative"])) == (
        2477,
        2006,
        4783,
    )


@pytest.fixture
def lexicon_file(tmp_path, monkeypatch):
    """A copy of the bundled file that a test may break; the cache is emptied around it."""
    path = tmp_path / "lexicon.json"
    path.write_bytes(lexicon_module.lexicon_path("opinion-en").read_bytes())
    monkeypatch.setattr(lexicon_module, "lexicon_path", lambda name: path)
    load_lexicon.cache_clear()
    yield path
    load_lexicon.cache_clear()


def test_a_missing_lexicon_file_is_refused_naming_it_and_the_fix(lexicon_file):
    lexicon_file.unlink()
    with pytest.raises(FileNotFoundError, match="lexicon.json is missing.*opinion_lexicon.py"):
        LexiconFeatures()


def test_an_altered_lexicon_file_is_refused_naming_it_and_the_fix(lexicon_file):
    lexicon_file.write_bytes(lexicon_file.read_bytes().replace(b'"good": 3', b'"good": -3'))
    with pytest.raises(ValueError, match="lexicon.json has sha256 .* altered.*opinion_lexicon.py"):
        TextClassifier(["good"], ["negative", "positive"], units=2, lexicon="opinion-en")


def test_bad_lexicon_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown lexicon 'opinion-fr'.*opinion-en"):
        LexiconFeatures("opinion-fr")
    with pytest.raises(ValueError, match="negation_window must be an integer >= 0, got -1"):
        LexiconFeatures(negation_window=-1)


# A classifier sees four positive and three negative words; the unseen ones are [UNK] to it.
SEEN = {"positive": ["good", "great", "excellent", "nice"], "negative": ["bad", "awful", "poor"]}
UNSEEN = {
    "positive": ["superb", "brilliant", "delightful"],
    "negative": ["dreadful", "lousy", "dismal"],
}
FRAMES = ["a {} movie", "the plot was {}", "{} acting", "really {} film overall"]


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for _ in range(160):
        label = str(rng.choice(list(SEEN)))
        texts.append(str(rng.choice(FRAMES)).format(rng.choice(SEEN[label])))
        labels.append(label)
    keras.utils.set_random_seed(0)
    vocabulary = sorted({word for text in texts for word in text.split()})
    model = TextClassifier(
        vocabulary,
        ["negative", "positive"],
        units=8,
        embedding_dim=8,
        bidirectional=True,
        pooling="max",
        dropout=0.5,
        lexicon="opinion-en",
    )
    for words in UNSEEN.values():
        assert all(word not in vocabulary for word in words)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(texts, labels, epochs=15, batch_size=16, verbose=0)
    return model


def test_a_lexicon_word_absent_from_training_moves_the_prediction_its_way(trained):
    def positive(word):
        return trained.classify(f"a {word} movie", all_scores=True)["scores"]["positive"]

    gaps = [positive(p) - positive(n) for p, n in zip(UNSEEN["positive"], UNSEEN["negative"])]
    # Without the lexicon every unseen word is [UNK] and every gap is 0.
    assert all(gap > 0.3 for gap in gaps), gaps


def test_padding_does_not_change_answers(trained):
    # A text scored alone and beside a longer one: the padding must stay masked under the features.
    assert_batch_independent(trained, TEXTS)


def test_save_load_and_export_give_the_same_scores(trained, tmp_path):
    assert_preset_round_trip(trained, TEXTS, tmp_path)
    trained.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", TEXTS)
    assert_same_outputs(served["probabilities"], trained.predict(TEXTS, verbose=0))


def test_a_config_without_the_lexicon_key_loads_as_before():
    model = TextClassifier(["good", "bad"], ["negative", "positive"], units=2, embedding_dim=2)
    config = model.get_config()
    assert config.pop("lexicon") is None
    clone = TextClassifier.from_config(config)
    clone.set_weights(model.get_weights())
    assert "lexicon" not in [layer.name for layer in clone.layers]
    assert_same_outputs(clone.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0))
