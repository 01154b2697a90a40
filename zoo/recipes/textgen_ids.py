"""Recipe stage: train the text generator's layers on character ids, under any Keras backend.

The main recipe (`textgen.py`) runs on TensorFlow, which reads raw text. This
stage needs only Keras and NumPy, so the same network can be trained on a
machine that has an accelerator but no TensorFlow (Keras on PyTorch or JAX;
cuDNN runs the LSTM on an NVIDIA GPU). Three steps, the first and last on
TensorFlow:

    python -m seqapps.zoo.recipes.textgen --name NAME --write-ids ids/
    KERAS_BACKEND=torch python -m seqapps.zoo.recipes.textgen_ids ids/ --out ids/weights.npz
    python -m seqapps.zoo.recipes.textgen --name NAME --trained-weights ids/weights.npz

`ids/ids.npz` holds the vocabulary, the train works as one id stream and
hamlet's ids (validation); the test works never leave the first step. The
network is `TextGenerator`'s own graph (embedding → dropout → `RecurrentStack`
→ dropout → dense), so its weights load into the task one for one. Training
is the main recipe's: windows of `--window` ids from a random offset per pass,
shuffled; Adam with cosine decay and gradient clipping; after every
`--steps-per-epoch` batches hamlet is read as `--validation-segments` pieces
side by side with the state carried through, and the best weights are kept.
`--steps 0` sizes the schedule to `--time-limit` from the measured speed; the
output records the step count, so `--steps N` repeats the run.

`--stateful` trains by truncated backpropagation through time instead: the
stream is cut into `--batch-size` tracks read window after window, and the
recurrent state passes from each window to the next (gradients stop at the
window's start), as it does when the model reads a text.

`--ema-momentum` validates and keeps an exponential moving average of the
weights instead of the weights as trained (Keras's `use_ema`, swapped in at
every epoch's end by `keras.callbacks.SwapEMAWeights`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from seqapps.cli_options import float_in
from seqapps.zoo.recipes._windows import add_network_arguments, shuffled_batches


def layers(vocabulary_size: int, args: argparse.Namespace, stateful: bool = False):
    """`TextGenerator`'s weighted layers: embedding, recurrent stack and head."""
    from seqapps.layers.recurrent import RecurrentStack

    return (
        keras.layers.Embedding(vocabulary_size, args.embedding_dim, name="embedding"),
        RecurrentStack(
            args.cell,
            args.units,
            num_layers=args.num_layers,
            dropout=args.dropout,
            return_sequences=True,
            return_state=True,
            stateful=stateful,
            recurrent_gain=args.recurrent_gain,
            name="decoder",
        ),
        keras.layers.Dense(vocabulary_size, name="head"),
    )


def build(vocabulary_size: int, args: argparse.Namespace):
    """The training network, ids → logits: `TextGenerator`'s graph, dropout included.

    With `--stateful` its batch size is fixed and the recurrent state passes from
    one batch to the next (see `stateful_batches`).
    """
    embedding, decoder, head = layers(vocabulary_size, args, stateful=args.stateful)
    if args.stateful:
        token_ids = keras.Input(batch_shape=(args.batch_size, args.window), dtype="int32")
    else:
        token_ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Dropout(args.dropout, name="embedding_dropout")(embedding(token_ids))
    x, _ = decoder(x)
    logits = head(keras.layers.Dropout(args.dropout, name="output_dropout")(x))
    return keras.Model(token_ids, logits)


def build_reader(vocabulary_size: int, args: argparse.Namespace):
    """`(ids, states) → (logits, states)` for scoring, with weights of its own (`set_weights`)."""
    embedding, decoder, head = layers(vocabulary_size, args)
    token_ids = keras.Input(shape=(None,), dtype="int32")
    states = [keras.Input(shape=(args.units,), name=name) for name in decoder.state_names]
    x, new_states = decoder(embedding(token_ids), initial_state=states)
    return keras.Model([token_ids, *states], [head(x), *new_states])


