"""Adversarial training of the text classifier: the perturbation of the word vectors."""

import tensorflow as tf


def adversarial_perturbation(gradient, vectors, mask, epsilon):
    """The step of length `epsilon · ‖text's vectors‖₂` along the loss's gradient.

    `gradient` is the loss's gradient with respect to the word vectors and
    `vectors` the vectors themselves, both `(batch, steps, dim)`; `mask` marks
    the real words, `(batch, steps)`. Norms are taken per text over its real
    words; padded steps, and a text whose gradient is zero, get no perturbation.

    Miyato et al. (2017) take a fixed length on normalized embeddings; taking it
    relative to the vectors instead leaves the embedding as it is, and the model
    cannot escape the perturbation by growing its vectors.
    """
    real = tf.cast(mask, gradient.dtype)[..., None]
    gradient = gradient * real

    def norm(x):
        return tf.sqrt(tf.reduce_sum(tf.square(x), axis=[1, 2], keepdims=True))

    return epsilon * norm(vectors * real) * tf.math.divide_no_nan(gradient, norm(gradient))
