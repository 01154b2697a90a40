"""The sentiment entries, re-measured on the held-out test split and fine-tuned on new labels."""

import keras
import numpy as np
import pytest

import seqapps
from harness import assert_same_outputs, load_export_without_seqapps
from seqapps import datasets

pytestmark = pytest.mark.zoo

ENTRIES = seqapps.list_models("sentiment-*")


@pytest.fixture(scope="module")
def test_split():
    examples = list(
        datasets.load("sentence_polarity", split="test", as_supervised=False).as_numpy_iterator()
    )
    texts = [e["text"].decode("utf-8") for e in examples]
    labels = np.array([int(e["label"]) for e in examples])
    domains = np.array([e["domain"].decode("utf-8") for e in examples])
    return texts, labels, domains


@pytest.mark.parametrize("name", ENTRIES)
@pytest.mark.slow
def test_card_accuracy_is_reproduced_on_the_test_split(name, test_split):
    texts, labels, domains = test_split
    model = seqapps.load(name)
    predicted = np.array([model.labels.index(r["label"]) for r in model.classify(texts)])
    claimed = seqapps.describe(name)["metrics"]["test"]["accuracy"]
    assert np.mean(predicted == labels) == pytest.approx(claimed["pooled"], abs=1e-3)
    for domain in ("movie", "tweets", "amazon", "nyt"):
        mask = domains == domain
        assert np.mean(predicted[mask] == labels[mask]) == pytest.approx(claimed[domain], abs=1e-3)


def test_sentiment_lstm_meets_the_quality_bar():
    # issue 3's bar; the card's figure is re-measured by the test above
    assert seqapps.describe("sentiment-lstm")["metrics"]["test"]["accuracy"]["pooled"] >= 0.77


def test_obvious_sentences():
    model = seqapps.load("sentiment-lstm")
    assert model.classify("a gorgeous, witty, seductive movie.")["label"] == "positive"
    assert model.classify("the plot is a mess and the jokes fall flat.")["label"] == "negative"


@pytest.mark.slow
def test_finetune_on_a_new_three_class_problem():
    """A fresh 3-way head on the pretrained entry learns the new labels from 150 rows."""
    rng = np.random.default_rng(0)
    cues = {
        "praise": ["wonderful", "brilliant", "delightful", "superb", "moving"],
        "complaint": ["awful", "boring", "dreadful", "tedious", "stupid"],
        "logistics": ["tuesday", "parking", "tickets", "schedule", "downtown"],
    }
    frames = ["the {} film", "honestly {} and long", "i thought it was {}", "{} , as expected"]
    texts, labels = [], []
    for _ in range(210):
        label = rng.choice(list(cues))
        texts.append(rng.choice(frames).format(rng.choice(cues[label])))
        labels.append(str(label))
    # The new head's first weights come from Keras's global seed: fixed here, so that the result
    # does not depend on which tests ran before. From some starts the head learns slowly (val
    # loss still falling at epoch 15 from seed 0), hence the budget and the patience.
    keras.utils.set_random_seed(0)
    model = seqapps.load("sentiment-lstm", labels=list(cues))
    model.finetune(texts[:150], labels[:150], epochs=30, patience=5, learning_rate=3e-3, verbose=0)
    predicted = [r["label"] for r in model.classify(texts[150:])]
    accuracy = np.mean([p == t for p, t in zip(predicted, labels[150:])])
    assert accuracy > 0.8  # chance is 1/3


@pytest.mark.slow
def test_export_round_trip_without_seqapps(tmp_path, test_split):
    texts = test_split[0][:16]
    model = seqapps.load("sentiment-lstm")
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", texts)
    assert_same_outputs(served["probabilities"], model.predict(texts, verbose=0))
    assert served["labels"] == [r["label"] for r in model.classify(texts)]