def validation_bpc(reader, ids: np.ndarray, segments: int, units: int, chunk: int = 2000) -> float:
    """Bits per character of `ids` read as `segments` pieces side by side, state carried through."""
    size = len(ids) // segments
    pieces = ids[: size * segments].reshape(segments, size)
    num_states = len(reader.inputs) - 1
    states = [np.zeros((segments, units), "float32") for _ in range(num_states)]
    nats, count = 0.0, 0
    for start in range(0, size - 1, chunk):
        inputs = pieces[:, start : min(start + chunk, size - 1)]
        targets = pieces[:, start + 1 : start + 1 + inputs.shape[1]]
        logits, *states = reader.predict_on_batch([inputs.astype("int32"), *states])
        logits = logits.astype("float64")
        logits -= logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nats -= np.take_along_axis(log_probs, targets[..., None], -1).sum()
        count += targets.size
    return nats / count / math.log(2)


def batches_per_pass(stream: np.ndarray, args: argparse.Namespace) -> int:
    """Batches of `stateful_batches` in one pass over the stream."""
    return (len(stream) // args.batch_size - args.window - 1) // args.window


def stateful_batches(stream: np.ndarray, args: argparse.Namespace, rng: np.random.Generator):
    """Endless batches for truncated backpropagation through time.

    The stream is cut into `--batch-size` tracks of equal length; batch k holds
    the k-th window of every track, so row i of a batch continues row i of the
    one before. Every pass starts at a new random offset (the state is reset then).
    """
    track = len(stream) // args.batch_size
    index = np.arange(args.window)[None, :]
    while True:
        starts = np.arange(args.batch_size) * track + int(rng.integers(args.window))
        for k in range(batches_per_pass(stream, args)):
            rows = (starts + k * args.window)[:, None] + index
            yield stream[rows], stream[rows + 1]


def batches(stream: np.ndarray, args: argparse.Namespace, rng: np.random.Generator):
    return (stateful_batches if args.stateful else shuffled_batches)(stream, args, rng)


def save(path: Path, **arrays) -> None:
    """`np.savez` through a temporary file, so an interrupted write keeps the previous file."""
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def compiled(vocabulary_size: int, args: argparse.Namespace, steps: int):
    model = build(vocabulary_size, args)
    schedule = keras.optimizers.schedules.CosineDecay(
        args.learning_rate, steps, alpha=args.final_learning_rate / args.learning_rate
    )
    ema = {"use_ema": True, "ema_momentum": args.ema_momentum} if args.ema_momentum else {}
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0, **ema),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def measured_steps(vocabulary_size: int, data: dict, args: argparse.Namespace) -> int:
    """Batches that fit in `--time-limit` minutes, validation included, timed on a throwaway model."""
    model, reader = compiled(vocabulary_size, args, 1000), build_reader(vocabulary_size, args)
    batch = batches(data["train"], args, np.random.default_rng(0))
    for _ in range(5):
        model.train_on_batch(*next(batch))
    started = time.time()
    for _ in range(30):
        model.train_on_batch(*next(batch))
    seconds = (time.time() - started) / 30
    started = time.time()
    reader.set_weights(model.get_weights())
    validation_bpc(reader, data["validation"], args.validation_segments, args.units)
    per_batch = seconds + (time.time() - started) / args.steps_per_epoch
    epochs = int(args.time_limit * 60 * 0.95 / per_batch) // args.steps_per_epoch
    print(
        f"{seconds * 1000:.1f} ms per batch, {per_batch * 1000:.1f} with validation: "
        f"{epochs} epochs of {args.steps_per_epoch} batches fit in {args.time_limit} min",
        flush=True,
    )
    return max(epochs, 1) * args.steps_per_epoch


