"""A zoo card as people read it, and the `usage` section every card carries.

The `usage` section follows the Hugging Face model-card convention: what the
entry is for, what it was trained on, where it fails, and what it does with an
empty input, with real inputs and the outputs the committed weights give
(`python -m seqapps.zoo.recipes.card_examples NAME` re-runs them; `--write` records
them).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

#: Keys of a card's `usage` section; `limitations` is a list of sentences and the
#: examples are `{"input", "output", "note"}` (plus `options`: keyword arguments of
#: the task's verb, and `method` when the example calls another method than the verb).
USAGE_KEYS = ("intended_use", "training_data", "limitations", "empty_input", "failure_examples")
EXAMPLE_KEYS = {"input", "output", "note", "options", "method"}


def usage_problems(usage: dict[str, Any]) -> list[str]:
    """What a card's `usage` section lacks or gets wrong; empty when it is complete."""
    problems = [f"missing {key!r}" for key in USAGE_KEYS if not usage.get(key)]
    problems += [f"unknown key {key!r}" for key in sorted(set(usage) - set(USAGE_KEYS))]
    if not isinstance(usage.get("limitations", []), list):
        problems.append("'limitations' must be a list of sentences")
    examples = [usage.get("empty_input") or {}, *(usage.get("failure_examples") or [])]
    for index, example in enumerate(examples):
        where = "empty_input" if index == 0 else f"failure_examples[{index - 1}]"
        if not isinstance(example, dict) or not {"input", "output", "note"} <= set(example):
            problems.append(f"{where} needs input, output and note")
        elif set(example) - EXAMPLE_KEYS:
            problems.append(f"{where} has unknown keys {sorted(set(example) - EXAMPLE_KEYS)}")
    return problems


class ModelCard(dict):
    """A card as a plain dict; `print(card)` shows it as readable text (`format_card`)."""

    def __str__(self) -> str:
        return format_card(self)


def format_card(card: dict[str, Any], width: int = 100) -> str:
    """The card as readable text: what the entry is for, its limits, its numbers, its file."""
    usage = card.get("usage") or {}
    lines = [f"{card['name']} ({card['task']})", "", *_wrap(card["description"], width)]

    def section(title: str, body: list[str]) -> None:
        if body:
            lines.extend(["", title, *body])

    section("Intended use", _wrap(usage.get("intended_use", ""), width, "  "))
    dataset = card.get("dataset", {})
    data = _wrap(usage.get("training_data", ""), width, "  ")
    splits = [f"{k}: {dataset[k]}" for k in ("train", "selection", "test") if k in dataset]
    data += [f"  {line}" for line in splits]
    section("Training data" + (f" ({dataset['name']})" if "name" in dataset else ""), data)
    section(
        "Limitations",
        [ln for item in usage.get("limitations", []) for ln in _wrap(item, width, "  - ", "    ")],
    )
    if usage.get("empty_input"):
        section("Empty input", _example(usage["empty_input"], width))
    failures = usage.get("failure_examples") or []
    section("Known failures", [ln for example in failures for ln in _example(example, width)])
    section("Metrics", [f"  {path}: {value}" for path, value in _flatten(card["metrics"])])
    weights = card.get("weights", {})
    details = [
        f"  parameters: {card['num_parameters']:,}",
        f"  weights: {weights.get('file') or weights.get('url')} "
        f"({weights.get('size_bytes', 0) / 1e6:.1f} MB, sha256 {weights.get('sha256', '?')})",
        *_wrap(f"licence: {card['license']}", width, "  ", "    "),
        *_wrap(f"recipe: {card['recipe']}", width, "  ", "    "),
    ]
    if card.get("notes"):
        details += _wrap(f"notes: {card['notes']}", width, "  ", "    ")
    section("Model", details)
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    if not text:
        return []
    rest = first if rest is None else rest
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest) or [first]


def _example(example: dict[str, Any], width: int) -> list[str]:
    call = example.get("method", "")
    options = ", ".join(f"{k}={v!r}" for k, v in (example.get("options") or {}).items())
    head = f"  {call + ' ' if call else ''}{example['input']!r}" + (
        f" ({options})" if options else ""
    )
    output = example["output"]
    shown = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return [
        head,
        *_wrap(
            f"→ {shown!r}" if isinstance(output, str) else f"→ {shown}", width, "    ", "      "
        ),
        *_wrap(example["note"], width, "    ", "    "),
    ]


def _flatten(metrics: Any, path: str = "") -> list[tuple[str, Any]]:
    if not isinstance(metrics, dict):
        return [(path, metrics)]
    rows = []
    for key, value in metrics.items():
        if key in ("history", "command"):
            continue
        rows += _flatten(value, f"{path} {key}".strip())
    return rows


# -- the examples, run on the committed weights -----------------------------------------------


def run_example(model, example: dict[str, Any], root: Path | None = None) -> Any:
    """What the model gives for an example today, in the form the card records.

    Floats are rounded to 2 decimals and tuples become lists; a dict output keeps
    only the keys the card records (e.g. `bits_per_char` of `score`). Image inputs
    are paths relative to `root` (the repository).
    """
    method = getattr(model, example.get("method") or model.interface.verb)
    value = example["input"]
    if model.interface.verb == "caption" and value and root is not None:
        value = str(root / value)
    try:
        output = method(value, **(example.get("options") or {}))
    except (ValueError, TypeError) as error:
        return f"{type(error).__name__}: {error}"
    output = _plain(output)
    recorded = example.get("output")
    if isinstance(output, dict) and isinstance(recorded, dict):
        output = {key: output.get(key) for key in recorded}
    return output


def same_output(recorded: Any, measured: Any, tolerance: float = 0.011) -> bool:
    """Equal, with rounded floats allowed to differ by about one in the last place."""
    if isinstance(recorded, float) or isinstance(measured, float):
        numbers = all(isinstance(v, (int, float)) for v in (recorded, measured))
        return numbers and abs(recorded - measured) <= tolerance
    if isinstance(recorded, dict) and isinstance(measured, dict):
        return recorded.keys() == measured.keys() and all(
            same_output(recorded[k], measured[k], tolerance) for k in recorded
        )
    if isinstance(recorded, list) and isinstance(measured, list):
        return len(recorded) == len(measured) and all(
            same_output(a, b, tolerance) for a, b in zip(recorded, measured)
        )
    return recorded == measured


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):  # a NumPy scalar
        return _plain(value.item())
    return value
