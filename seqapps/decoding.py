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
    Python (`GenerationConfig` checks every option); inside a SavedModel, where
    no Python check runs, any `temperature <= 0` is greedy.

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

from seqapps.generation import (  # noqa: F401 (the checks are part of this module's API)
    MAX_LENGTH,
    GenerationConfig,
    check_length_penalty,
    check_no_repeat_ngram_size,
    check_sampling_args,
    check_seed,
)

#: Added to the logit of a token that must not be drawn; finite, so that a row
#: whose tokens are all excluded still gives a valid (uniform) distribution.
EXCLUDED = -1e9


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

    def keep_top_k():
        kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
        return tf.where(logits < kth, tf.cast(EXCLUDED, logits.dtype), logits)

    # Skipped unless it filters: a top-k of the whole vocabulary is a full sort per row.
    return tf.cond((top_k > 0) & (top_k < vocabulary_size), keep_top_k, lambda: logits)


def top_p_filter(logits, top_p):
    """Nucleus filter: keeps the most likely tokens whose probabilities sum to `top_p`.

    The most likely token is always kept; `top_p >= 1` keeps every token.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    top_p = tf.cast(top_p, tf.float32)

    def nucleus():
        ordered = tf.sort(logits, axis=-1, direction="DESCENDING")
        # Mass of the tokens ranked above each one: a token is kept while that is below top_p.
        mass_before = tf.cumsum(tf.nn.softmax(ordered, axis=-1), axis=-1, exclusive=True)
        kept = tf.where(mass_before < top_p, ordered, tf.fill(tf.shape(ordered), float("inf")))
        threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
        return tf.where(logits < threshold, tf.cast(EXCLUDED, logits.dtype), logits)

    return tf.cond(top_p < 1.0, nucleus, lambda: logits)


def sample(logits, seed, temperature=1.0, top_k=0, top_p=1.0):
    """One token id per row (int32 `[batch]`), drawn from `softmax(logits / temperature)`.

    Every row draws with the same random numbers (the Gumbel-max trick: the
    most likely token after adding one Gumbel noise vector per `seed`), so a
    row's token depends on its own logits and the seed only, not on the other
    rows or its place in the batch: a text sampled in a batch gets what it gets
    alone. Rows with equal logits draw the same token.

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

    def draw():
        scaled = logits / tf.maximum(temperature, 1e-6)
        # Excluded tokens stay excluded at any temperature (logits / inf would make them 0).
        scaled = tf.where(logits <= EXCLUDED / 2, tf.cast(EXCLUDED, tf.float32), scaled)
        scaled = top_p_filter(top_k_filter(scaled, top_k), top_p)
        uniform = tf.random.stateless_uniform(
            tf.shape(scaled)[-1:], seed=seed, minval=1e-20, maxval=1.0, dtype=tf.float32
        )
        gumbel = -tf.math.log(-tf.math.log(uniform))  # within -3.9 .. 17: excluded stay excluded
        return tf.argmax(scaled + gumbel, axis=-1, output_type=tf.int32)

    return tf.cond(temperature > 0, draw, lambda: greedy(logits))


# -- the decode loop -------------------------------------------------------------
#
# One loop for every generating task. A task gives a step function
# `step(token_ids [batch], state) -> (logits [batch, vocabulary], state)`, where
# `state` is any nested structure of tensors with the batch first (recurrent
# states, an encoder's outputs and mask), and the ids to start and stop with.
# `max_length` is the same in every task: the most tokens written after the
# start token, the end token not counted.


