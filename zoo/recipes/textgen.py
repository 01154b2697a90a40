"""Recipe: the text generation entries, character-level language models of `shakespeare`.

Trains on the train works (38 plays and poems), keeps the checkpoint with the
lowest bits per character on the validation work (hamlet), reports bits per
character on the test works (macbeth, tempest, sonnets; per work and pooled,
weighted by characters, each read once with the state carried through), and
writes the weight file and the card into the zoo:

    python -m seqapps.zoo.recipes.textgen --name textgen-shakespeare-lstm --cell lstm

Training data: the train works as one stream of character ids (each work read
after `START`, a line break), cut into windows of `--window` characters
(inputs) and the same windows shifted by one (targets). Every pass over the
stream starts at a random offset below `--window`, so window boundaries move;
the windows are shuffled and batched. The recurrent state starts from zero in
every window. An "epoch" below is `--steps-per-epoch` batches; after each one
the model is scored on hamlet and saved to the zoo if it is the best so far, so
a usable entry exists whenever the run is stopped (`--time-limit` stops it
cleanly after the epoch that crosses the limit; `--card-only` then measures the
saved file and writes the card). The weight file stores the weights in float16
(half the size); the entry computes in float32, and every reported number is
measured on the stored file.

On a machine without TensorFlow (a GPU machine with Keras on PyTorch or JAX),
train in three steps: `--write-ids DIR` writes the vocabulary and the id
streams, `textgen_ids` trains the same network on them, and
`--trained-weights DIR/weights.npz` makes the entry and measures it here (see
`textgen_ids`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from seqapps.zoo.recipes._calibration import calibrate, refuse_a_second_calibration
from seqapps.zoo.recipes._cards import ZOO_DIR
from seqapps.zoo.recipes._textgen_card import DATASET, write_card
from seqapps.zoo.recipes._windows import add_network_arguments


def load_works(split: str) -> dict[str, str]:
    """`{work: text}` of one split, in the dataset's order."""
    from seqapps import datasets

    works = {}
    for example in datasets.load(DATASET, split=split, as_supervised=False).as_numpy_iterator():
        works[example["work"].decode("utf-8")] = example["text"].decode("utf-8")
    return works


def bits_per_char(model, works: dict[str, str]) -> dict[str, float]:
    """Bits per character per work and pooled (weighted by characters), state carried through."""
    result, nats, chars = {}, 0.0, 0
    for work, text in works.items():
        score = model.score(text)
        result[work] = round(score["bits_per_char"], 4)
        nats += score["nats_per_char"] * score["characters"]
        chars += score["characters"]
    result["pooled"] = round(nats / chars / math.log(2), 4)
    return result


