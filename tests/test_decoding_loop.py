"""The one decode loop (`seqapps.decoding.decode`) on a step function whose answers are known."""

import numpy as np
import pytest
import tensorflow as tf

from seqapps import decoding

PAD, UNK, START, END, A, B = range(6)
# Next-token probabilities by the last token read. Greedy takes A (0.6) and then
# has at best 0.35 per step; B then END has 0.4, which only a beam finds.
TABLE = np.full((6, 6), 1e-6, "float32")
TABLE[START, [A, B]] = [0.6, 0.4]
TABLE[A, [END, A, B]] = [0.3, 0.35, 0.35]
TABLE[B, END] = 1.0


def step(token_ids, state):
    logits = tf.math.log(tf.gather(TABLE, token_ids))
    return logits, {"steps": state["steps"] + 1}


def run(batch=2, **options):
    state = {"steps": tf.zeros([batch, 1])}
    tokens, weights = decoding.decode(
        step,
        state,
        start_ids=tf.fill([batch], START),
        end_id=END,
        excluded_ids=(PAD, UNK, START),
        **options,
    )
    return tokens.numpy().tolist(), weights.numpy()


def test_greedy_takes_the_most_likely_token_each_step_until_max_length():
    tokens, weights = run(max_length=4)
    assert tokens == [[A, A, A, A]] * 2
    assert weights.tolist() == [[1.0] * 4] * 2


def test_beam_search_finds_the_more_likely_whole_output_and_stops_at_the_end():
    tokens, weights = run(max_length=6, beam_size=2)
    assert tokens == [[B]] * 2  # the end token is not returned
    assert weights.tolist() == [[1.0]] * 2


def test_beam_of_one_is_greedy():
    assert run(max_length=5, beam_size=1)[0] == run(max_length=5)[0]


def test_sampling_is_seeded_and_never_writes_excluded_tokens_even_at_infinite_temperature():
    drawn = [run(batch=1, max_length=8, temperature=float("inf"), seed=s)[0][0] for s in range(40)]
    again = [run(batch=1, max_length=8, temperature=float("inf"), seed=s)[0][0] for s in range(40)]
    assert drawn == again
    flat = [t for row in drawn for t in row]
    assert set(flat) <= {PAD, A, B, END} - {END}  # END itself is cut off, padding follows it
    assert {A, B} <= set(flat)


def test_the_loop_runs_inside_a_tf_function():
    function = tf.function(lambda n: run_graph(n))

    def run_graph(n):
        return decoding.decode(
            step,
            {"steps": tf.zeros([1, 1])},
            start_ids=tf.fill([1], START),
            end_id=END,
            max_length=n,
            beam_size=2,
        )[0]

    assert function(tf.constant(6)).numpy().tolist() == [[B]]


def test_a_limit_per_row_gives_each_row_the_answer_it_gets_alone():
    limits = tf.constant([1, 3, 0])
    tokens, weights = run(batch=3, max_length=limits)
    assert tokens == [[A, 0, 0], [A, A, A], [0, 0, 0]]
    assert weights.tolist() == [[1, 0, 0], [1, 1, 1], [0, 0, 0]]
    for beam_size in (1, 3):
        together, _ = run(batch=3, max_length=limits, beam_size=beam_size)
        for row, limit in enumerate([1, 3, 0]):
            alone, _ = run(batch=1, max_length=limit, beam_size=beam_size)
            assert together[row][: len(alone[0])] == alone[0]
            assert not any(together[row][len(alone[0]) :])


def test_a_settled_beam_row_is_not_changed_by_rows_that_search_on():
    # Token C loops on itself almost surely: a row started at C stays live for long.
    # From START, ending at once and A are even: the row settles on the empty output, while a
    # live A beam, could it go on, would outscore it under a strong length penalty.
    c = 6
    table = np.full((7, 7), 1e-6, "float32")
    table[START, [END, A]] = [0.5, 0.5]
    table[A, [A, END]] = [0.999, 0.001]
    table[c, [c, END]] = [0.99, 0.01]

    def looping(token_ids, state):
        return tf.math.log(tf.gather(table, token_ids)), state

    def search(starts):
        tokens, _ = decoding.decode(
            looping,
            {"x": tf.zeros([len(starts), 1])},
            start_ids=tf.constant(starts),
            end_id=END,
            max_length=30,
            excluded_ids=(PAD, UNK, START),
            beam_size=3,
            length_penalty=2.0,
        )
        return [[t for t in row if t] for row in tokens.numpy().tolist()]

    assert search([START])[0] == [] == search([START, c])[0]


def test_max_length_zero_writes_nothing():
    tokens, _ = run(max_length=0)
    assert tokens == [[], []]


@pytest.mark.parametrize("bad", [float("nan"), "0.5", True])
def test_bad_temperatures_are_refused_naming_the_argument(bad):
    with pytest.raises((TypeError, ValueError), match="temperature"):
        decoding.check_sampling_args(bad, None, None)


@pytest.mark.parametrize("bad", [True, "abc", -1, 2**63, 1.5])
def test_bad_seeds_are_refused_naming_the_argument(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        decoding.check_seed(bad)


def repeats(row, size):
    ngrams = [tuple(row[i : i + size]) for i in range(len(row) - size + 1)]
    return len(ngrams) != len(set(ngrams))


def test_no_repeat_ngram_size_takes_the_best_token_that_repeats_nothing():
    assert run(max_length=6)[0][0] == [A] * 6
    assert run(max_length=6, no_repeat_ngram_size=1)[0][0] == [A, B]  # then END
    assert run(max_length=6, no_repeat_ngram_size=2)[0][0] == [A, A, B]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_no_sample_repeats_an_ngram(size):
    # At infinite temperature every token not excluded or banned is as likely.
    for seed in range(10):
        tokens, _ = run(
            batch=3, max_length=20, no_repeat_ngram_size=size, temperature=float("inf"), seed=seed
        )
        for row in tokens:
            written = [t for t in row if t]
            assert not repeats(written, size), written


def test_beam_search_keeps_the_best_output_that_repeats_no_ngram():
    # A loops on itself: without the rule the beam writes A until max_length.
    table = np.full((6, 6), 1e-6, "float32")
    table[START, A] = 1.0
    table[A, [A, B, END]] = [0.9, 0.06, 0.04]
    table[B, END] = 1.0

    def looping(token_ids, state):
        return tf.math.log(tf.gather(table, token_ids)), state

    def search(size):
        tokens, _ = decoding.decode(
            looping,
            {"x": tf.zeros([1, 1])},
            start_ids=tf.constant([START]),
            end_id=END,
            max_length=4,
            excluded_ids=(PAD, UNK, START),
            beam_size=3,
            no_repeat_ngram_size=size,
        )
        return tokens.numpy().tolist()[0]

    assert search(0) == [A, A, A, A]
    assert search(1) == [A, B]
    assert search(2) == [A, A, B]


def test_a_finished_row_does_not_ban_tokens_of_the_others():
    # Row 0 stops after one token; the padding it then "writes" bans nothing for row 1.
    tokens, _ = run(batch=2, max_length=tf.constant([1, 4]), no_repeat_ngram_size=2)
    assert tokens == [[A, 0, 0], [A, A, B]]


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_bad_no_repeat_ngram_sizes_are_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match="no_repeat_ngram_size"):
        decoding.check_no_repeat_ngram_size(bad)
