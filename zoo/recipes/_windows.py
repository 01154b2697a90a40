"""What both text-generation recipes share: the network's flags and shuffled window batches.

`textgen` (TensorFlow, the entry) and `textgen_ids` (any Keras backend, ids
only) import this module; neither imports the other at module level.
"""

from __future__ import annotations

import argparse

import numpy as np


def add_network_arguments(p: argparse.ArgumentParser) -> None:
    """The network's flags and the window length."""
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    p.add_argument("--units", type=int, default=512)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--window", type=int, default=100, help="characters per training window")


def shuffled_batches(stream: np.ndarray, args: argparse.Namespace, rng: np.random.Generator):
    """Endless `(inputs, targets)` batches of shuffled windows, a new random offset every pass."""
    index = np.arange(args.window)[None, :]
    while True:
        starts = np.arange(int(rng.integers(args.window)), len(stream) - args.window, args.window)
        rng.shuffle(starts)
        for first in range(0, len(starts) - args.batch_size + 1, args.batch_size):
            rows = starts[first : first + args.batch_size, None] + index
            yield stream[rows], stream[rows + 1]
