"""A training backup that resumes exactly: the weights, the epoch, the early-stopping state and the
shuffling, written together after every epoch."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import keras
import numpy as np

#: The pointer to the newest complete state; replaced atomically after every epoch.
POINTER = "training_metadata.json"
STATE_FOLDER = re.compile(r"^(state-\d+|\.staging)$")


class ExactBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose resumed run ends as the unbroken one would.

    Keras's own backup keeps the weights and the epoch only: a resumed run
    forgot the early-stopping counter and the best weights seen before the
    kill (so it ran more epochs and kept other weights), restarted the
    dataset's shuffling from its first epoch, and a kill between its two
    writes paired one epoch's weights with another's count. Here every epoch's
    state is written into a new folder (`state-N`: weights with the optimizer,
    the best weights so far) and then one small pointer file is replaced
    atomically, so a kill at any moment leaves the previous epoch's complete
    state. On resume, `early_stopping` gets its counters and best weights
    back, and `data` (the training dataset) is re-shuffled as many times as
    the epochs already run, so the next epoch sees the order it would have.

    `early_stopping` must come before this callback in the list given to
    `fit`: it resets itself when training begins, and then gets its state.
    """

    def __init__(self, backup_dir, *, early_stopping=None, data=None):
        super().__init__(str(backup_dir))
        self.folder = Path(backup_dir)
        self.early_stopping, self.data = early_stopping, data

    def _load_model(self):
        pointer = self.folder / POINTER
        if not pointer.exists():
            return
        state = json.loads(pointer.read_text())
        if "folder" not in state:
            raise ValueError(
                f"{self.folder} holds a training backup of another kind (no 'folder' in "
                f"{POINTER}); remove the folder to start afresh"
            )
        folder = self.folder / state["folder"]
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(folder / "latest.weights.h5")
        epoch = state["epoch"]
        self.model._initial_epoch = epoch
        stop = self.early_stopping
        if stop is not None and state.get("early_stopping"):
            stopping = state["early_stopping"]
            stop.wait, stop.best_epoch = stopping["wait"], stopping["best_epoch"]
            stop.stopped_epoch, stop.best = stopping["stopped_epoch"], stopping["best"]
            if (folder / "best.npz").exists():
                with np.load(folder / "best.npz") as arrays:
                    stop.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
            if stop.stopped_epoch:  # the run had stopped early: nothing is left to train
                self.model._initial_epoch = self.params["epochs"]
        if self.data is not None:
            # Each iterator of a shuffled dataset draws the next shuffling seeds. Keras's
            # `fit` (`EpochIterator`) makes two per epoch of a dataset of known size (at the
            # epoch's start and after its last batch), one otherwise; the resume test
            # catches a change.
            per_epoch = 2 if int(self.data.cardinality()) > 0 else 1
            for _ in range(per_epoch * epoch):
                iter(self.data)

    def _save_model(self):
        staging = self.folder / ".staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.model.save_weights(staging / "latest.weights.h5")
        state = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        stop = self.early_stopping
        if stop is not None:
            best = None if stop.best is None else float(stop.best)
            state["early_stopping"] = {
                "wait": stop.wait,
                "best": best,
                "best_epoch": stop.best_epoch,
                "stopped_epoch": stop.stopped_epoch,
            }
            if stop.best_weights is not None:
                np.savez(staging / "best.npz", *stop.best_weights)
        state["folder"] = f"state-{self._current_epoch}"
        target = self.folder / state["folder"]
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        temporary = self.folder / f"{POINTER}.tmp"
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.folder / POINTER)
        for old in self.folder.glob("state-*"):
            if old.name != state["folder"]:
                shutil.rmtree(old, ignore_errors=True)
