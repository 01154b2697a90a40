"""Recipe: the sentiment entries, trained on `sentence_polarity`.

Trains on the train split, keeps the epoch with the best validation accuracy,
reports accuracy on the test split (pooled and per domain), and writes the weight
file and the card into the zoo:

    python -m seqapps.zoo.recipes.sentiment --cell lstm --name sentiment-lstm

The three cells of the lecture's comparison use the same data, config and budget
and differ only in `--cell`.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

ZOO_DIR = Path(__file__).resolve().parents[1]
DATASET = "sentence_polarity"


def load_split(split: str) -> tuple[list[str], list[int], list[str], list[float]]:
    """Texts, label ids, domains and mean human ratings of one split."""
    from seqapps import datasets

    texts, labels, domains, ratings = [], [], [], []
    for example in datasets.load(DATASET, split=split, as_supervised=False).as_numpy_iterator():
        texts.append(example["text"].decode("utf-8"))
        labels.append(int(example["label"]))
        domains.append(example["domain"].decode("utf-8"))
        ratings.append(float(example["rating"]))
    return texts, labels, domains, ratings


def soft_targets(ratings: list[float], sharpness: float):
    """`[p(negative), p(positive)]` per text from its mean rating: `p = sigmoid(k * rating)`.

    A text the raters found barely positive (+0.3) teaches less certainty than
    one they found glowing (+3); the sign, and so the hard label, is unchanged.
    """
    import numpy as np

    positive = 1 / (1 + np.exp(-sharpness * np.asarray(ratings, dtype="float32")))
    return np.stack([1 - positive, positive], axis=-1).astype("float32")


def pretraining_corpus(train_texts: list[str]) -> list[str]:
    """English text for the word vectors: train splits only, so nothing held out leaks in.

    The sentiment train texts plus the Brown corpus (news, reviews, fiction, ...)
    and the English side of the Bible pairs.
    """
    from seqapps import datasets

    corpus = list(train_texts)
    for example in datasets.load(
        "brown_pos", split="train", as_supervised=False
    ).as_numpy_iterator():
        corpus.append(" ".join(token.decode("utf-8") for token in example["tokens"]))
    for example in datasets.load(
        "bible_en_es", split="train", as_supervised=False
    ).as_numpy_iterator():
        corpus.append(example["en"].decode("utf-8"))
    return corpus


def word_vectors(corpus: list[str], vocabulary: list[str], dim: int, seed: int):
    """Skip-gram word2vec (gensim) over `corpus`, as rows for the embedding matrix.

    Row 0 (padding) is zero; the unknown token and words word2vec did not keep
    start from small random vectors.
    """
    import numpy as np
    from gensim.models import Word2Vec

    from seqapps.text import TextVectorizer

    tokenizer = TextVectorizer(split="word")
    sentences = []
    for start in range(0, len(corpus), 4096):
        tokens = tokenizer.tokenize(np.asarray(corpus[start : start + 4096], dtype=object))
        sentences += [[t.decode("utf-8") for t in row] for row in tokens.to_list()]
    w2v = Word2Vec(
        sentences,
        vector_size=dim,
        window=5,
        min_count=2,
        sg=1,
        negative=10,
        epochs=8,
        workers=1,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    matrix = rng.normal(scale=0.1, size=(len(vocabulary) + 2, dim)).astype("float32")
    matrix[0] = 0
    found = 0
    for index, word in enumerate(vocabulary, start=2):
        if word in w2v.wv:
            matrix[index] = w2v.wv[word] / (np.linalg.norm(w2v.wv[word]) + 1e-8) * 0.5
            found += 1
    print(
        f"word2vec: {len(sentences)} sentences, {found}/{len(vocabulary)} vocabulary words covered"
    )
    return matrix


def pretrain_language_model(model, texts: list[str], args) -> None:
    """Trains the classifier's embedding and encoder to predict the next word of `texts`.

    The language model shares those two layers with the classifier, so what they
    learn from the train texts alone (no labels) is where supervised training
    starts (Dai & Le, 2015, "Semi-supervised sequence learning"). Its output
    layer is thrown away afterwards.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    vectorizer = model.get_layer("vectorizer")
    stream = []
    for start in range(0, len(texts), 4096):
        ids = vectorizer(tf.constant(texts[start : start + 4096])).numpy()
        for row in ids:
            stream.extend(row[row > 0].tolist())
    stream = np.asarray(stream, dtype="int32")
    window = args.lm_window
    usable = (len(stream) - 1) // window * window
    inputs = stream[:usable].reshape(-1, window)
    targets = stream[1 : usable + 1].reshape(-1, window)

    ids = keras.Input(shape=(None,), dtype="int32")
    x = model.get_layer("embedding")(ids)
    x = keras.layers.Dropout(args.dropout)(x)
    x = model.get_layer("encoder")(x)
    x = keras.layers.Dropout(args.dropout)(x)
    logits = keras.layers.Dense(vectorizer.vocabulary_size)(x)
    language_model = keras.Model(ids, logits)
    language_model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    data = tf.data.Dataset.from_tensor_slices((inputs, targets)).shuffle(
        len(inputs), seed=args.seed
    )
    print(f"language model: {len(stream)} tokens, {len(inputs)} windows of {window}")
    language_model.fit(data.batch(32), epochs=args.pretrain_lm, verbose=2 if not args.quiet else 0)


