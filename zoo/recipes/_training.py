"""What every recipe's training shares: fit, validate, keep the best, stop on the budget."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from seqapps.zoo.recipes._cards import ZOO_DIR


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
):
    """Fits `epochs_per_round` epochs at a time, then scores `validate(model)`.

    The round with the highest `key` is kept (a `.keras` checkpoint); a round
    without a gain halves the learning rate if `halve_on_plateau`; training
    stops after `epochs`, after `patience` rounds without a gain, or before a
    round that would overrun `minutes`. Prints a JSON line per round.

    Returns `(the best model, its epoch, the history of every round)`.
    """
    from seqapps.tasks import Task

    if not 1 <= epochs_per_round <= epochs:
        raise ValueError(f"need 1 <= epochs_per_round ({epochs_per_round}) <= epochs ({epochs})")
    best, history, waited = None, [], 0
    started = time.time()
    checkpoint = Path(tempfile.mkdtemp()) / "best.keras"
    for epoch in range(epochs_per_round, epochs + 1, epochs_per_round):
        logs = model.fit(data, epochs=epochs_per_round, verbose=0).history
        scores = validate(model)
        spent = (time.time() - started) / 60
        history.append(
            {
                "epoch": epoch,
                "minutes": round(spent, 1),
                "train_loss": round(logs["loss"][-1], 4),
                **scores,
            }
        )
        improved = best is None or scores[key] > best[key]
        if improved:
            best, waited = {"epoch": epoch, **scores}, 0
            model.save_preset(checkpoint, overwrite=True)
        else:
            waited += 1
            if halve_on_plateau:
                rate = model.optimizer.learning_rate
                rate.assign(rate * 0.5)
        print(json.dumps({**history[-1], "best": improved}), flush=True)
        if (patience and waited >= patience) or spent * (
            epoch + epochs_per_round
        ) / epoch > minutes:
            break
    return Task.from_preset(checkpoint), best["epoch"], history


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
