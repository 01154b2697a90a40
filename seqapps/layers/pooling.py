"""Small layers the tasks share: pooling over the unpadded steps, one-hot token vectors."""

import keras
import tensorflow as tf


class _MaskedPooling(keras.layers.Layer):
    """Pools over time the unpadded steps only; a text with none gets zeros, like "last"."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="seqapps")
class MaskedMaxPooling(_MaskedPooling):
    """Max over time of the unpadded steps only."""

    def call(self, inputs, mask=None):
        if mask is None:
            return tf.reduce_max(inputs, axis=1)
        pooled = tf.reduce_max(
            tf.where(mask[..., None], inputs, tf.fill(tf.shape(inputs), -1e9)), axis=1
        )
        return tf.where(tf.reduce_any(mask, axis=1)[:, None], pooled, tf.zeros_like(pooled))


@keras.saving.register_keras_serializable(package="seqapps")
class MaskedMeanPooling(_MaskedPooling):
    """Mean over time of the unpadded steps only."""

    def call(self, inputs, mask=None):
        if mask is None:
            return tf.reduce_mean(inputs, axis=1)
        weights = tf.cast(mask, inputs.dtype)[..., None]
        return tf.math.divide_no_nan(
            tf.reduce_sum(inputs * weights, axis=1), tf.reduce_sum(weights, axis=1)
        )


@keras.saving.register_keras_serializable(package="seqapps")
class OneHot(keras.layers.Layer):
    """Token ids `[batch, time]` to one-hot vectors `[batch, time, num_tokens]`."""

    def __init__(self, num_tokens, **kwargs):
        super().__init__(**kwargs)
        self.num_tokens = num_tokens

    def call(self, token_ids):
        return tf.one_hot(tf.cast(token_ids, "int32"), self.num_tokens, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens}
