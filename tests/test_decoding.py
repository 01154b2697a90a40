import numpy as np
import pytest
import tensorflow as tf

from seqapps import decoding

LOGITS = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]]))


def draws(logits, count=400, seed=11, **kwargs):
    """`count` draws from one row of logits, one seed each."""
    seeds = tf.stack(
        [tf.fill([count], tf.constant(seed, tf.int64)), tf.range(count, dtype=tf.int64)], 1
    )
    one = lambda pair: decoding.sample(logits, pair, **kwargs)[0]  # noqa: E731
    return tf.function(lambda: tf.map_fn(one, seeds, fn_output_signature=tf.int32))().numpy()


def test_temperature_zero_is_greedy_whatever_the_filters():
    logits = tf.constant([[0.1, 3.0, 2.9], [5.0, -1.0, 4.0]])
    for seed in range(5):
        ids = decoding.sample(logits, decoding.step_seed(seed, 0), temperature=0.0, top_p=0.1)
        assert ids.numpy().tolist() == [1, 0]


def test_same_seed_same_draws_other_seed_other_draws():
    first = draws(LOGITS, temperature=1.0)
    assert (draws(LOGITS, temperature=1.0) == first).all()
    assert (draws(LOGITS, seed=12, temperature=1.0) != first).any()


def test_a_row_draws_what_it_draws_alone_wherever_it_sits_in_the_batch():
    rows = tf.math.log(tf.constant([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]]))
    for seed in range(30):
        seed = decoding.step_seed(seed, 3)
        alone = decoding.sample(LOGITS, seed).numpy().tolist()
        batch = tf.concat([rows[:1], LOGITS, rows[1:]], 0)
        assert decoding.sample(batch, seed).numpy().tolist()[1] == alone[0]
        assert decoding.sample(tf.concat([LOGITS, rows], 0), seed).numpy()[0] == alone[0]


def test_draws_follow_the_softmax_at_temperature_one():
    frequencies = np.bincount(draws(LOGITS, count=4000), minlength=4) / 4000
    np.testing.assert_allclose(frequencies, [0.5, 0.3, 0.15, 0.05], atol=0.03)


def test_low_temperature_sharpens_high_temperature_flattens():
    cold = np.bincount(draws(LOGITS, count=2000, temperature=0.3), minlength=4) / 2000
    hot = np.bincount(draws(LOGITS, count=2000, temperature=3.0), minlength=4) / 2000
    assert cold[0] > 0.8
    assert hot[3] > 0.12  # 0.05 at temperature 1, 0.16 at 3


def test_top_k_draws_only_among_the_k_most_likely():
    assert set(draws(LOGITS, top_k=2).tolist()) == {0, 1}
    assert set(draws(LOGITS, top_k=1).tolist()) == {0}


def test_top_k_beyond_the_vocabulary_keeps_every_token():
    assert set(draws(LOGITS, count=2000, top_k=50).tolist()) == {0, 1, 2, 3}


def test_top_p_keeps_the_smallest_set_covering_the_mass():
    # 0.5 < 0.7, 0.5 + 0.3 >= 0.7: the two most likely tokens.
    assert set(draws(LOGITS, top_p=0.7).tolist()) == {0, 1}
    assert set(draws(LOGITS, top_p=0.01).tolist()) == {0}
    assert set(draws(LOGITS, count=2000, top_p=1.0).tolist()) == {0, 1, 2, 3}


def test_excluded_tokens_are_never_drawn():
    logits = LOGITS + tf.constant([decoding.EXCLUDED, 0.0, 0.0, 0.0])
    assert 0 not in set(draws(logits, count=2000).tolist())


def test_python_checks_name_the_bad_value():
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        decoding.check_sampling_args(-0.5, None, None)
    with pytest.raises(ValueError, match="top_p must lie in"):
        decoding.check_sampling_args(1.0, None, 1.5)
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        decoding.check_sampling_args(1.0, -3, None)
    assert decoding.check_sampling_args(0, None, None) == (0.0, 0, 1.0)


def test_sampling_runs_inside_a_traced_function():
    traced = tf.function(decoding.sample)
    expected = decoding.sample(LOGITS, decoding.step_seed(3, 7), 0.8, 2, 0.9)
    got = traced(
        LOGITS, decoding.step_seed(3, 7), tf.constant(0.8), tf.constant(2), tf.constant(0.9)
    )
    assert got.numpy().tolist() == expected.numpy().tolist()
