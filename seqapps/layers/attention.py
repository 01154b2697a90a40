"""Attention over a memory (an encoder's outputs), additive or multiplicative, with a mask."""

import keras
from keras import ops

KINDS = ("additive", "multiplicative")


@keras.saving.register_keras_serializable(package="seqapps")
class Attention(keras.layers.Layer):
    """Each query step reads a weighted average of the memory steps it scores highest.

    `kind="additive"` is Bahdanau et al. (2015): `score(q, m) = v·tanh(W_q q + W_m m)`.
    `kind="multiplicative"` is Luong et al.'s (2015) "general" form:
    `score(q, m) = q·(W m)`, one batched matrix product, cheaper on long memories.
    Masked memory steps (padding) get no weight.

    Args:
        kind: `"additive"` or `"multiplicative"`.
        units: size of the additive score's hidden layer (default: the query size);
            unused by `"multiplicative"`.

    Call arguments:
        query: `[batch, query_time, query_features]`.
        memory: `[batch, memory_time, memory_features]`.
        memory_mask: bool `[batch, memory_time]`, True where the memory is real.

    Returns:
        `(context [batch, query_time, memory_features], weights [batch, query_time, memory_time])`;
        each row of `weights` sums to 1 over the unmasked steps.

    Example:

    >>> import numpy as np
    >>> attention = Attention("additive", units=4)
    >>> context, weights = attention(np.ones((2, 3, 5), "float32"), np.ones((2, 7, 6), "float32"))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 3, 6), (2, 3, 7))
    """

    def __init__(self, kind="additive", units=None, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"unknown attention kind {kind!r}; choose one of {list(KINDS)}")
        self.kind = kind
        self.units = units

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        query_features = query_shape[-1]
        if self.kind == "additive":
            units = self.units or query_features
            self.query_projection = keras.layers.Dense(units, use_bias=False, name="query")
            self.memory_projection = keras.layers.Dense(units, name="memory")
            self.score_vector = keras.layers.Dense(1, use_bias=False, name="score")
            self.query_projection.build(query_shape)
            self.memory_projection.build(memory_shape)
            self.score_vector.build((None, None, None, units))
        else:
            self.memory_projection = keras.layers.Dense(
                query_features, use_bias=False, name="memory"
            )
            self.memory_projection.build(memory_shape)
        self.built = True

    def call(self, query, memory, memory_mask=None):
        if self.kind == "additive":
            hidden = ops.tanh(
                ops.expand_dims(self.query_projection(query), 2)
                + ops.expand_dims(self.memory_projection(memory), 1)
            )
            scores = ops.squeeze(self.score_vector(hidden), -1)
        else:
            scores = ops.matmul(query, ops.transpose(self.memory_projection(memory), (0, 2, 1)))
        if memory_mask is not None:
            # A large finite penalty, so a row with no real step gives uniform weights, not NaN.
            scores = ops.where(ops.expand_dims(memory_mask, 1), scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        return ops.matmul(weights, memory), weights

    def compute_output_spec(self, query, memory, memory_mask=None):
        return (
            keras.KerasTensor((*query.shape[:2], memory.shape[-1]), dtype=self.compute_dtype),
            keras.KerasTensor((*query.shape[:2], memory.shape[1]), dtype=self.compute_dtype),
        )

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "units": self.units}
