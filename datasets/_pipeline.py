"""Input-pipeline helpers shared by every task: shuffling, length bucketing, batching, and the
validation split by a hashed group key.

Deterministic mode: with a fixed ``seed`` and ``deterministic=True``, two runs of the same
program over the same data give the same batches in the same order (``tf.data`` shuffles
seeded per op are reproducible across processes; ``options.deterministic`` keeps parallel
stages in order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

DEFAULT_BUFFER_SIZE = 10_000
# Seed used by prepare(deterministic=True) when none is given.
DEFAULT_SEED = 0


def shuffle(
    dataset: tf.data.Dataset,
    seed: int | None = None,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    *,
    reshuffle_each_iteration: bool = True,
) -> tf.data.Dataset:
    """Shuffles with a ``buffer_size`` window; a fixed ``seed`` gives the same order every run.

    Each epoch still gets a different order (``reshuffle_each_iteration``), but the sequence
    of epoch orders is the same for the same seed.

    >>> import tensorflow as tf
    >>> from seqapps import datasets
    >>> ds = tf.data.Dataset.range(5)
    >>> list(datasets.shuffle(ds, seed=1)) == list(datasets.shuffle(ds, seed=1))
    True
    """
    if buffer_size < 1:
        raise ValueError(f"buffer_size must be at least 1, got {buffer_size}")
    return dataset.shuffle(
        buffer_size, seed=seed, reshuffle_each_iteration=reshuffle_each_iteration
    )


def bucket_by_length(
    dataset: tf.data.Dataset,
    length_fn: Callable[..., tf.Tensor],
    boundaries: Sequence[int],
    batch_sizes: Sequence[int] | None = None,
    *,
    batch_size: int | None = None,
    padding_values=None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches elements of similar length together, padding on the right within each batch.

    Bucket ``i`` holds lengths in ``[boundaries[i-1], boundaries[i])``; give one batch size per
    bucket (``len(boundaries) + 1`` of them) or a single ``batch_size`` for all. Padding is
    0 for numbers and ``""`` for strings unless ``padding_values`` says otherwise, and always
    after the real values, which keeps recurrent layers cuDNN-eligible.

    When ``dataset``'s size is known, the batches' number is counted with one pass of
    ``length_fn`` over it and set as the result's cardinality, so Keras knows an epoch's
    length from the first epoch on (a progress bar with a total, no "Your input ran out of
    data" warning at the first epoch's end).

    Args:
        length_fn: maps an element (its components as arguments, like ``Dataset.map``) to
            its int32/int64 length, e.g. ``lambda tokens, tags: tf.shape(tokens)[0]``.

    >>> import tensorflow as tf
    >>> from seqapps import datasets
    >>> ds = tf.data.Dataset.range(1, 4).map(tf.range)  # [0], [0, 1], [0, 1, 2]
    >>> batches = datasets.bucket_by_length(ds, lambda x: tf.shape(x)[0], [2], batch_size=2)
    >>> [b.numpy().tolist() for b in batches]
    [[[0, 1, 0], [0, 1, 2]], [[0]]]
    """
    boundaries = [int(boundary) for boundary in boundaries]
    if any(b <= 0 for b in boundaries) or boundaries != sorted(set(boundaries)):
        raise ValueError(f"boundaries must be positive and increasing, got {boundaries}")
    if (batch_sizes is None) == (batch_size is None):
        raise ValueError("give either batch_sizes (one per bucket) or batch_size, not both")
    if batch_sizes is None:
        batch_sizes = [batch_size] * (len(boundaries) + 1)
    batch_sizes = [int(size) for size in batch_sizes]
    if len(batch_sizes) != len(boundaries) + 1:
        raise ValueError(
            f"{len(boundaries)} boundaries make {len(boundaries) + 1} buckets, "
            f"but {len(batch_sizes)} batch_sizes were given: {batch_sizes}"
        )
    if any(size < 1 for size in batch_sizes):
        raise ValueError(f"batch sizes must be at least 1, got {batch_sizes}")
    batches = dataset.bucket_by_sequence_length(
        element_length_func=length_fn,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=batch_sizes,
        padding_values=padding_values,
        drop_remainder=drop_remainder,
    )
    if dataset.cardinality() < 0:  # unknown or infinite: nothing to count
        return batches
    per_bucket = np.zeros(len(batch_sizes), np.int64)
    for lengths in dataset.map(length_fn).batch(8192).as_numpy_iterator():
        # Bucket i holds lengths in [boundaries[i-1], boundaries[i]), as tf.data's.
        per_bucket += np.bincount(
            np.searchsorted(boundaries, lengths, side="right"), minlength=len(batch_sizes)
        )
    sizes = np.array(batch_sizes)
    count = per_bucket // sizes if drop_remainder else -(-per_bucket // sizes)
    return batches.apply(tf.data.experimental.assert_cardinality(int(count.sum())))


