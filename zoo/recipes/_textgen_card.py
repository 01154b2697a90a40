"""The card of a text generation entry (`textgen`): its recipe as stages, notes and metrics."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from seqapps.zoo.recipes._calibration import calibration_note
from seqapps.zoo.recipes._cards import (
    CELL_NAMES,
    ZOO_DIR,
    architecture_of,
    recipe_command,
    save_card,
    weights_entry,
)

DATASET = "shakespeare"


def write_card(
    args, parser, model, weights, measured, num_train, provenance=None, calibration=None
) -> None:
    """Writes the card of a `textgen` run: `measured` holds its validation, test and history."""
    validation, test, history = measured["validation"], measured["test"], measured["history"]
    path = ZOO_DIR / "cards" / f"{args.name}.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if not history and previous:
        # --card-only: keep the training log the run wrote.
        history = previous.get("metrics", {}).get("training", [])
    recipe = recipe_command(
        "textgen",
        args,
        parser,
        required=("name",),
        skipped=("verbose", "dry_run", "card_only", "threads", "trained_weights"),
    )
    notes = (
        f"trained {datetime.date.today().isoformat()} on CPU"
        f"{' in mixed bfloat16' if args.bfloat16 else ''}, seed {args.seed}; weights stored "
        f"in float16; metrics.training's validation_bpc reads hamlet as "
        f"{args.validation_segments} pieces side by side (faster, state reset "
        f"{args.validation_segments} times), the validation/test figures read each work whole"
    )
    base = f"python -m seqapps.zoo.recipes.textgen --name {args.name}"
    if provenance:
        # Three steps: ids out of TensorFlow, training under any Keras backend, the entry.
        folder = Path(args.trained_weights).parent
        recipe = (
            f"{base} --write-ids {folder} && KERAS_BACKEND={provenance['backend']} {provenance['command']} "
            f"&& {base} --trained-weights {args.trained_weights}"
            f"{' --calibrate' if calibration else ''}"
        )
        notes = (
            f"trained {datetime.date.today().isoformat()} with {provenance['trained_on']} (textgen_ids); "
            f"weights stored in float16; metrics.training's validation_bpc reads hamlet as "
            f"{args.validation_segments} pieces side by side, the validation/test figures read "
            f"each work whole on TensorFlow"
        )
    elif args.card_only and previous:
        # The stored file measured again, or calibrated as a stage after the recipe's own.
        recipe, notes = previous["recipe"], previous.get("notes", notes)
        if calibration:
            recipe += f" && {base} --card-only --calibrate"
    elif args.initial_weights and previous:
        # Record both stages: the run that made the initial weights, then this one.
        recipe = f"{previous['recipe']} && cp zoo/weights/{weights.name} stage1.keras && {recipe}"
        history = [*previous["metrics"].get("training", []), {"stage": 2}, *history]
    if calibration:
        notes += "; " + calibration_note(calibration)
    architecture = architecture_of(model)
    card = {
        "name": args.name,
        "task": model.task_name,
        "description": (
            f"Character-level English language model of Shakespeare's plays and poems: "
            f"character embedding ({model.embedding_dim}) → {model.num_layers}-layer "
            f"{CELL_NAMES[model.cell]} ({model.units} units) → softmax over "
            f"{architecture['vocabulary_size']} ids; writes text and scores it in bits per character."
        ),
        "architecture": architecture,
        "weights": weights_entry(weights),
        "num_parameters": int(model.count_params()),
        "dataset": {
            "name": DATASET,
            "train": f"train ({num_train} works)",
            "selection": "validation (hamlet) bits per character after each epoch, lowest kept",
            "test": "test (macbeth, tempest, sonnets)",
        },
        "metrics": {
            "test": {"bits_per_char": test},
            "validation": {"bits_per_char": validation},
            "evaluation": "each work read once from the start state, state carried through; "
            "pooled = weighted by characters",
            "training": history,
        },
        "license": "Apache-2.0 (weights); training data public-domain Project Gutenberg texts "
        "via Open Shakespeare 0.6 (CC-BY-2.5 packaging)",
        "recipe": recipe,
        "notes": notes,
    }
    print(f"wrote {weights} and {save_card(card)}")
