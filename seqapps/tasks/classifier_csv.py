"""The text classifier's fine-tuning data from the command line: a CSV file of texts and
labels, read against the model's own label set."""

import sys

import tensorflow as tf


def read_labelled_csv(model, path, text_column, label_column, labels_from_data):
    """`(model, texts, label ids)` from the CSV file at `path`, for `TextClassifier.finetune_data`.

    Labels the model has keep its head; other names, or numbers read as names
    (`labels_from_data`), give a copy with a fresh head on the pretrained layers;
    other numbers are ids of the model's labels (said on stderr).
    """
    from seqapps import datasets

    dataset, names = datasets.from_csv(path, text_column, label_column)
    if names is None and dataset.element_spec[1].dtype.is_floating:
        raise ValueError(
            f"{path}: column {label_column!r} holds non-integer numbers; "
            f"labels must be names or integer ids of {model.labels}"
        )
    if names is None and labels_from_data:
        values = sorted({int(label) for _, label in dataset.as_numpy_iterator()})
        names = [str(value) for value in values]
        ids = tf.constant(values, tf.int64)
        dataset = dataset.map(lambda text, label: (text, tf.searchsorted(ids, [label])[0]))
    elif names is None:
        mapping = ", ".join(f"{i} → {name!r}" for i, name in enumerate(model.labels))
        print(
            f"numeric labels read as the model's label ids: {mapping} "
            f"(--labels-from-data reads them as names)",
            file=sys.stderr,
        )
    tuned = model if names is None else model.with_head(labels=names)
    if names is not None and tuned is model:  # names the model has: read as its ids
        dataset, names = datasets.from_csv(path, text_column, label_column, model.labels)
    texts, labels = zip(*dataset.as_numpy_iterator())
    if len(set(labels)) < 2:
        raise ValueError(
            f"{path}: every row has the same label; fine-tuning a classifier "
            f"needs examples of at least two labels"
        )
    if not set(labels) <= set(range(len(tuned.labels))):
        raise ValueError(
            f"{path}: labels {sorted(map(int, set(labels)))} are not ids of "
            f"{tuned.labels}; --labels-from-data reads them as names"
        )
    texts = [text.decode("utf-8") for text in texts]
    return tuned, texts, list(labels)