class Run(keras.callbacks.Callback):
    """The callback of a training run: state resets, validation, the best weights saved."""

    def __init__(self, reader, data, args, out, vocabulary, settings):
        super().__init__()
        self.reader, self.data, self.args, self.out = reader, data, args, out
        self.vocabulary, self.settings = vocabulary, settings
        self.best, self.history, self.batches = float("inf"), [], 0
        self.per_pass = batches_per_pass(data["train"], args) if args.stateful else 0
        self.started = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_pass and self.batches % self.per_pass == 0:
            self.model.get_layer("decoder").reset_state()  # a new pass begins
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        args = self.args
        self.reader.set_weights(self.model.get_weights())
        bpc = validation_bpc(
            self.reader, self.data["validation"], args.validation_segments, args.units
        )
        minutes = (time.time() - self.started) / 60
        self.history.append(
            {
                "epoch": epoch + 1,
                "minutes": round(minutes, 2),
                "train_loss": round(float(logs["loss"]), 4),
                "validation_bpc": round(bpc, 4),
            }
        )
        print(json.dumps(self.history[-1]), flush=True)
        if bpc < self.best:
            # Saved at once, so a run that is cut short still leaves its best weights.
            self.best = bpc
            save(
                self.out,
                vocabulary=np.array(self.vocabulary),
                settings=json.dumps(self.settings),
                history=json.dumps(self.history),
                backend=keras.backend.backend(),
                **{f"weight_{i}": w for i, w in enumerate(self.reader.get_weights())},
            )
        if not args.steps and minutes > 1.2 * args.time_limit:
            print("slower than measured: stopped before the schedule's end", flush=True)
            self.model.stop_training = True


def train(args: argparse.Namespace) -> dict:
    keras.utils.set_random_seed(args.seed)
    ids, out = Path(args.ids) / "ids.npz", Path(args.out)
    if not ids.is_file():
        raise FileNotFoundError(
            f"{ids} does not exist: write it first with "
            f"`python -m seqapps.zoo.recipes.textgen --name NAME --write-ids {args.ids}`"
        )
    if out.is_dir():
        raise IsADirectoryError(
            f"--out {out} is a folder: give the file, e.g. {out / 'weights.npz'}"
        )
    data = np.load(ids)
    vocabulary = [str(token) for token in data["vocabulary"]]
    vocabulary_size = len(vocabulary) + 2  # padding and [UNK] come first
    data = {split: data[split].astype("int32") for split in ("train", "validation")}

    steps = args.steps or measured_steps(vocabulary_size, data, args)
    keras.utils.set_random_seed(args.seed)
    model, reader = compiled(vocabulary_size, args, steps), build_reader(vocabulary_size, args)
    print(
        f"backend {keras.backend.backend()}, {model.count_params():,} parameters, "
        f"{steps} batches of {args.batch_size}x{args.window} "
        f"({steps * args.batch_size * args.window / len(data['train']):.1f} passes over "
        f"{len(data['train']):,} characters{', state carried' if args.stateful else ''})",
        flush=True,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("ids", "out", "time_limit")}
    settings["steps"] = steps
    run = Run(reader, data, args, out, vocabulary, settings)
    # With EMA, the averaged weights are in the model from each epoch's end (validation, saving)
    # to the next epoch's start.
    swap = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if args.ema_momentum else []
    model.fit(
        batches(data["train"], args, np.random.default_rng(args.seed)),
        epochs=steps // args.steps_per_epoch,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=[*swap, run],
        shuffle=False,
        verbose=0,
    )
    with np.load(out) as saved:
        save(out, **{**saved, "history": json.dumps(run.history)})  # the whole run's history
    print(f"best validation {run.best:.4f} bpc; wrote {out}", flush=True)
    return {"best": run.best, "history": run.history}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("ids", help="the folder `textgen --write-ids` wrote")
    p.add_argument("--out", required=True, help="the .npz to write the best weights to")
    add_network_arguments(p)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--final-learning-rate", type=float, default=1e-4)
    p.add_argument("--steps", type=int, default=0, help="batches in all (0: fit --time-limit)")
    p.add_argument("--steps-per-epoch", type=int, default=500)
    p.add_argument("--time-limit", type=float, default=10.0, help="minutes, for --steps 0")
    p.add_argument("--validation-segments", type=int, default=8)
    p.add_argument(
        "--stateful",
        action="store_true",
        help="carry the state from each window to the next (truncated backpropagation "
        "through time) instead of shuffled windows from a zero state",
    )
    p.add_argument(
        "--recurrent-gain",
        type=float_in(0, open_low=True),
        default=1.0,
        help="scale of the starting recurrent weights (see RecurrentStack)",
    )
    p.add_argument(
        "--ema-momentum",
        type=float_in(0, 1, open_high=True),
        default=0.0,
        help="validate and keep an exponential moving average of the weights (e.g. 0.999); "
        "0: the weights as trained",
    )
    p.add_argument("--seed", type=int, default=1)
    return p


if __name__ == "__main__":
    train(parser().parse_args())
