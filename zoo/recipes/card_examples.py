"""Runs a card's fixed checks on the committed weights; `--write` records what they give.

    python -m seqapps.zoo.recipes.card_examples sentiment-lstm translate-en-es-gru [--write]

Two things, both from the weight file as committed: the outputs of the card's
`usage` examples (empty input, known failures), and `metrics.test_sample`, the
entry's test metric on a small fixed sample of its test split (`SAMPLES`), which
the default test run re-measures in seconds. The full test split, whose numbers
the training recipe wrote, is re-measured by the slow tests (`pytest -m slow`).

A recipe that retrains an entry keeps the card's `usage` section: run this after
it, so that the recorded outputs are the new weights' (then reread the notes).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from seqapps.zoo.model_card import run_example, same_output

#: The fixed sample of each task's test split, as a `datasets.load` split expression.
SAMPLES = {
    "text-classification": "test[:200]",
    "text-generation": "test[:1]",  # the first work, its first 5,000 characters
    "translation": "test[:50]",
    "image-captioning": "test[:50]",
    "token-classification": "test[:200]",
}
TEXT_SAMPLE_CHARACTERS = 5_000


def sample_metrics(model) -> dict[str, Any]:
    """The entry's test metric(s) on its task's fixed sample, rounded as the card keeps them."""
    from seqapps import datasets

    split = SAMPLES[model.task_name]
    if model.task_name == "text-classification":
        rows = list(datasets.load("sentence_polarity", split=split).as_numpy_iterator())
        answers = model.classify([text.decode("utf-8") for text, _ in rows])
        right = [model.labels.index(a["label"]) == label for a, (_, label) in zip(answers, rows)]
        metrics = {"accuracy": round(float(sum(right)) / len(rows), 4)}
    elif model.task_name == "text-generation":
        rows = datasets.load("shakespeare", split=split, as_supervised=False).as_numpy_iterator()
        text = next(rows)["text"].decode("utf-8")[:TEXT_SAMPLE_CHARACTERS]
        metrics = {"bits_per_char": round(model.score(text)["bits_per_char"], 4)}
    elif model.task_name == "translation":
        from seqapps.zoo.recipes.translation import pairs

        scores = model.score(*pairs(split))
        metrics = {"greedy_bleu": round(scores["bleu"], 2), "greedy_chrf": round(scores["chrf"], 2)}
    elif model.task_name == "image-captioning":
        from seqapps.tasks.image_captioner import caption_scores
        from seqapps.zoo.recipes.captioning import split as emoji_split

        images, _, references = emoji_split(split)
        scores = caption_scores(model.caption(images), references)
        metrics = {"greedy_bleu4": scores["bleu4"], "greedy_bleu1": scores["bleu1"]}
    elif model.task_name == "token-classification":
        from seqapps.zoo.recipes.tagging import sentences

        tokens, tags, _ = sentences(split)
        metrics = {"accuracy": round(model.score(tokens, tags)["accuracy"], 4)}
    else:
        raise ValueError(f"no test sample is defined for task {model.task_name!r}")
    count = split[split.index(":") + 1 : -1]
    what = f"the first {count} of the test split ({split})"
    if model.task_name == "text-generation":
        what = f"the first {TEXT_SAMPLE_CHARACTERS:,} characters of the first test work ({split})"
    return {"sample": what, **metrics}


def main(argv: list[str] | None = None) -> int:
    import seqapps
    from seqapps.zoo.registry import CARDS_DIR, ZOO_DIR

    parser = argparse.ArgumentParser(
        prog="python -m seqapps.zoo.recipes.card_examples",
        description="Run a card's usage examples and test sample on the committed weights.",
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
        sample = sample_metrics(model)
        print(f"{name}: test sample {sample}")
        card["metrics"]["test_sample"] = sample
        if args.write:  # the card alone: the weight file and its sha256 stay as they are
            staging = path.with_suffix(".json.partial")
            staging.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
            staging.replace(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
