"""The recipes' shared training loop: selection on validation, and a killed run that resumes."""

import json
import subprocess
import sys

import pytest

KILLED_RECIPE = """
import json, os, sys
import keras, numpy as np, tensorflow as tf
from seqapps.tasks import TextClassifier
from seqapps.zoo.recipes._training import train_selecting_on_validation

backup, kill_at = sys.argv[1], int(sys.argv[2])
texts = ["a good movie", "good !", "bad", "a bad movie", "not bad", "not good"] * 8
labels = [1, 1, 0, 0, 1, 0] * 8
keras.utils.set_random_seed(0)
model = TextClassifier(["good", "bad", "movie", "not", "a", "!"], ["negative", "positive"],
                       cell="gru", units=4, embedding_dim=4)
model.compile(optimizer=keras.optimizers.Adam(1e-2))
data = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(8)
rounds = []

def validate(model):
    rounds.append(1)
    if len(rounds) == kill_at:
        os._exit(3)  # as a killed process: no cleanup, no exception handling
    answers = [model.classify(t)["label"] for t in ("a good movie", "not good")]
    return {"correct": (answers[0] == "positive") + (answers[1] == "negative")}

best, epoch, history = train_selecting_on_validation(
    model, data, validate, "correct", epochs=6, minutes=60, epochs_per_round=2,
    backup_dir=backup,
)
print(json.dumps({"rounds": [h["epoch"] for h in history], "scored_here": len(rounds),
                  "answer": best.classify("a good movie")["label"]}))
"""


