"""What every recipe writes into the zoo: the card's shared fields and the command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ZOO_DIR = Path(__file__).resolve().parents[1]
CELL_NAMES = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def architecture_of(model) -> dict[str, Any]:
    """The model's config for the card: everything but the vocabulary, plus its size."""
    config = model.get_config()
    architecture = {key: value for key, value in config.items() if key != "vocabulary"}
    architecture["vocabulary_size"] = len(config["vocabulary"]) + 2
    return architecture


def weights_entry(weights: Path) -> dict[str, Any]:
    """The card's `weights` field for a file under `zoo/weights/`."""
    from seqapps.zoo import sha256_of

    return {
        "file": f"weights/{weights.name}",
        "url": None,
        "sha256": sha256_of(weights),
        "size_bytes": weights.stat().st_size,
    }


def save_card(card: dict[str, Any]) -> Path:
    """Writes the card; the `usage` section of an earlier card of that name is kept.

    A recipe knows the numbers, not what the entry is for: after retraining, rerun
    `python -m seqapps.zoo.recipes.card_examples NAME --write` for the new outputs.
    """
    path = ZOO_DIR / "cards" / f"{card['name']}.json"
    if "usage" not in card and path.exists():
        earlier = json.loads(path.read_text(encoding="utf-8")).get("usage")
        if earlier:
            card = {**card, "usage": earlier}
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path


def options_of(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The command line's values of `names`, as keywords: a recipe's model options are named
    after the model's arguments."""
    return {name: getattr(args, name) for name in names}


def budget_note(args: argparse.Namespace, rounds: str = "epochs") -> str:
    """The training budget as a card states it, so siblings can be compared on the same budget."""
    note = f"budget: at most {args.epochs} epochs or {args.minutes:g} minutes"
    if getattr(args, "patience", None):
        note += f", stopping after {args.patience} {rounds} without a gain"
    return note


def recipe_command(
    module: str,
    args: argparse.Namespace,
    parser: Callable[[], argparse.ArgumentParser],
    required: Iterable[str],
    skipped: Iterable[str] = (),
) -> str:
    """The command that retrains the entry: the module and every non-default option."""
    required = list(required)
    skipped = {*skipped, "backup_dir"}  # where a run is kept changes nothing it makes
    head = [
        part for key in required for part in (f"--{key.replace('_', '-')}", str(getattr(args, key)))
    ]
    defaults = vars(parser().parse_args(head))
    parts = list(head)
    for key, value in vars(args).items():
        if key in required or key in skipped or value == defaults[key]:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    return f"python -m seqapps.zoo.recipes.{module} " + " ".join(parts)
