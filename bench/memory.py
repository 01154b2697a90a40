"""Long-range memory: the adding problem and the copy-memory task for SimpleRNN, LSTM and GRU.

Each cell is a `RecurrentStack` of the same width, trained with the same
budget (steps, batch, learning rate) and seeds at each lag T:

- adding (Hochreiter & Schmidhuber, 1997): T random numbers in [0, 1], two of
  them marked; predict the sum of the marked two. Always answering 1 gives a
  mean squared error of about 0.167: the line to beat.
- copy memory: 10 symbols from an alphabet of 8, then T blanks and a
  delimiter, then write the 10 symbols back. Guessing gives 1/8 accuracy.

    python bench/memory.py [--lags 10 50 100 200] [--seeds 1 2] [--steps 600]

Printed: per task, cell and lag, the test MSE (adding) or the accuracy on the
copied symbols (copy), for each seed and their mean, on fresh test sequences.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

SYMBOLS, COPIED = 8, 10


def adding_batch(rng, size, lag):
    values = rng.random((size, lag))
    markers = np.zeros((size, lag))
    for row in range(size):
        first, second = rng.choice(lag, 2, replace=False)
        markers[row, [first, second]] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype("float32")
    return inputs, (values * markers).sum(axis=1, keepdims=True).astype("float32")


def copy_batch(rng, size, lag):
    """Ids: 0 blank, 1..8 symbols, 9 delimiter; targets 0 (blank) until the copy."""
    symbols = rng.integers(1, SYMBOLS + 1, size=(size, COPIED))
    blanks = np.zeros((size, lag), "int64")
    delimiter = np.full((size, 1), SYMBOLS + 1)
    tail = np.zeros((size, COPIED - 1), "int64")
    inputs = np.concatenate([symbols, blanks, delimiter, tail], axis=1)
    targets = np.concatenate([np.zeros((size, COPIED + lag), "int64"), symbols], axis=1)
    return inputs.astype("int32"), targets.astype("int32")


def build(task, cell, units):
    import keras

    from seqapps.layers import RecurrentStack

    if task == "adding":
        inputs = keras.Input((None, 2))
        outputs = keras.layers.Dense(1)(RecurrentStack(cell, units)(inputs))
        loss = "mse"
    else:
        inputs = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(SYMBOLS + 2, 16)(inputs)
        x = RecurrentStack(cell, units, return_sequences=True)(x)
        outputs = keras.layers.Dense(SYMBOLS + 1)(x)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.Model(inputs, outputs), loss


def run(task, cell, lag, seed, steps, units, batch_size=64, learning_rate=1e-3):
    """Trains one model and returns its test MSE (adding) or copy accuracy (copy)."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    make = adding_batch if task == "adding" else copy_batch
    model, loss = build(task, cell, units)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss=loss)
    x, y = make(rng, steps * batch_size, lag)
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    test_x, test_y = make(np.random.default_rng(10_000 + seed), 1000, lag)
    predicted = model.predict(test_x, batch_size=250, verbose=0)
    if task == "adding":
        return float(np.mean((predicted - test_y) ** 2))
    copied = predicted[:, -COPIED:].argmax(-1)
    return float(np.mean(copied == test_y[:, -COPIED:]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=["adding", "copy"], choices=["adding", "copy"])
    p.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    p.add_argument("--lags", nargs="+", type=int, default=[10, 50, 100, 200])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=600, help="training batches of 64 per run")
    p.add_argument("--units", type=int, default=64)
    args = p.parse_args(argv)

    results = {}
    for task in args.tasks:
        measure = "test MSE (trivial 0.167)" if task == "adding" else "copy accuracy (chance 0.125)"
        print(f"\n{task}: {measure}; {args.units} units, {args.steps} batches of 64, Adam 1e-3")
        print(f"{'cell':6} {'T':>5}  " + "  ".join(f"seed {s}" for s in args.seeds) + "    mean")
        for cell in args.cells:
            for lag in args.lags:
                started = time.perf_counter()
                scores = [run(task, cell, lag, s, args.steps, args.units) for s in args.seeds]
                results[task, cell, lag] = scores
                row = "  ".join(f"{s:6.3f}" for s in scores)
                seconds = time.perf_counter() - started
                print(
                    f"{cell:6} {lag:5d}  {row}  {np.mean(scores):6.3f}   ({seconds:.0f} s)",
                    flush=True,
                )
    return results


if __name__ == "__main__":
    main()