def batched(texts, targets, batch_size, seed=None, bucket=True):
    """A `tf.data.Dataset` of `(texts, targets)` batches, drawn anew every epoch.

    With `bucket`, each batch holds texts of similar length (less padding);
    with a `seed`, batches are shuffled, differently in every epoch.
    """
    import itertools

    import numpy as np
    import tensorflow as tf

    lengths = np.array([len(text.split()) for text in texts])
    text_array, target_array = np.asarray(texts, dtype=object), np.asarray(targets)
    epochs = itertools.count()

    def groups():
        rng = np.random.default_rng(None if seed is None else seed + next(epochs))
        if seed is None:
            order = np.argsort(lengths, kind="stable")
        elif bucket:
            order = np.argsort(lengths + rng.random(len(texts)) * 4, kind="stable")
        else:
            order = rng.permutation(len(texts))
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

    from seqapps.tasks import TextClassifier
    from seqapps.text import build_vocabulary

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    train_texts, train_labels, _, train_ratings = load_split("train")
    val_texts, val_labels, val_domains, val_ratings = load_split("validation")
    test_texts, test_labels, test_domains, _ = load_split("test")
    label_names = ["negative", "positive"]

    corpus = pretraining_corpus(train_texts) if args.pretrain_embeddings else train_texts
    vocabulary = build_vocabulary(corpus, max_size=args.vocabulary_size, min_count=args.min_count)
    model = TextClassifier(
        vocabulary,
        label_names,
        cell=args.cell,
        units=args.units,
        num_layers=args.num_layers,
        bidirectional=args.bidirectional,
        embedding_dim=args.embedding_dim,
        dropout=args.dropout,
        pooling=args.pooling,
    )
    if args.pretrain_embeddings:
        matrix = word_vectors(corpus, vocabulary, args.embedding_dim, args.seed)
        model.get_layer("embedding").set_weights([matrix])
    if args.pretrain_lm:
        pretrain_language_model(model, train_texts, args)
    optimizer = keras.optimizers.Adam(args.learning_rate, clipnorm=1.0)
    if args.soft_labels:
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.CategoricalCrossentropy(),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        train_targets = soft_targets(train_ratings, args.soft_labels)
        val_targets = soft_targets(val_ratings, args.soft_labels)
    else:
        model.compile(optimizer=optimizer)
        train_targets, val_targets = train_labels, val_labels
    train_data = batched(
        train_texts, train_targets, args.batch_size, seed=args.seed, bucket=not args.random_batches
    )
    val_data = batched(val_texts, val_targets, 256)
    stop = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=args.patience, restore_best_weights=True
    )
    history = model.fit(
        train_data,
        validation_data=val_data,
        epochs=args.epochs,
        callbacks=[stop],
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
    model.save_preset(weights)
    write_card(args, model, weights, validation, test, best_epoch, len(train_texts))
    return {"validation": validation, "test": test}


def write_card(args, model, weights: Path, validation, test, best_epoch, num_train) -> None:
    from seqapps.zoo import sha256_of

    config = model.get_config()
    architecture = {key: value for key, value in config.items() if key != "vocabulary"}
    architecture["vocabulary_size"] = len(config["vocabulary"]) + 2
    cells = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
    shape = f"{'bidirectional ' if args.bidirectional else ''}{args.num_layers}-layer {cells[args.cell]}"
    card = {
        "name": args.name,
        "task": model.task_name,
        "description": (
            f"English sentiment (negative/positive) of short texts: word embedding → {shape} "
            f"({args.units} units) → {args.pooling} pooling → softmax, trained from scratch."
        ),
        "architecture": architecture,
        "weights": {
            "file": f"weights/{weights.name}",
            "url": None,
            "sha256": sha256_of(weights),
            "size_bytes": weights.stat().st_size,
        },
        "num_parameters": int(model.count_params()),
        "dataset": {
            "name": DATASET,
            "train": f"train ({num_train} texts)",
            "selection": f"validation accuracy, best epoch {best_epoch}",
            "test": "test",
        },
        "metrics": {"test": {"accuracy": test}, "validation": {"accuracy": validation}},
        "license": "Apache-2.0 (weights); training data MIT (vaderSentiment ground truth)",
        "recipe": "python -m seqapps.zoo.recipes.sentiment " + " ".join(recipe_arguments(args)),
        "notes": f"trained {datetime.date.today().isoformat()}, seed {args.seed}",
    }
    path = ZOO_DIR / "cards" / f"{args.name}.json"
    path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {weights} and {path}")


def recipe_arguments(args: argparse.Namespace) -> list[str]:
    defaults = vars(parser().parse_args(["--name", args.name, "--cell", args.cell]))
    parts = ["--name", args.name, "--cell", args.cell]
    for key, value in vars(args).items():
        if key in ("name", "cell", "quiet", "dry_run") or value == defaults[key]:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    return parts


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="zoo entry name, e.g. sentiment-lstm")
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], required=True)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--embedding-dim", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--pooling", choices=["last", "mean", "max"], default="max")
    p.add_argument("--vocabulary-size", type=int, default=20000)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--pretrain-embeddings",
        action="store_true",
        help="start the embedding from word2vec vectors trained on bundled English train text",
    )
    p.add_argument(
        "--soft-labels",
        type=float,
        default=0.0,
        metavar="K",
        help="train on p(positive) = sigmoid(K * mean rating) instead of hard labels (0: off)",
    )
    p.add_argument(
        "--pretrain-lm",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="first train embedding and encoder as a language model on the train texts",
    )
    p.add_argument("--lm-window", type=int, default=35)
    p.add_argument("--random-batches", action="store_true", help="no bucketing of similar lengths")
    p.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    p.add_argument("--quiet", action="store_true")
    return p


if __name__ == "__main__":
    train(parser().parse_args())
