"""Row helpers the tasks share when fine-tuning and batching: examples from arrays or from a
batched dataset, and padding rows of unequal length into one array."""

import warnings

import numpy as np


def examples_of(inputs, targets):
    """A `tf.data.Dataset` of `(input, target)` examples from two arrays of one length."""
    import tensorflow as tf

    if targets is None:
        raise ValueError(
            f"finetune needs one target per input; got {len(inputs)} inputs and no targets: pass "
            f"them second, or a dataset of (input, target) pairs (seqapps.datasets reads one "
            f"from a pandas DataFrame or a file)"
        )
    if len(inputs) != len(targets):
        raise ValueError(
            f"finetune needs one target per input; got {len(inputs)} inputs and "
            f"{len(targets)} targets"
        )
    if not len(inputs):
        raise ValueError("finetune needs at least one example; got 0 inputs and 0 targets")
    if targets.dtype.kind in "iu" and len(np.unique(targets)) < 2:
        warnings.warn(
            f"every target is {targets[0].item()!r}: the model can only learn to answer that; "
            f"fine-tune on examples of at least two labels",
            stacklevel=4,
        )
    return tf.data.Dataset.from_tensor_slices((inputs, targets))


def renumbered(examples, names, order):
    """`(input, id)` examples whose ids index `names`, with the ids of those names in `order`."""
    import tensorflow as tf

    ids = [order.index(name) for name in names]
    if ids == list(range(len(names))):
        return examples
    ids = tf.constant(ids, tf.int64)
    return examples.map(lambda inputs, targets: (inputs, tf.gather(ids, targets)))


def unbatched(dataset, rank):
    """`dataset` with one example per element: unbatched when its first input has one
    dimension more than `rank`, an example's input rank."""
    import tensorflow as tf

    first = tf.nest.flatten(dataset.element_spec)[0]
    if first.shape.rank != rank + 1:
        return dataset
    # Unbatching loses the size; counted once here, Keras knows an epoch's length from the start.
    count = dataset.map(lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0])
    size = count.reduce(tf.constant(0), lambda total, rows: total + rows)
    return dataset.unbatch().apply(tf.data.experimental.assert_cardinality(int(size)))


def padded(rows, pad):
    """Rows of unequal length as one `[len(rows), longest]` array (at least one column)."""
    array = np.full((len(rows), max([1, *map(len, rows)])), pad, dtype=type(pad))
    array = array.astype(object) if isinstance(pad, str) else array
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array