def decode(
    step,
    state,
    config=None,
    *,
    start_ids,
    end_id,
    excluded_ids=(),
    default_max_length=None,
    first_step=0,
    return_state=False,
    **options,
):
    """Writes tokens with `step` until every row has written `end_id` or `max_length` tokens.

    How is the `GenerationConfig` `config` (or one made of `options`, the
    config's fields): `beam_size == 1` samples each token (`temperature == 0`:
    greedy); a larger beam keeps the `beam_size` most likely outputs of each row
    and returns the best, ranked by log-probability divided by the GNMT length
    penalty `((5 + length) / 6) ** length_penalty`. All tensor ops, so it runs
    eagerly, in a `tf.function` and inside an exported SavedModel, where the
    config's fields other than `beam_size` and `no_repeat_ngram_size` may be
    tensors; `max_length` may then be int32 `[batch]`, a limit per row (a row's
    answer never depends on its batch).

    `no_repeat_ngram_size` n > 0 never writes an n-gram (of output ids) twice in
    a row's output (`repeated_ngrams`). Like `excluded_ids`, a banned token's
    logit is pushed down before the softmax, so beam scores are those of the
    distribution over the tokens allowed. With an `end_id` a row can always
    end, as the end token is never in a live row's output.

    Args:
        step: the task's step function (see above).
        state: the state before the first token; batch-first tensors.
        config: the options; None: `GenerationConfig(**options)`.
        start_ids: int32 `[batch]`, the first token read.
        end_id: the token that ends an output (written, then the row stops);
            None for outputs that only `max_length` ends (free text).
        excluded_ids: ids never written (padding, unknown, start); the
            tokenizer knows them.
        default_max_length: the limit (scalar or `[batch]`) where the config's
            `max_length` is None, or a tensor below 0 (`GenerationConfig.tensors`).
        first_step: number of the first step, for the seeds of sampling; a
            caller writing in pieces (streaming) passes how many it has written.
        return_state: also return the state after the last token (sampling only).

    Returns:
        `(tokens, weights)`: int32 `[batch, time]` token ids, each row padded
        with 0 after its end (the end token is not included), and the
        `[batch, time]` float mask of real tokens; then the state if asked.
    """
    if config is None:
        config = GenerationConfig(**options)
    elif options:
        config = config.replace(**options)
    start_ids = tf.convert_to_tensor(start_ids, tf.int32)
    max_length = config.max_length
    if max_length is None:
        if default_max_length is None:
            raise ValueError("decode needs a max_length: in the config or as default_max_length")
        max_length = default_max_length
    elif default_max_length is not None and tf.is_tensor(max_length):
        max_length = tf.where(max_length >= 0, max_length, default_max_length)
    max_length = tf.broadcast_to(tf.cast(max_length, tf.int32), tf.shape(start_ids))
    seed = check_seed(None) if config.seed is None else config.seed
    end_id = -1 if end_id is None else end_id
    if config.beam_size == 1:
        tokens, state = _sample_loop(
            step, state, start_ids, end_id, max_length, excluded_ids, config, seed, first_step
        )
    elif return_state:
        raise ValueError("beam search returns no state: its beams end in different states")
    else:
        tokens = _beam_loop(step, state, start_ids, end_id, max_length, excluded_ids, config)
    # Everything from the end token on is padding, and so is what a finished row "wrote" (-1).
    ended = (tf.cumsum(tf.cast(tf.equal(tokens, end_id), tf.int32), axis=1) > 0) | (tokens < 0)
    longest = tf.reduce_max(tf.reduce_sum(tf.cast(~ended, tf.int32), axis=1))
    longest = tf.maximum(longest, 0)  # the max of an empty batch
    tokens = tf.where(ended, 0, tokens)[:, :longest]
    weights = tf.cast(~ended, tf.float32)[:, :longest]
    return (tokens, weights, state) if return_state else (tokens, weights)


def exclude(logits, excluded_ids):
    """`logits` with the tokens `excluded_ids` pushed to `EXCLUDED`, never to be drawn."""
    if not excluded_ids:
        return logits
    size = tf.shape(logits)[-1]
    mask = tf.reduce_sum(tf.one_hot(list(excluded_ids), size, dtype=logits.dtype), axis=0)
    return logits + mask * EXCLUDED


