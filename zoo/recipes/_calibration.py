"""Recipe stage: a text generator's temperature, fitted on the validation text and folded into its head.

A character model that over-fits its training works is over-confident on others:
its logits divided by a temperature T > 1 give fewer bits per character on a work
it has not read (temperature scaling, Guo et al. 2017, "On calibration of modern
neural networks"). T is the one number that minimises the validation text's
loss, found by golden-section search (the loss is convex in 1/T), and the head's
kernel and bias are divided by it, so the entry computes and serves as before.
Greedy writing is unchanged (the arg max of logits / T is the arg max of
logits); sampling at a temperature samples the calibrated distribution.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: Characters read per call while collecting the validation logits.
CHUNK = 2000
#: How the card's note of the stage begins.
CALIBRATION_NOTE = "logits divided by a temperature"


def validation_logits(model, text: str) -> tuple[np.ndarray, np.ndarray]:
    """`(logits [characters, vocabulary], targets [characters])` of `text` read as `score`
    reads it: once from the start state, the state carried through."""
    import tensorflow as tf

    from seqapps.tasks.text_scoring import traced_read

    targets = np.asarray(model.token_ids(text), "int32")
    inputs = np.concatenate([[model.start_id], targets[:-1]]).astype("int32")[None]
    read, state, pieces = traced_read(model), model.zero_state(1), []
    for start in range(0, len(targets), CHUNK):
        logits, state = read(tf.constant(inputs[:, start : start + CHUNK]), state)
        pieces.append(logits.numpy()[0])
    return np.concatenate(pieces), targets


def mean_nats(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    scaled = logits.astype("float64") / temperature
    top = scaled.max(-1)
    log_total = top + np.log(np.exp(scaled - top[:, None]).sum(-1))
    return float((log_total - scaled[np.arange(len(targets)), targets]).mean())


def fitted_temperature(logits: np.ndarray, targets: np.ndarray, steps: int = 40) -> float:
    """The temperature in [1/4, 4] with the lowest mean loss: golden-section search on 1/T."""
    low, high = 0.25, 4.0
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = mean_nats(logits, targets, 1 / a), mean_nats(logits, targets, 1 / b)
    for _ in range(steps):
        if loss_a < loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = mean_nats(logits, targets, 1 / a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = mean_nats(logits, targets, 1 / b)
    return 2 / (low + high)


def calibrate(weights: Path, validation_text: str) -> dict:
    """Fits the temperature of the entry in `weights` on `validation_text`, divides its head by
    it and saves the file again (float16, as the recipe stores it).

    Returns `{"temperature", "validation_bpc_before", "validation_bpc_after"}`, measured on
    the collected logits (the stored file is measured again by the recipe).
    """
    from seqapps.tasks import TextGenerator

    model = TextGenerator.from_preset(weights)
    logits, targets = validation_logits(model, validation_text)
    temperature = fitted_temperature(logits, targets)
    head = model.get_layer("head")
    head.set_weights([w / temperature for w in head.get_weights()])
    model.save_preset(weights, weights_dtype="float16", overwrite=True)
    bits = 1 / math.log(2)
    return {
        "temperature": round(temperature, 4),
        "validation_bpc_before": round(mean_nats(logits, targets, 1.0) * bits, 4),
        "validation_bpc_after": round(mean_nats(logits, targets, temperature) * bits, 4),
    }


def refuse_a_second_calibration(name: str) -> None:
    """Refuses to calibrate a stored entry whose card says it is calibrated: a second fit
    would find about 1 and its note would hide the first."""
    from seqapps.zoo.recipes._cards import ZOO_DIR

    card = ZOO_DIR / "cards" / f"{name}.json"
    if card.exists() and CALIBRATION_NOTE in card.read_text(encoding="utf-8"):
        raise ValueError(f"{name} is calibrated already (see its card's notes); nothing to do")


def calibration_note(calibration: dict) -> str:
    """What the card's notes say of the stage."""
    return (
        f"{CALIBRATION_NOTE} of {calibration['temperature']} fitted on the "
        f"validation work and folded into the head (validation "
        f"{calibration['validation_bpc_before']} → {calibration['validation_bpc_after']} bpc; "
        f"recipe stage `--calibrate`)"
    )
