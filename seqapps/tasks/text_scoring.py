"""Scoring raw text with a text generator: nats and bits per character, perplexity.

Each text is read once from the start state, in chunks with the recurrent state
carried from one chunk to the next (`TextGenerator.score`).
"""

import math

import numpy as np
import tensorflow as tf


def score_streams(model, streams, batch_size, chunk):
    """`TextGenerator.score`'s figures for `streams`, one array of token ids per text.

    Empty streams are skipped; `chunk` is how many steps `model.read` takes at once.
    """
    streams = [s for s in streams if len(s)]
    if not streams:
        raise ValueError("score needs at least one non-empty text")
    # Longest first, so that each batch pads little.
    streams.sort(key=len, reverse=True)
    total_nats, total_tokens = 0.0, 0
    for start in range(0, len(streams), batch_size):
        nats, tokens = _score_batch(model, streams[start : start + batch_size], chunk)
        total_nats += nats
        total_tokens += tokens
    unknown = int(sum((s == 1).sum() for s in streams))
    nats_per_char = total_nats / total_tokens
    return {
        "nats_per_char": nats_per_char,
        "bits_per_char": nats_per_char / math.log(2),
        "perplexity": math.exp(nats_per_char),
        "characters": total_tokens,
        "unknown_characters": unknown,
    }


def traced_read(model):
    """`model.read` traced once for any `[batch, time]` of int32 ids (eagerly, each step is a
    Python call)."""
    spec = [tf.TensorSpec([None, None], tf.int32), model.state_spec()]
    return model._traced("read", None, model.read, spec)


def _score_batch(model, streams, chunk):
    length = len(streams[0])
    targets = np.zeros([len(streams), length], "int32")
    for row, stream in enumerate(streams):
        targets[row, : len(stream)] = stream
    inputs = np.concatenate(
        [np.full([len(streams), 1], model.start_id, "int32"), targets[:, :-1]], 1
    )
    weights = np.arange(length)[None, :] < np.array([len(s) for s in streams])[:, None]
    read = traced_read(model)
    state = model.zero_state(len(streams))
    nats = 0.0
    for start in range(0, length, chunk):
        logits, state = read(tf.constant(inputs[:, start : start + chunk]), state)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            targets[:, start : start + chunk], logits
        ).numpy()
        nats += float((loss * weights[:, start : start + chunk]).sum(dtype="float64"))
    return nats, int(weights.sum())
