"""Pipeline helpers: seeded shuffling, length bucketing with right padding, prepare()."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tensorflow as tf

from seqapps import datasets


def sequences(lengths):
    """Element i is [i+1, i+1, ...] of length lengths[i], so padding (0) is recognisable."""
    return (
        tf.data.Dataset.from_tensor_slices(tf.constant(lengths, tf.int64))
        .enumerate()
        .map(lambda index, length: tf.fill([length], index + 1))
    )


def batches_as_lists(dataset):
    return [tf.nest.map_structure(lambda t: t.numpy().tolist(), batch) for batch in dataset]


def test_shuffle_same_seed_same_order_other_seed_other_order():
    numbers = tf.data.Dataset.range(100)
    first = list(datasets.shuffle(numbers, seed=7).as_numpy_iterator())
    second = list(datasets.shuffle(numbers, seed=7).as_numpy_iterator())
    other = list(datasets.shuffle(numbers, seed=8).as_numpy_iterator())
    assert first == second
    assert sorted(first) == list(range(100))
    assert first != list(range(100)) and other != first


def test_shuffle_reshuffles_each_epoch_reproducibly():
    def two_epochs():
        shuffled = datasets.shuffle(tf.data.Dataset.range(50), seed=3).repeat(2)
        order = list(shuffled.as_numpy_iterator())
        return order[:50], order[50:]

    epoch_1, epoch_2 = two_epochs()
    assert epoch_1 != epoch_2
    assert two_epochs() == (epoch_1, epoch_2)


def test_shuffle_rejects_empty_buffer():
    with pytest.raises(ValueError, match="buffer_size must be at least 1, got 0"):
        datasets.shuffle(tf.data.Dataset.range(3), buffer_size=0)


def test_bucket_by_length_groups_lengths_and_pads_on_the_right():
    dataset = sequences([1, 5, 2, 6, 1, 7])
    batches = batches_as_lists(
        datasets.bucket_by_length(dataset, lambda x: tf.shape(x)[0], [3], batch_size=2)
    )
    assert batches == [
        [[1, 0], [3, 3]],  # the short bucket fills first, with element 3
        [[2, 2, 2, 2, 2, 0], [4, 4, 4, 4, 4, 4]],
        [[5]],  # partial buckets come out at the end
        [[6, 6, 6, 6, 6, 6, 6]],
    ]


def test_bucket_by_length_per_bucket_sizes_and_pairs():
    tokens = sequences([1, 1, 4, 4, 1])
    pairs = tf.data.Dataset.zip(tokens, tokens.map(lambda x: tf.cast(x * 10, tf.int32)))
    batches = datasets.bucket_by_length(
        pairs, lambda x, y: tf.shape(x)[0], [2], batch_sizes=[3, 1], drop_remainder=True
    )
    result = batches_as_lists(batches)
    assert result == [
        ([[3, 3, 3, 3]], [[30, 30, 30, 30]]),
        ([[4, 4, 4, 4]], [[40, 40, 40, 40]]),
        ([[1], [2], [5]], [[10], [20], [50]]),
    ]


def test_bucket_by_length_validates_its_arguments():
    dataset = sequences([1, 2])
    length = lambda x: tf.shape(x)[0]  # noqa: E731
    with pytest.raises(ValueError, match="2 boundaries make 3 buckets, but 2 batch_sizes"):
        datasets.bucket_by_length(dataset, length, [2, 4], batch_sizes=[1, 2])
    with pytest.raises(ValueError, match="either batch_sizes .* or batch_size"):
        datasets.bucket_by_length(dataset, length, [2], batch_sizes=[1, 2], batch_size=2)
    with pytest.raises(ValueError, match="positive and increasing"):
        datasets.bucket_by_length(dataset, length, [4, 2], batch_size=2)


def test_prepare_batches_pads_and_drops_remainder():
    dataset = tf.data.Dataset.zip(sequences([2, 1, 3]), tf.data.Dataset.range(3))
    batches = batches_as_lists(datasets.prepare(dataset, 2, shuffle=False))
    assert batches == [([[1, 1], [2, 0]], [0, 1]), ([[3, 3, 3]], [2])]
    kept = datasets.prepare(dataset, 2, shuffle=False, drop_remainder=True)
    assert len(batches_as_lists(kept)) == 1
    assert kept.element_spec[0].shape.as_list() == [2, None]


def test_prepare_deterministic_mode_gives_identical_batches():
    texts = tf.data.Dataset.range(200).map(lambda i: tf.strings.as_string(i))
    first = batches_as_lists(datasets.prepare(texts, 16, deterministic=True, cache=True))
    second = batches_as_lists(datasets.prepare(texts, 16, deterministic=True, cache=True))
    assert first == second
    flat = [text for batch in first for text in batch]
    assert sorted(flat) == sorted(str(i).encode() for i in range(200))
    assert flat != [str(i).encode() for i in range(200)]  # it did shuffle
    assert batches_as_lists(datasets.prepare(texts, 16, seed=5, deterministic=True)) != first
    assert datasets.prepare(texts, 16, deterministic=True).options().deterministic is True


@pytest.fixture
def as_in_a_fresh_process():
    """No global TensorFlow seed here, as in a new Python: an earlier test in this process (any
    `keras.utils.set_random_seed`) changes what a seeded shuffle draws. Restored afterwards."""
    from tensorflow.python.eager import context

    saved = context.global_seed()
    tf.random.set_seed(None)
    yield
    tf.random.set_seed(saved)


def test_deterministic_batches_are_the_same_in_a_new_process(as_in_a_fresh_process):
    code = (
        "import tensorflow as tf\n"
        "from seqapps import datasets\n"
        "ds = datasets.prepare(tf.data.Dataset.range(40), 8, seed=11, deterministic=True)\n"
        "print([b.numpy().tolist() for b in ds])\n"
    )
    here = datasets.prepare(tf.data.Dataset.range(40), 8, seed=11, deterministic=True)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str([b.numpy().tolist() for b in here])


def test_prepare_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        datasets.prepare(tf.data.Dataset.range(3), 0)


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_bucket_by_length_knows_how_many_batches_it_makes(drop_remainder):
    # lengths < 3: 1, 2, 1 (2 batches of 2); 3..4: 3 (1 of 3); >= 5: 5, 6, 7 (3 of 1)
    dataset = sequences([1, 5, 2, 6, 1, 7, 3]).shuffle(7, seed=1)
    batches = datasets.bucket_by_length(
        dataset,
        lambda x: tf.shape(x)[0],
        [3, 5],
        batch_sizes=[2, 3, 1],
        drop_remainder=drop_remainder,
    )
    assert int(batches.cardinality()) == len(list(batches)) == (4 if drop_remainder else 6)
    unknown = dataset.filter(lambda x: True)  # size unknown: left unknown, not guessed
    assert (
        datasets.bucket_by_length(
            unknown, lambda x: tf.shape(x)[0], [3], batch_size=2
        ).cardinality()
        == tf.data.UNKNOWN_CARDINALITY
    )


def test_fitting_on_bucketed_batches_does_not_warn_that_the_input_ran_out():
    import warnings

    import keras

    tokens = sequences([1, 5, 2, 6, 1, 7, 3, 4])
    pairs = tokens.map(lambda x: (tf.cast(x, tf.float32)[:, None], tf.reduce_sum(x) % 2))
    batches = datasets.bucket_by_length(pairs, lambda x, y: tf.shape(x)[0], [3], batch_size=2)
    model = keras.Sequential([keras.layers.SimpleRNN(2), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(batches, epochs=2, verbose=0)
    assert not [w for w in caught if "ran out of data" in str(w.message)]