def segments(text: str, count: int) -> list[str]:
    """`text` cut into `count` consecutive pieces, to score them side by side (faster)."""
    size = math.ceil(len(text) / count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def training_batches(model, texts: list[str], args: argparse.Namespace):
    """An endless `tf.data.Dataset` of shuffled `(inputs, targets)` window batches."""
    import numpy as np
    import tensorflow as tf

    from seqapps.zoo.recipes._windows import shuffled_batches

    stream = model.token_stream(texts)
    if args.train_chars:
        stream = stream[: args.train_chars]
    rng = np.random.default_rng(args.seed)
    spec = tf.TensorSpec([args.batch_size, args.window], tf.int32)
    data = tf.data.Dataset.from_generator(
        lambda: shuffled_batches(stream, args, rng), output_signature=(spec, spec)
    )
    return data.prefetch(2), len(stream)


def train_vocabulary(train_works: dict[str, str]) -> list[str]:
    """The characters of the train works, most frequent first: every entry's vocabulary."""
    from seqapps.text import build_vocabulary

    return build_vocabulary(train_works.values(), split="char", max_size=None)


class Checkpoint:
    """Keras callback: scores the validation text after each epoch and saves the best model."""

    def __init__(self, model, validation: list[str], path: Path, args):
        import keras

        class _Callback(keras.callbacks.Callback):
            def on_epoch_end(inner, epoch, logs=None):  # noqa: N805 - the outer self is needed
                self.on_epoch_end(epoch, logs or {})

        self.callback = _Callback()
        self.model, self.validation, self.path, self.args = model, validation, path, args
        self.best, self.best_epoch, self.history = float("inf"), 0, []
        self.started = time.time()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        model = float32_copy(self.model)
        bpc = model.score(self.validation)["bits_per_char"]
        minutes = (time.time() - self.started) / 60
        improved = bpc < self.best
        self.history.append(
            {
                "epoch": epoch + 1,
                "minutes": round(minutes, 1),
                "train_loss": round(logs.get("loss", 0), 4),
                "validation_bpc": round(bpc, 4),
            }
        )
        if improved:
            self.best, self.best_epoch = bpc, epoch + 1
            model.save_preset(self.path, weights_dtype="float16", overwrite=True)
        print(
            f"epoch {epoch + 1}: {minutes:.1f} min, train loss {logs.get('loss', 0):.4f} nats, "
            f"validation {bpc:.4f} bpc{' (best, saved)' if improved else ''}",
            flush=True,
        )
        if self.args.time_limit and minutes >= self.args.time_limit:
            print(f"time limit of {self.args.time_limit} min reached; stopping", flush=True)
            self.model.stop_training = True


def float32_copy(model):
    """`model` itself, or a float32 copy when it computes in another precision.

    A model trained under `mixed_bfloat16` is scored and saved as float32, so the
    entry reads text the same way however it was trained.
    """
    import keras

    if model.dtype_policy.name == "float32":
        return model
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy = type(model).from_config(model.get_config())
    finally:
        keras.config.set_dtype_policy(policy)
    copy.set_weights(model.get_weights())
    return copy


def train(args: argparse.Namespace) -> dict:
    import keras
    import tensorflow as tf

    from seqapps.tasks import TextGenerator

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    if args.bfloat16:
        # Float32 weights, bfloat16 arithmetic: ~1.5x faster on CPUs with AVX512-BF16.
        keras.config.set_dtype_policy("mixed_bfloat16")
    train_works = load_works("train")
    validation_works = load_works("validation")
    weights = ZOO_DIR / "weights" / f"{args.name}.keras"
    if args.dry_run:
        weights = Path("/tmp") / f"{args.name}-dry-run.keras"

    history, provenance = [], None
    if args.write_ids:
        return write_ids(args, train_works, validation_works)
    if args.trained_weights:
        history, provenance = load_trained_weights(args, train_works, weights)
    elif not args.card_only:
        if args.initial_weights:
            # A second stage: the model, vocabulary included, continues from a saved file.
            model = TextGenerator.from_preset(args.initial_weights)
            vocabulary = model.vocabulary
        else:
            vocabulary = train_vocabulary(train_works)
            model = TextGenerator(
                vocabulary,
                cell=args.cell,
                units=args.units,
                num_layers=args.num_layers,
                embedding_dim=args.embedding_dim,
                dropout=args.dropout,
            )
        data, num_tokens = training_batches(model, list(train_works.values()), args)
        total_steps = args.epochs * args.steps_per_epoch
        schedule = keras.optimizers.schedules.CosineDecay(
            args.learning_rate, total_steps, alpha=args.final_learning_rate / args.learning_rate
        )
        model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0))
        print(
            f"{model.count_params():,} parameters, vocabulary {len(vocabulary) + 2}, "
            f"{num_tokens:,} training characters; {args.steps_per_epoch} batches of "
            f"{args.batch_size}x{args.window} per epoch "
            f"({args.steps_per_epoch * args.batch_size * args.window / num_tokens:.2f} passes)",
            flush=True,
        )
        validation = segments("".join(validation_works.values()), args.validation_segments)
        checkpoint = Checkpoint(model, validation, weights, args)
        if args.initial_weights:
            # Only an improvement on the initial weights replaces them.
            checkpoint.best = float32_copy(model).score(validation)["bits_per_char"]
            print(f"initial weights: validation {checkpoint.best:.4f} bpc", flush=True)
        model.fit(
            data,
            epochs=args.epochs,
            steps_per_epoch=args.steps_per_epoch,
            callbacks=[checkpoint.callback],
            shuffle=False,  # the windows are shuffled by training_batches
            verbose=2 if args.verbose else 0,
        )
        history = checkpoint.history
        print(
            f"best epoch {checkpoint.best_epoch}: validation {checkpoint.best:.4f} bpc", flush=True
        )

    keras.config.set_dtype_policy("float32")
    calibration = None
    if args.calibrate and args.card_only:
        refuse_a_second_calibration(args.name)
    if args.calibrate:
        calibration = calibrate(weights, "".join(validation_works.values()))
        print(json.dumps({"calibration": calibration}), flush=True)
    model = TextGenerator.from_preset(weights)
    validation = bits_per_char(model, validation_works)
    test = bits_per_char(model, load_works("test"))
    print(json.dumps({"name": args.name, "validation": validation, "test": test}), flush=True)
    if not args.dry_run:
        measured = {"validation": validation, "test": test, "history": history}
        write_card(
            args, parser, model, weights, measured, len(train_works), provenance, calibration
        )
    return {"validation": validation, "test": test, "history": history}