def repeated_ngrams(history, size, vocabulary):
    """Which next tokens would repeat an n-gram of `history`: float `[batch, vocabulary]`, 1 = banned.

    `history` is int32 `[batch, time]`, what each row has written so far
    (negative ids: nothing, as after a row's end). A token is banned when the
    row's last `size - 1` tokens followed by it already occur in the row;
    `size == 1` bans every token written so far. The n-grams of the input (a
    source text, a prompt) do not count, only those of the output.

    >>> repeated_ngrams(tf.constant([[4, 5, 4]]), 2, 7).numpy().tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]]
    """
    batch = tf.shape(history)[0]
    # Padded on the left, so that every position has `size - 1` tokens before it;
    # the padding (-2) matches no written token, so no n-gram of it is ever banned.
    padded = tf.pad(history, [[0, 0], [size - 1, 0]], constant_values=-2)
    ngrams = tf.signal.frame(padded, size, 1, axis=1)  # [batch, time, size]
    prefix = padded[:, tf.shape(padded)[1] - (size - 1) :]  # the last size - 1 tokens
    follower = ngrams[:, :, -1]
    matches = tf.reduce_all(tf.equal(ngrams[:, :, :-1], prefix[:, None, :]), axis=2)
    matches &= follower >= 0
    rows = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(follower))
    indices = tf.reshape(tf.stack([rows, tf.maximum(follower, 0)], axis=-1), [-1, 2])
    return tf.tensor_scatter_nd_max(
        tf.zeros([batch, vocabulary]), indices, tf.reshape(tf.cast(matches, tf.float32), [-1])
    )


def _allowed(logits, excluded_ids, written, no_repeat_ngram_size):
    """Float32 `logits` with the excluded ids and (under the n-gram rule) repeats of `written` banned."""
    logits = exclude(tf.cast(logits, tf.float32), excluded_ids)
    if no_repeat_ngram_size:
        vocabulary = tf.shape(logits)[-1]
        logits += repeated_ngrams(written, no_repeat_ngram_size, vocabulary) * EXCLUDED
    return logits


def _sample_loop(
    step, state, start_ids, end_id, max_length, excluded_ids, config, seed, first_step
):
    no_repeat_ngram_size = config.no_repeat_ngram_size
    top_k = config.top_k if tf.is_tensor(config.top_k) else min(config.top_k, 2**31 - 1)
    batch = tf.shape(start_ids)[0]
    first_step = tf.cast(first_step, tf.int64)
    # What the rows wrote: one TensorArray entry per step (constant time each), or, where
    # the n-gram rule reads it back every step, a `[batch, time]` tensor one column longer.
    if no_repeat_ngram_size:
        written = tf.zeros([batch, 0], tf.int32)
    else:
        written = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])

    def body(t, last, state, done, written):
        logits, state = step(last, state)
        logits = _allowed(logits, excluded_ids, written, no_repeat_ngram_size)
        if config.greedy:  # known in Python: no draw traced
            token = greedy(logits)
        else:
            seed_pair = step_seed(seed, first_step + tf.cast(t, tf.int64))
            token = sample(logits, seed_pair, config.temperature, top_k, config.top_p)
        output = tf.where(done, -1, token)
        if no_repeat_ngram_size:
            written = tf.concat([written, output[:, None]], axis=1)
        else:
            written = written.write(t, output)
        token = tf.where(done, 0, token)
        done = done | tf.equal(token, end_id) | (t + 1 >= max_length)
        return t + 1, token, state, done, written

    loop_vars = (tf.constant(0), start_ids, state, max_length <= 0, written)
    invariants = None
    if no_repeat_ngram_size:
        # Every loop variable keeps its shape (a batch of rows) but the written tokens, which
        # grow in time.
        shapes = tf.nest.map_structure(_batch_shape, loop_vars[:4])
        invariants = (*shapes, tf.TensorShape([None, None]))
    _, _, state, _, written = tf.while_loop(
        lambda t, last, state, done, written: ~tf.reduce_all(done),
        body,
        loop_vars,
        shape_invariants=invariants,
    )
    return (written if no_repeat_ngram_size else _stacked(written, batch)), state


def _batch_shape(value):
    """The shape of a loop variable with its batch (first) dimension left open."""
    shape = tf.convert_to_tensor(value).shape
    return shape if shape.rank == 0 else tf.TensorShape([None, *shape[1:]])