@pytest.mark.slow
def test_a_killed_recipe_run_resumes_from_its_backup_folder(tmp_path):
    backup = tmp_path / "backup"
    run = [sys.executable, "-c", KILLED_RECIPE, str(backup)]
    killed = subprocess.run([*run, "2"], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 3, killed.stderr[-2000:]
    assert json.loads((backup / "selection" / "state.json").read_text())["history"][0]["epoch"] == 2
    resumed = subprocess.run([*run, "0"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    # Killed while scoring epoch 4: epoch 4 runs again; three rounds in all, as unbroken.
    assert result["rounds"] == [2, 4, 6]
    assert result["scored_here"] == 2  # epochs 1-3 were not trained again
    assert result["answer"] == "positive"
    assert not backup.exists()  # removed when training ends


def test_a_recipes_command_line_sets_its_training_and_a_dry_run_writes_nothing():
    from seqapps.tasks import SequenceTagger
    from seqapps.zoo.recipes import _training, tagging

    args = tagging.parser().parse_args(
        ["--name", "probe", "--epochs", "4", "--patience", "1", "--batch-size", "8", "--dry-run"]
    )
    sentences = [["the", "dog", "runs"], ["a", "cat", "sleeps"]] * 4
    tags = [["DET", "NOUN", "VERB"]] * 8
    model = SequenceTagger(
        ["the", "a", "dog", "cat", "runs", "sleeps"],
        list("acdeghlnoprstu"),
        ["DET", "NOUN", "VERB"],
        units=4,
        embedding_dim=4,
        char_filters=4,
    )
    best, weights, best_epoch, history = _training.train_recipe(
        args, model, sentences, tags, lambda model: {"score": 0.0}, "score", clipnorm=5.0
    )
    # Never better than the first round: one round without a gain ends it (--patience 1).
    assert weights is None and best_epoch == 1
    assert [round["epoch"] for round in history] == [1, 2]
    assert model.optimizer.learning_rate.numpy() == pytest.approx(2e-3)  # --learning-rate
    assert model.optimizer.clipnorm == 5.0 and best is not model  # the best round's copy


def test_a_recipes_vectors_options_reach_the_model(monkeypatch):
    import numpy as np

    import seqapps.text
    from seqapps.tasks import SequenceTagger
    from seqapps.text import WordVectors
    from seqapps.zoo.recipes import _vectors, tagging

    words = ["the", "dog", "cat", "bird"]
    monkeypatch.setattr(
        seqapps.text, "load_vectors", lambda name: WordVectors(words, np.eye(4, dtype="float32"))
    )
    options = ["--vectors", "glove-6b-50d", "--pretrained-mode", "frozen"]
    args = tagging.parser().parse_args(
        ["--name", "probe", *options, "--vectors-vocabulary-size", "3"]
    )
    model, vectors, init = _vectors.model_from_vectors(
        args, SequenceTagger, ["the", "dog"], "cdeghot", ["DET", "NOUN"], units=4, embedding_dim=0
    )
    assert vectors.words == words
    # The training words, then the most frequent other vector words up to --vectors-vocabulary-size.
    assert model.vocabulary == ["the", "dog", "cat"]
    assert model.pretrained_mode == "frozen" and model.pretrained_dim == 4


@pytest.mark.parametrize("momentum", ["1", "1.5", "-0.1", "nan"])
def test_the_sentiment_recipe_refuses_a_weight_average_that_cannot_move(momentum, capsys):
    from seqapps.zoo.recipes import sentiment

    command = ["--name", "x", "--cell", "lstm"]
    assert sentiment.parser().parse_args([*command, "--ema-momentum", "0.99"]).ema_momentum == 0.99
    with pytest.raises(SystemExit):
        sentiment.parser().parse_args([*command, "--ema-momentum", momentum])
    assert "--ema-momentum: must be" in capsys.readouterr().err  # in [0, 1), or finite


def test_the_sentiment_recipe_trains_on_the_raters_confidence(capsys):
    import keras
    import numpy as np
    import tensorflow as tf

    from seqapps.tasks import TextClassifier
    from seqapps.zoo.recipes import sentiment

    ratings = [-2.5, -0.2, 0.2, 2.5]
    targets = sentiment.rating_targets(ratings, 0.5)
    np.testing.assert_allclose(targets.sum(-1), 1.0, rtol=1e-6)
    assert list(targets.argmax(-1)) == [0, 0, 1, 1]  # the rating's sign is the label
    assert targets[3, 1] > 0.99 and 0.5 < targets[2, 1] < 0.6  # a clear text vs a lean
    assert sentiment.rating_targets([2.5], 2.0)[0, 1] < targets[3, 1]  # warmer: less sure

    # The recipe's fit, adversarial step included, trains and validates on those targets.
    texts = ["a great movie", "great !", "not great", "awful", "an awful movie", "not awful"] * 8
    ratings = [2.8, 2.0, -0.3, -2.9, -2.5, 0.4] * 8
    labels = [int(rating > 0) for rating in ratings]
    train, val, options = sentiment.training_targets(0.5, labels, ratings, labels)
    assert sentiment.training_targets(None, labels, ratings, labels) == (labels, labels, {})
    keras.utils.set_random_seed(0)
    model = TextClassifier(
        ["great", "awful", "movie", "not", "a", "an", "!"],
        ["negative", "positive"],
        cell="gru",
        units=8,
        embedding_dim=8,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), adversarial_epsilon=0.2, **options)
    history = model.fit(
        tf.data.Dataset.from_tensor_slices((texts, train)).batch(8),
        validation_data=tf.data.Dataset.from_tensor_slices((texts, val)).batch(8),
        epochs=15,
        verbose=0,
    )
    assert history.history["val_accuracy"][-1] == 1.0
    great, lean = model.classify(["a great movie", "not great"])
    assert great["label"] == "positive" and lean["label"] == "negative"
    assert great["score"] > lean["score"]  # the raters' lean is less sure than their praise

    for temperature in ["0", "-1", "nan"]:
        with pytest.raises(SystemExit):
            sentiment.parser().parse_args(
                ["--name", "x", "--cell", "lstm", "--rating-temperature", temperature]
            )
    assert "--rating-temperature: must be a positive number" in capsys.readouterr().err


@pytest.mark.parametrize("lexicon", [True, False])
def test_the_sentiment_recipes_card_names_the_licence_of_what_the_weights_read(
    lexicon, tmp_path, monkeypatch
):
    from seqapps.tasks import TextClassifier
    from seqapps.zoo.recipes import _cards, sentiment

    monkeypatch.setattr(_cards, "ZOO_DIR", tmp_path)
    (tmp_path / "cards").mkdir()
    args = sentiment.parser().parse_args(
        ["--name", "sentiment-x", "--cell", "gru", *(["--lexicon", "opinion-en"] * lexicon)]
    )
    model = TextClassifier(
        ["good", "bad"],
        ["negative", "positive"],
        cell="gru",
        units=4,
        embedding_dim=4,
        lexicon=args.lexicon,
    )
    weights = tmp_path / "weights.keras"
    model.save_preset(weights)
    sentiment.write_card(args, model, weights, {"pooled": 0.5}, {"pooled": 0.5}, 1, 6, None)
    card = json.loads((tmp_path / "cards" / "sentiment-x.json").read_text())
    assert card["license"].startswith("Apache-2.0 (weights)")
    # A lexicon travels inside the weights, so its licence travels on the card.
    assert ("AFINN-111" in card["license"]) == lexicon
    assert ("opinion-lexicon features" in card["description"]) == lexicon