def write_ids(args, train_works: dict[str, str], validation_works: dict[str, str]) -> dict:
    """Writes `ids.npz` for `textgen_ids`: vocabulary, train id stream and validation ids."""
    import numpy as np

    from seqapps.tasks import TextGenerator

    vocabulary = train_vocabulary(train_works)
    model = TextGenerator(vocabulary, units=8, embedding_dim=8)  # only its tokenizer is used
    stream = model.token_stream(list(train_works.values()))
    if args.train_chars:
        stream = stream[: args.train_chars]
    folder = Path(args.write_ids)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        folder / "ids.npz",
        vocabulary=np.array(vocabulary),
        train=stream.astype("uint8"),
        validation=model.token_stream(list(validation_works.values())).astype("uint8"),
    )
    print(f"wrote {folder / 'ids.npz'}: {len(stream):,} training ids, vocabulary {len(vocabulary)}")
    return {}


def load_trained_weights(args, train_works: dict[str, str], weights: Path):
    """Builds the entry from a `textgen_ids` result and saves it.

    Returns that run's history and `{"backend", "trained_on", "command"}` for the card.
    """
    import numpy as np

    from seqapps.tasks import TextGenerator

    result = np.load(args.trained_weights)
    vocabulary = [str(token) for token in result["vocabulary"]]
    if vocabulary != train_vocabulary(train_works):
        raise ValueError(
            f"{args.trained_weights} was trained on another vocabulary than `shakespeare` train "
            f"gives; write the ids again with --write-ids and retrain"
        )
    settings = json.loads(str(result["settings"]))
    model = TextGenerator(
        vocabulary,
        cell=settings["cell"],
        units=settings["units"],
        num_layers=settings["num_layers"],
        embedding_dim=settings["embedding_dim"],
        dropout=settings["dropout"],
    )
    model.set_weights([result[f"weight_{i}"] for i in range(len(model.weights))])
    model.save_preset(weights, weights_dtype="float16", overwrite=True)
    provenance = {
        "backend": str(result["backend"]),
        "trained_on": f"Keras on {result['backend']}, seed {settings['seed']}",
        "command": ids_command(settings, args.trained_weights),
    }
    return json.loads(str(result["history"])), provenance


def ids_command(settings: dict, out: str) -> str:
    """The `textgen_ids` command line that repeats a run with these settings."""
    from seqapps.zoo.recipes import textgen_ids

    defaults = vars(textgen_ids.parser().parse_args(["ids", "--out", out]))
    parts = []
    for key, value in settings.items():
        if key in defaults and value != defaults[key]:
            flag = f"--{key.replace('_', '-')}"
            parts += [flag] if value is True else [flag, str(value)]
    folder = str(Path(out).parent)
    return f"python -m seqapps.zoo.recipes.textgen_ids {folder} --out {out} " + " ".join(parts)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", required=True, help="zoo entry name, e.g. textgen-shakespeare-lstm")
    add_network_arguments(p)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--final-learning-rate", type=float, default=2e-4, help="cosine decay target")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps-per-epoch", type=int, default=500)
    p.add_argument(
        "--validation-segments",
        type=int,
        default=8,
        help="score hamlet as this many pieces side by side after each epoch (faster)",
    )
    p.add_argument("--train-chars", type=int, default=0, help="use only this many (0: all)")
    p.add_argument(
        "--time-limit", type=float, default=0, help="minutes; stop after the epoch past it"
    )
    p.add_argument(
        "--bfloat16",
        action="store_true",
        help="train in mixed bfloat16 precision (the entry still computes in float32)",
    )
    p.add_argument("--threads", type=int, default=0, help="TensorFlow CPU threads (0: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--initial-weights",
        help="a .keras file to continue training from (a second stage; architecture flags ignored)",
    )
    p.add_argument(
        "--write-ids",
        metavar="DIR",
        help="write the vocabulary and id streams for textgen_ids to DIR, then stop",
    )
    p.add_argument(
        "--trained-weights",
        metavar="NPZ",
        help="make the entry from textgen_ids's result instead of training here",
    )
    p.add_argument(
        "--card-only",
        action="store_true",
        help="measure the saved weight file and write the card; no training",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="divide the logits by a temperature fitted on hamlet, folded into the head "
        "(see _calibration); with --card-only, a stage on the stored file",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="train and report, write nothing to the zoo"
    )
    p.add_argument("--verbose", action="store_true")
    return p


if __name__ == "__main__":
    train(parser().parse_args())