def _stacked(written, batch):
    """A TensorArray of `[batch]` steps as `[batch, time]` (time may be 0)."""
    return tf.cond(
        written.size() > 0,
        lambda: tf.reshape(tf.transpose(written.stack()), [batch, -1]),
        lambda: tf.zeros([batch, 0], tf.int32),  # nothing to stack (max_length 0)
    )


def _beam_loop(step, state, start_ids, end_id, max_length, excluded_ids, config):
    no_repeat_ngram_size, length_penalty = config.no_repeat_ngram_size, config.length_penalty
    batch = tf.shape(start_ids)[0]
    k = config.beam_size
    # Every row's state, repeated for each of its beams: [batch * k, ...].
    state = tf.nest.map_structure(lambda s: tf.repeat(s, k, axis=0), state)
    last = tf.repeat(start_ids, k)
    # Only the first beam is live at the start, so the first step picks k different tokens.
    scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], -1e9)], 0)[None], [batch, 1])
    done = tf.tile((max_length <= 0)[:, None], [1, k])
    lengths = tf.zeros([batch, k], tf.float32)
    history = tf.zeros([batch, k, 0], tf.int32)

    def body(t, last, state, scores, done, lengths, history):
        # A settled row stops changing (all its beams count as done), so it ends exactly as
        # it would alone, however long the other rows of its batch search on.
        done = done | settled(scores, done, lengths)[:, None]
        logits, state = step(last, state)
        written = tf.reshape(history, [batch * k, -1])
        logits = _allowed(logits, excluded_ids, written, no_repeat_ngram_size)
        vocabulary = tf.shape(logits)[-1]
        log_probs = tf.reshape(tf.nn.log_softmax(logits), [batch, k, vocabulary])
        # A finished beam continues with padding only, at no cost, so its score stays put.
        pad_only = tf.where(tf.range(vocabulary) == 0, 0.0, -1e9)
        log_probs = tf.where(done[:, :, None], pad_only[None, None], log_probs)
        candidates = tf.reshape(scores[:, :, None] + log_probs, [batch, k * vocabulary])
        scores, index = tf.math.top_k(candidates, k)
        beam, token = index // vocabulary, index % vocabulary
        lengths = tf.gather(lengths, beam, batch_dims=1)
        was_done = tf.gather(done, beam, batch_dims=1)
        lengths += tf.cast(~was_done, tf.float32)
        # A row's beams end at its own limit: what they hold then is its answer.
        done = was_done | tf.equal(token, end_id) | (t + 1 >= max_length)[:, None]
        written = tf.where(was_done, -1, token)
        history = tf.concat([tf.gather(history, beam, batch_dims=1), written[:, :, None]], axis=2)
        rows = tf.reshape(beam + tf.range(batch)[:, None] * k, [-1])
        state = tf.nest.map_structure(lambda s: tf.gather(s, rows), state)
        return t + 1, tf.reshape(token, [-1]), state, scores, done, lengths, history

    def penalised(scores, lengths):
        return scores / tf.pow((5.0 + lengths) / 6.0, length_penalty)

    def settled(scores, done, lengths):
        # A row is settled when its best finished output outscores every live
        # one as it stands (the usual beam-search stopping rule).
        normalised = penalised(scores, lengths)
        best_done = tf.reduce_max(tf.where(done, normalised, -1e30), axis=1)
        best_live = tf.reduce_max(tf.where(done, -1e30, normalised), axis=1)
        return best_done >= best_live

    def searching(t, last, state, scores, done, lengths, history):
        return ~tf.reduce_all(settled(scores, done, lengths))

    _, _, _, scores, done, lengths, history = tf.while_loop(
        searching,
        body,
        (tf.constant(0), last, state, scores, done, lengths, history),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            tf.nest.map_structure(lambda s: tf.TensorShape([None, *s.shape[1:]]), state),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k, None]),
        ),
    )
    best = tf.argmax(penalised(scores, lengths), axis=1, output_type=tf.int32)
    return tf.gather(history, best, batch_dims=1)
