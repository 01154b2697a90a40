"""What every recipe's training shares: fit, validate, keep the best, stop on the budget."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras

from seqapps.zoo.recipes._cards import ZOO_DIR


def add_training_arguments(
    p, *, batch_size: int, epochs: int, minutes: float, patience: int | None = None
) -> None:
    """The options `train_recipe` reads, with this recipe's defaults."""
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--epochs", type=int, default=epochs, help="at most this many epochs")
    p.add_argument("--minutes", type=float, default=minutes, help="training time budget")
    p.add_argument(
        "--patience",
        type=int,
        default=patience,
        help="stop after this many validation rounds without a gain",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--backup-dir",
        help="keep the run here after every epoch; the same command started again after a "
        "kill resumes there (a new or empty folder; removed when training ends)",
    )
    p.add_argument("--dry-run", action="store_true", help="measure, write no entry")


def train_recipe(
    args, model, inputs, targets, validate, key, *, clipnorm=1.0, augment=None, **options
):
    """Trains `model` on `(inputs, targets)` as the command line says and ships the best round.

    Adam at `--learning-rate` (gradients clipped to `clipnorm`), batches of
    `--batch-size` shuffled by `--seed` (then `augment(dataset)` if given), the
    round with the highest `validate(model)[key]` kept within `--epochs`,
    `--minutes` and `--patience` (`train_selecting_on_validation`, which also
    takes `options`), resumable from `--backup-dir`; written to the zoo unless
    `--dry-run`. Returns `(model as shipped, weight file or None, best epoch, history)`.
    """
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=clipnorm))
    data = model.make_dataset(
        inputs, targets, batch_size=args.batch_size, shuffle=True, seed=args.seed
    )
    if augment is not None:
        data = augment(data)
    model, best_epoch, history = train_selecting_on_validation(
        model,
        data,
        validate,
        key,
        epochs=args.epochs,
        minutes=args.minutes,
        patience=args.patience,
        backup_dir=args.backup_dir,
        **options,
    )
    return (*ship(model, args.name, args.dry_run), best_epoch, history)


class SelectOnValidation(keras.callbacks.Callback):
    """Scores `validate(model)` every `every` epochs and keeps the best round's model.

    Its state (the best model, the history, the minutes spent, the rounds
    without a gain) lives in `folder`, written after every round, so a run
    resumed by `keras.callbacks.BackupAndRestore` goes on where it stopped.
    """

    def __init__(self, validate, key, folder: Path, *, every, patience, minutes, halve_on_plateau):
        super().__init__()
        self.validate, self.key, self.folder = validate, key, folder
        self.every, self.patience, self.minutes = every, patience, minutes
        self.halve_on_plateau = halve_on_plateau
        self.checkpoint, self.state_file = folder / "best.keras", folder / "state.json"
        self.state = {"best": None, "history": [], "waited": 0, "minutes": 0.0}
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())
        self.started = time.time() - 60 * self.state["minutes"]

    def on_epoch_end(self, epoch, logs=None):
        epoch += 1
        if epoch % self.every and epoch != self.params["epochs"]:
            return
        scores = self.validate(self.model)
        spent = (time.time() - self.started) / 60
        state = self.state
        state["history"].append(
            {"epoch": epoch, "minutes": round(spent, 1), "train_loss": round(logs["loss"], 4)}
            | scores
        )
        improved = state["best"] is None or scores[self.key] > state["best"][self.key]
        if improved:
            state["best"], state["waited"] = {"epoch": epoch, **scores}, 0
            self.model.save_preset(self.checkpoint, overwrite=True)
        else:
            state["waited"] += 1
            if self.halve_on_plateau:
                rate = self.model.optimizer.learning_rate
                rate.assign(rate * 0.5)
        state["minutes"] = spent
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.state_file)
        print(json.dumps({**state["history"][-1], "best": improved}), flush=True)
        out_of_patience = self.patience and state["waited"] >= self.patience
        if out_of_patience or spent * (epoch + self.every) / epoch > self.minutes:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        # Before BackupAndRestore removes the folder the checkpoint is in.
        from seqapps.tasks import Task

        self.best_model = Task.from_preset(self.checkpoint)


def train_selecting_on_validation(
    model,
    data,
    validate: Callable,
    key: str,
    *,
    epochs: int,
    minutes: float,
    epochs_per_round: int = 1,
    patience: int | None = None,
    halve_on_plateau: bool = False,
    backup_dir: str | None = None,
):
    """Fits up to `epochs` epochs, scoring `validate(model)` every `epochs_per_round`.

    The round with the highest `key` is kept (a `.keras` checkpoint); a round
    without a gain halves the learning rate if `halve_on_plateau`; training
    stops after `epochs`, after `patience` rounds without a gain, or before a
    round that would overrun `minutes`. Prints a JSON line per round.

    With `backup_dir`, the run is kept there after every epoch (Keras's
    `BackupAndRestore`, and the selection's own state beside it): a killed run
    started again with the same command resumes where it stopped, with the
    same number of epochs in all. The folder is removed when training ends.

    Returns `(the best model, its epoch, the history of every round)`.
    """
    from seqapps.safe_write import backup_and_restore

    if not 1 <= epochs_per_round <= epochs:
        raise ValueError(f"need 1 <= epochs_per_round ({epochs_per_round}) <= epochs ({epochs})")
    callbacks = []
    if backup_dir:
        # Checked (new, empty or a backup) and removed at the end by Keras.
        callbacks.append(backup_and_restore(backup_dir, also=("selection",), data=data))
        folder = Path(backup_dir) / "selection"
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp())
    selection = SelectOnValidation(
        validate,
        key,
        folder,
        every=epochs_per_round,
        patience=patience,
        minutes=minutes,
        halve_on_plateau=halve_on_plateau,
    )
    # The selection goes first: an epoch counts as done for the backup only
    # once its validation round is written.
    model.fit(data, epochs=epochs, callbacks=[selection, *callbacks], verbose=0)
    if backup_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    state = selection.state
    return selection.best_model, state["best"]["epoch"], state["history"]


def ship(model, name: str, dry_run: bool):
    """Writes the entry's float16 weight file (unless `dry_run`); returns `(model as shipped, path)`.

    The model is loaded back from the file, so every metric measured after
    this is of what ships.
    """
    from seqapps.tasks import Task

    if dry_run:
        return model, None
    weights = ZOO_DIR / "weights" / f"{name}.keras"
    model.save_preset(weights, weights_dtype="float16", overwrite=True)
    return Task.from_preset(weights), weights
