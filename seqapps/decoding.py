"""Choosing the next token from a model's logits: greedy, temperature, top-k, top-p.

Written once for every generating task (text generation, translation,
captioning). Every function takes logits `[batch, vocabulary]` and works on
tensors, so the same code runs eagerly, inside a `tf.function`, and inside an
exported SavedModel's `tf.while_loop`.

Randomness is stateless: a draw is a function of the logits and a seed pair
`[seed, step]` (see `step_seed`), so a given seed gives the same text in
Python, on the command line and in the exported model, however the steps are
scheduled.

Temperature:
    `temperature == 0` means greedy decoding (the most likely token, `top_k`
    and `top_p` then have no effect). A negative temperature is an error in
    Python (`check_sampling_args`); inside a SavedModel, where no Python check
    runs, any `temperature <= 0` is greedy.

Example:

>>> import tensorflow as tf
>>> logits = tf.constant([[2.0, 1.0, 0.1]])
>>> sample(logits, step_seed(7, 0), temperature=0.0).numpy().tolist()
[0]
>>> sample(logits, step_seed(7, 0), temperature=1.0, top_k=1).numpy().tolist()
[0]
"""

from __future__ import annotations

import tensorflow as tf

#: Added to the logit of a token that must not be drawn; finite, so that a row
#: whose tokens are all excluded still gives a valid (uniform) distribution.
EXCLUDED = -1e9


def check_sampling_args(
    temperature: float, top_k: int | None, top_p: float | None
) -> tuple[float, int, float]:
    """Validates Python sampling arguments; returns `(temperature, top_k, top_p)` as tensors accept.

    `top_k=None` (or 0) and `top_p=None` (or 1.0) switch those filters off; a
    `top_k` larger than the vocabulary keeps the whole vocabulary.
    """
    temperature = float(temperature)
    if temperature < 0:
        raise ValueError(
            f"temperature must be >= 0 (0 = greedy), got {temperature}; "
            f"use 0 for the most likely text or e.g. 0.8 to sample"
        )
    if top_k is None:
        top_k = 0
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if top_p is None:
        top_p = 1.0
    top_p = float(top_p)
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must lie in (0, 1], got {top_p}; use None to switch it off")
    return temperature, top_k, top_p


def step_seed(seed, step):
    """The stateless seed pair of one decoding step: `[seed, step]` as int64."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])


def greedy(logits):
    """The most likely token of each row, as int32 `[batch]`."""
    return tf.argmax(logits, axis=-1, output_type=tf.int32)


def top_k_filter(logits, top_k):
    """Keeps the `top_k` largest logits of each row; `top_k <= 0` or beyond the vocabulary keeps all.

    Tokens tied with the k-th logit are kept as well.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    vocabulary_size = tf.shape(logits)[-1]
    top_k = tf.cast(top_k, tf.int32)
    k = tf.where((top_k <= 0) | (top_k > vocabulary_size), vocabulary_size, top_k)
    kth = tf.math.top_k(logits, k=k).values[:, -1:]
    return tf.where(logits < kth, tf.cast(EXCLUDED, logits.dtype), logits)


def top_p_filter(logits, top_p):
    """Nucleus filter: keeps the most likely tokens whose probabilities sum to `top_p`.

    The most likely token is always kept; `top_p >= 1` keeps every token.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    top_p = tf.cast(top_p, tf.float32)
    ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
    # Mass of the tokens ranked above each one: a token is kept while that is below top_p.
    mass_before = tf.cumsum(tf.nn.softmax(ordered, axis=-1), axis=-1, exclusive=True)
    kept = tf.where(mass_before < top_p, ordered, tf.fill(tf.shape(ordered), float("inf")))
    threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
    filtered = tf.where(logits < threshold, tf.cast(EXCLUDED, logits.dtype), logits)
    return tf.where(top_p >= 1.0, logits, filtered)


def sample(logits, seed, temperature=1.0, top_k=0, top_p=1.0):
    """One token id per row (int32 `[batch]`), drawn from `softmax(logits / temperature)`.

    Args:
        logits: float `[batch, vocabulary]`.
        seed: int64 `[2]` stateless seed, e.g. `step_seed(seed, step)`.
        temperature: below 1 sharpens, above 1 flattens; `<= 0` is greedy.
        top_k: draw among the `top_k` most likely tokens only (0: all).
        top_p: draw among the most likely tokens covering this probability
            mass (1.0: all).
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    temperature = tf.cast(temperature, tf.float32)
    scaled = logits / tf.maximum(temperature, 1e-6)
    scaled = top_p_filter(top_k_filter(scaled, top_k), top_p)
    drawn = tf.random.stateless_categorical(scaled, 1, seed=seed, dtype=tf.int32)[:, 0]
    return tf.where(temperature > 0, drawn, greedy(logits))
