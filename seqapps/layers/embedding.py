"""Word embedding that can start from pretrained vectors, beside or instead of a trained table."""

import keras
from keras import ops

from seqapps.checks import check_float

PRETRAINED_MODES = ("finetune", "frozen", "offset")


@keras.saving.register_keras_serializable(package="seqapps")
class WordEmbedding(keras.layers.Layer):
    """Ids `[batch, time]` → vectors: a pretrained table, optionally beside a trained one.

    Id 0 is padding and is masked. The pretrained rows are filled with
    `set_pretrained` (see `seqapps.text.WordVectors.embedding_init`); they are
    weights of the model, saved with it, so a loaded model needs no vectors file.

    Args:
        input_dim: number of ids.
        pretrained_dim: size of the pretrained vectors.
        trained_dim: size of a second table trained from scratch and
            concatenated after the pretrained vectors (0: none).
        trained_rows: the trained table has rows for the ids below this only
            (default: all), the words the training data has; an id at or above
            it gets zeros there, so a word the training data never showed
            brings its pretrained meaning and nothing else (and the file stays
            small).
        pretrained_mode: `"finetune"` trains the pretrained rows; `"frozen"`
            keeps them; `"offset"` keeps them and trains an offset added to
            them, starting at zero.
        trained_dropout: in training, the share of tokens whose trained part
            is zeros, as for a word the training data never showed: the model
            learns to do with the pretrained vector alone (0: never).

    Example:

    >>> layer = WordEmbedding(10, pretrained_dim=4, trained_dim=2)
    >>> tuple(layer(keras.ops.ones((3, 5), dtype="int32")).shape)
    (3, 5, 6)
    """

    def __init__(
        self,
        input_dim,
        pretrained_dim,
        trained_dim=0,
        trained_rows=None,
        pretrained_mode="finetune",
        trained_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if pretrained_mode not in PRETRAINED_MODES:
            raise ValueError(
                f"pretrained_mode must be one of {PRETRAINED_MODES}, got {pretrained_mode!r}"
            )
        if pretrained_dim < 1 or trained_dim < 0:
            raise ValueError(
                f"pretrained_dim must be 1 or more and trained_dim 0 or more, "
                f"got {pretrained_dim!r} and {trained_dim!r}"
            )
        self.input_dim = int(input_dim)
        self.pretrained_dim = int(pretrained_dim)
        self.trained_dim = int(trained_dim)
        self.trained_rows = None if trained_rows is None else int(trained_rows)
        self.pretrained_mode = pretrained_mode
        self.trained_dropout = check_float(
            trained_dropout, "trained_dropout", low=0, high=1, open_high=True
        )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if trained_dropout else None
        self.supports_masking = True

    def build(self, input_shape=None):
        self.pretrained = self.add_weight(
            shape=(self.input_dim, self.pretrained_dim),
            initializer="zeros",
            trainable=self.pretrained_mode == "finetune",
            name="pretrained",
        )
        self.offset = None
        if self.pretrained_mode == "offset":
            self.offset = self.add_weight(
                shape=(self.input_dim, self.pretrained_dim), initializer="zeros", name="offset"
            )
        self.trained = None
        if self.trained_dim:
            self.trained = self.add_weight(
                shape=(self._trained_rows, self.trained_dim),
                initializer=keras.initializers.RandomUniform(-0.05, 0.05),
                name="trained",
            )
        self.built = True

    @property
    def _trained_rows(self):
        return (
            self.input_dim if self.trained_rows is None else min(self.trained_rows, self.input_dim)
        )

    def set_pretrained(self, matrix):
        """Fills the pretrained rows, `matrix` of shape `(input_dim, pretrained_dim)`."""
        if not self.built:
            self.build()
        if tuple(matrix.shape) != (self.input_dim, self.pretrained_dim):
            raise ValueError(
                f"pretrained matrix has shape {tuple(matrix.shape)}, expected "
                f"{(self.input_dim, self.pretrained_dim)}"
            )
        self.pretrained.assign(ops.cast(matrix, self.pretrained.dtype))

    def table(self):
        """The whole `(input_dim, pretrained_dim + trained_dim)` table `call` looks rows up in."""
        if not self.built:
            self.build()
        return self.call(ops.arange(self.input_dim, dtype="int32"))

    def call(self, ids, training=False):
        ids = ops.cast(ids, "int32")
        vectors = ops.take(self.pretrained, ids, axis=0)
        if self.offset is not None:
            vectors = vectors + ops.take(self.offset, ids, axis=0)
        if self.trained is not None:
            known = ids < self._trained_rows
            trained = ops.take(self.trained, ops.where(known, ids, 0), axis=0)
            if training and self.trained_dropout:
                kept = keras.random.uniform(ops.shape(ids), seed=self.seed_generator)
                known = ops.logical_and(known, kept >= self.trained_dropout)
            trained = trained * ops.cast(known, trained.dtype)[..., None]
            vectors = ops.concatenate([vectors, trained], axis=-1)
        return vectors

    def compute_mask(self, ids, mask=None):
        return ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.pretrained_dim + self.trained_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "pretrained_dim": self.pretrained_dim,
            "trained_dim": self.trained_dim,
            "trained_rows": self.trained_rows,
            "pretrained_mode": self.pretrained_mode,
            "trained_dropout": self.trained_dropout,
            "seed": self.seed,
        }
