"""The text classifier's fine-tuning data from the command line: a CSV file of texts and
labels, read once, against the model's own label set."""

import sys

import numpy as np
import tensorflow as tf

from seqapps.tasks.rows import renumbered


def read_labelled_csv(model, path, text_column, label_column, labels_from_data):
    """`(model, dataset of (text, label id))` from the CSV file at `path`, for
    `TextClassifier.finetune_data`.

    Labels the model has keep its head; other names, or numbers read as names
    (`labels_from_data`), give a copy with a fresh head on the pretrained layers;
    other numbers are ids of the model's labels (said on stderr). The file is
    parsed once; ids are renumbered in the dataset when the model orders its
    labels otherwise.
    """
    from seqapps import datasets

    dataset, names = datasets.from_csv(path, text_column, label_column)
    if names is None and dataset.element_spec[1].dtype.is_floating:
        raise ValueError(
            f"{path}: column {label_column!r} holds non-integer numbers; "
            f"labels must be names or integer ids of {model.labels}"
        )
    labels = [batch for batch in dataset.map(lambda _, label: label).batch(8192)]
    labels = np.unique(np.concatenate(labels))
    if len(labels) < 2:
        raise ValueError(
            f"{path}: every row has the same label; fine-tuning a classifier "
            f"needs examples of at least two labels"
        )
    if names is None and labels_from_data:
        names = [str(value) for value in labels]
        values = tf.constant(labels, tf.int64)
        dataset = dataset.map(lambda text, label: (text, tf.searchsorted(values, [label])[0]))
    elif names is None:
        if labels[0] < 0 or labels[-1] >= len(model.labels):
            raise ValueError(
                f"{path}: labels {labels.tolist()} are not ids of "
                f"{model.labels}; --labels-from-data reads them as names"
            )
        mapping = ", ".join(f"{i} → {name!r}" for i, name in enumerate(model.labels))
        print(
            f"numeric labels read as the model's label ids: {mapping} "
            f"(--labels-from-data reads them as names)",
            file=sys.stderr,
        )
        return model, dataset
    tuned = model.with_head(labels=names)
    return tuned, renumbered(dataset, names, tuned.labels)  # names the model has, in its order
