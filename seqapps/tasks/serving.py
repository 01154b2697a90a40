"""What every exported signature shares: an empty batch gets an empty answer."""

import tensorflow as tf


def answering_empty_batches(function, signature):
    """`function` for a SavedModel endpoint, answering a batch of zero rows with zero rows.

    A generation loop or a batch-normalised encoder fails deep inside
    TensorFlow on an empty batch; the empty answer is built from the traced
    outputs' dtypes and shapes (every unknown size 0), so the served model
    answers `[]` as the Python verbs do.
    """
    first = signature[0] if signature else None
    if first is None or first.shape.rank is None or first.shape.rank < 1:
        return function  # no batch to be empty (e.g. one prompt as a scalar)
    traced = tf.function(function).get_concrete_function(*signature).structured_outputs

    def empty(spec):
        shape = [0 if size is None else size for size in spec.shape.as_list()]
        if spec.dtype == tf.string:
            return tf.fill(shape, "")
        return tf.zeros(shape, spec.dtype)

    def answered(*inputs):
        return tf.cond(
            tf.shape(inputs[0])[0] > 0,
            lambda: function(*inputs),
            lambda: tf.nest.map_structure(empty, traced),
        )

    return answered
