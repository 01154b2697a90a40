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


def add_backup_argument(p) -> None:
    """`--backup-dir`, for `train_selecting_on_validation(backup_dir=...)`."""
    p.add_argument(
        "--backup-dir",
        help="keep the run here after every epoch; the same command started again after a "
        "kill resumes there (a new or empty folder; removed when training ends)",
    )


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