def prepare(
    dataset: tf.data.Dataset,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    cache: bool = False,
    deterministic: bool = False,
    drop_remainder: bool = False,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
) -> tf.data.Dataset:
    """Cache → shuffle → batch (right-padded) → prefetch, ready for ``model.fit``.

    Variable-length elements (token sequences) are padded on the right to the longest in
    each batch. ``deterministic=True`` fixes the shuffle seed (``seed`` or 0) and keeps every
    stage in order, so two runs give identical batches; ``False`` lets tf.data reorder
    parallel work for speed.

    >>> import tensorflow as tf
    >>> from seqapps import datasets
    >>> ds = tf.data.Dataset.range(10)
    >>> batches = datasets.prepare(ds, 4, seed=3, deterministic=True)
    >>> [len(b) for b in batches]
    [4, 4, 2]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if deterministic and seed is None:
        seed = DEFAULT_SEED
    if cache:
        # Before shuffling, so that every epoch reshuffles the cached elements.
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.padded_batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options)


#: Group keys are hashed into this many buckets (FarmHash64, stable across runs and machines).
_HASH_BUCKETS = 2**62


def _input_key(inputs):
    """The default group key: the input itself (a text as it is, anything else serialized)."""
    parts = [
        part if part.dtype == tf.string and part.shape.rank == 0 else tf.io.serialize_tensor(part)
        for part in tf.nest.flatten(inputs)
    ]
    return parts[0] if len(parts) == 1 else tf.strings.reduce_join(tf.stack(parts), separator="\0")


def hold_out(
    dataset: tf.data.Dataset,
    fraction: float = 0.1,
    key: Callable[..., tf.Tensor] | None = None,
    *,
    what: str = "examples",
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """``(train, held_out)``: a validation split of ``dataset`` by a hashed group key.

    Every element's group key is hashed (``tf.strings.to_hash_bucket_fast``, FarmHash64, the
    same on every run and machine); the groups are ordered by their hash and the last
    ``max(1, round(fraction × groups))`` of them are held out. So the split depends on the data
    alone, not on its order or on a seed; equal keys always fall on one side (all captions of
    an image, every copy of a text); and rows added later move only the groups near the cut.
    One pass over ``dataset`` counts the groups; both results filter it by the hash, in its own
    order, with their sizes known to Keras.

    Args:
        key: maps an element (its components as arguments, like ``Dataset.map``) to a scalar
            string naming its group. The default is the element's input (its first
            component): a text as it is, anything else (an image, token ids) serialized.
        what: the name of the elements in errors, e.g. ``"sentences"``.

    >>> import tensorflow as tf
    >>> from seqapps import datasets
    >>> pairs = tf.data.Dataset.from_tensor_slices((["a", "b", "a", "c"], [0, 1, 0, 1]))
    >>> train, held = datasets.hold_out(pairs, 0.3)
    >>> int(train.cardinality()) + int(held.cardinality())
    4
    """
    from seqapps.checks import check_float

    fraction = check_float(
        fraction, "validation_fraction", low=0, high=1, open_low=True, open_high=True
    )
    group_key = key or (lambda *element: _input_key(element[0]))

    def hashed(*element):
        return tf.strings.to_hash_bucket_fast(group_key(*element), _HASH_BUCKETS)

    hashes = [batch for batch in dataset.map(hashed).batch(8192).as_numpy_iterator()]
    hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.int64)
    groups = np.unique(hashes)
    if len(hashes) < 2:
        raise ValueError(f"need at least 2 {what} to fine-tune, got {len(hashes)}")
    if len(groups) < 2:
        raise ValueError(
            f"all {len(hashes)} {what} are the same, so none is left to validate on; fine-tune "
            f"on at least 2 different {what}, or pass validation_data"
        )
    held = max(1, int(round(len(groups) * fraction)))
    if len(groups) - held < 1:
        raise ValueError(
            f"validation_fraction={fraction} of {len(groups)} different {what} leaves none to "
            f"train on"
        )
    cut = tf.constant(groups[len(groups) - held], tf.int64)
    kept = int((hashes < groups[len(groups) - held]).sum())
    train = dataset.filter(lambda *element: hashed(*element) < cut)
    held_out = dataset.filter(lambda *element: hashed(*element) >= cut)
    return (
        train.apply(tf.data.experimental.assert_cardinality(kept)),
        held_out.apply(tf.data.experimental.assert_cardinality(len(hashes) - kept)),
    )
