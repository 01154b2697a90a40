"""A task's word-vector layer, trained from scratch or started from pretrained vectors.

The classifier and the tagger build their word vectors the same way, so a
model that starts from GloVe (`seqapps.text.load_vectors`) is built by one
function, `built_from_vectors`, whatever its task.
"""

import keras

from seqapps.layers import WordEmbedding


def word_embedding(
    vocabulary_size,
    embedding_dim,
    *,
    pretrained_dim=0,
    pretrained_mode="finetune",
    trained_rows=None,
    trained_dropout=0.0,
    dtype=None,
):
    """The `"embedding"` layer: a trained `keras.layers.Embedding` when `pretrained_dim` is 0,
    else a `WordEmbedding` (pretrained rows, with `embedding_dim` trained ones beside them)."""
    if trained_dropout and not pretrained_dim:
        raise ValueError("trained word dropout needs pretrained vectors (pretrained_dim > 0)")
    if pretrained_dim:
        return WordEmbedding(
            vocabulary_size,
            pretrained_dim,
            trained_dim=embedding_dim,
            trained_rows=trained_rows,
            pretrained_mode=pretrained_mode,
            trained_dropout=trained_dropout,
            dtype=dtype,
            name="embedding",
        )
    return keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, dtype=dtype, name="embedding"
    )


def built_from_vectors(cls, vectors, trained_vocabulary, *args, vocabulary_size, seed=0, **kwargs):
    """`cls(vocabulary, *args, **kwargs)` whose word vectors start from `vectors` (a `WordVectors`).

    The vocabulary is `trained_vocabulary` (the words the training data shows
    often enough to learn), then the most frequent words of `vectors` it lacks,
    up to `vocabulary_size` words in all: a word the training data never shows
    still has its pretrained meaning at test time and after `finetune`. Only
    the trained words get rows in the table trained from scratch
    (`embedding_dim`, default 0 for none). Returns the model and the
    `EmbeddingInit` (its `missing` words started random).
    """
    trained_vocabulary = list(trained_vocabulary)
    vocabulary = vectors.extend_vocabulary(trained_vocabulary, vocabulary_size)
    kwargs.setdefault("embedding_dim", 0)
    model = cls(
        vocabulary,
        *args,
        pretrained_dim=vectors.dim,
        trained_rows=len(trained_vocabulary) + 2,  # + padding and [UNK]
        **kwargs,
    )
    init = vectors.embedding_init(vocabulary, seed=seed)
    model.get_layer("embedding").set_pretrained(init.matrix)
    return model, init
