"""A word's spelling as a vector: character embeddings, a convolution, max over the characters."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqapps")
class CharacterEncoder(keras.layers.Layer):
    """Character ids `[batch, time, chars]` → one vector per token `[batch, time, filters]`.

    The character CNN of Ma and Hovy (2016): embed every character, run a
    convolution of width `kernel_size` along each token, take the maximum over
    its characters (padding excluded). Padding tokens (no characters) are
    masked. Words never seen in training still get a
    vector from their spelling: capitals, digits, suffixes such as `-ly`.

    Example:

    >>> import numpy as np
    >>> encoder = CharacterEncoder(vocabulary_size=10, filters=8)
    >>> encoder(np.ones((2, 5, 6), "int32")).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, vocabulary_size, embedding_dim=32, filters=64, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.filters = filters
        self.kernel_size = kernel_size
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
        self.convolution = keras.layers.Conv1D(
            filters, kernel_size, padding="same", activation="tanh", name="convolution"
        )

    def build(self, input_shape):
        chars = input_shape[-1]
        self.embedding.build((None, chars))
        self.convolution.build((None, chars, self.embedding_dim))
        self.built = True

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[-1]))  # one row per token
        features = self.convolution(self.embedding(flat))
        present = ops.expand_dims(ops.not_equal(flat, 0), -1)
        features = ops.where(present, features, -2.0)  # below tanh's range: never the max
        pooled = ops.max(features, axis=1)
        pooled = ops.where(ops.any(present, axis=1), pooled, 0.0)  # padding tokens: zeros
        return ops.reshape(pooled, (shape[0], shape[1], self.filters))

    def compute_mask(self, char_ids, mask=None):
        # A token without characters is padding.
        return ops.any(ops.not_equal(char_ids, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
        }
