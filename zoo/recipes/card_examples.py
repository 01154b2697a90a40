"""Runs each card's usage examples on the committed weights; `--write` records the outputs.

    python -m seqapps.zoo.recipes.card_examples sentiment-lstm translate-en-es-gru [--write]

A recipe that retrains an entry keeps its card's `usage` section; run this after
it, so the recorded outputs are the new weights' (then reread the notes).
"""

from __future__ import annotations

import argparse
import json

from seqapps.zoo.model_card import run_example, same_output


def main(argv: list[str] | None = None) -> int:
    import seqapps
    from seqapps.zoo.registry import CARDS_DIR, ZOO_DIR

    parser = argparse.ArgumentParser(
        prog="python -m seqapps.zoo.recipes.card_examples",
        description="Run a card's usage examples on the committed weights and show the outputs.",
    )
    parser.add_argument("names", nargs="+")
    parser.add_argument("--write", action="store_true", help="record the outputs in the cards")
    args = parser.parse_args(argv)
    root = ZOO_DIR.parent
    for name in args.names:
        path = CARDS_DIR / f"{name}.json"
        card = json.loads(path.read_text(encoding="utf-8"))
        model = seqapps.load(name)
        usage = card["usage"]
        for example in [usage["empty_input"], *usage["failure_examples"]]:
            measured = run_example(model, example, root)
            mark = "same" if same_output(example["output"], measured) else "CHANGED"
            print(f"{name}: {example['input']!r} -> {measured!r} [{mark}]")
            example["output"] = measured
        if args.write:  # the card alone: the weight file and its sha256 stay as they are
            staging = path.with_suffix(".json.partial")
            staging.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
            staging.replace(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
