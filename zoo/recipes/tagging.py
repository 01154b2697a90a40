"""Recipe: train a part-of-speech entry on `brown_pos` and write its card.

The word vocabulary and the character set come from the train split, a
BiLSTM over word and spelling vectors is trained on the universal tags
(`--tagset upos`) or the raw Brown tags (`--tagset brown`), the epoch with the
best validation accuracy is kept, and the card gets the token accuracy on the
test files: all tokens, and tokens never seen in training.

    python -m seqapps.zoo.recipes.tagging --name pos-brown-lstm --minutes 40
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from seqapps.zoo.recipes._cards import (
    CELL_NAMES,
    budget_note,
    options_of,
    recipe_command,
    save_card,
    weights_entry,
)
from seqapps.zoo.recipes._training import add_training_arguments, train_recipe
from seqapps.zoo.recipes._vectors import (
    GLOVE_LICENCE,
    add_vectors_arguments,
    model_from_vectors,
    vectors_description,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--tagset", default="upos", choices=["upos", "brown"])
    p.add_argument("--cell", default="lstm", choices=sorted(CELL_NAMES))
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--embedding-dim", type=int, default=100)
    p.add_argument("--char-filters", type=int, default=64)
    p.add_argument("--min-count", type=int, default=2, help="training count for a word vector")
    p.add_argument("--dropout", type=float, default=0.3)
    add_vectors_arguments(p, vocabulary_size=60000)
    p.add_argument(
        "--word-dropout",
        type=float,
        default=0.0,
        help="with --vectors: share of training tokens whose trained word vector is hidden",
    )
    add_training_arguments(p, batch_size=32, epochs=20, minutes=40)
    return p


def sentences(
    split: str, tagset: str = "upos"
) -> tuple[list[list[str]], list[list[str]], list[str]]:
    """Token lists, tag lists and the tag names of one split of `brown_pos`."""
    from seqapps import datasets

    data, info = datasets.load("brown_pos", split=split, as_supervised=False, with_info=True)
    names = info.features["upos"].feature.names if tagset == "upos" else None
    tokens, tags = [], []
    for row in data.as_numpy_iterator():
        tokens.append([t.decode("utf-8") for t in row["tokens"]])
        if tagset == "upos":
            tags.append([names[i] for i in row["upos"]])
        else:
            tags.append([t.decode("utf-8") for t in row["tags"]])
    if names is None:
        names = sorted({tag for row in tags for tag in row})
    return tokens, tags, list(names)


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    import keras

    from seqapps.tasks import SequenceTagger

    keras.utils.set_random_seed(args.seed)
    train_tokens, train_tags, tags = sentences("train", args.tagset)
    val_tokens, val_tags, _ = sentences("validation", args.tagset)
    test_tokens, test_tags, _ = sentences("test", args.tagset)
    known = {token for row in train_tokens for token in row}
    words = collections.Counter(token.lower() for row in train_tokens for token in row)
    characters = collections.Counter(char for token in known for char in token)

    vocabulary = sorted(w for w, n in words.items() if n >= args.min_count)
    shape = options_of(
        args, "cell", "units", "num_layers", "embedding_dim", "char_filters", "dropout"
    )
    coverage = None
    if args.vectors:
        model, vectors, init = model_from_vectors(
            args,
            SequenceTagger,
            vocabulary,
            sorted(characters),
            tags,
            word_dropout=args.word_dropout,
            **shape,
        )
        coverage = vectors_coverage(vectors, init, model, train_tokens, test_tokens, known)
        print(json.dumps({"coverage": coverage}), flush=True)
    else:
        model = SequenceTagger(vocabulary, sorted(characters), tags, **shape)
    model, weights, best_epoch, history = train_recipe(
        args,
        model,
        train_tokens,
        train_tags,
        lambda model: model.score(val_tokens, val_tags, known_words=known),
        "accuracy",
        clipnorm=5.0,
        halve_on_plateau=True,
    )
    metrics = {
        "validation": model.score(val_tokens, val_tags, known_words=known),
        "test": model.score(test_tokens, test_tags, known_words=known),
    }
    print(json.dumps({"name": args.name, "metrics": metrics}), flush=True)
    if not args.dry_run:
        write_card(args, model, weights, metrics, best_epoch, history, len(train_tokens), coverage)
    return metrics


def vectors_coverage(vectors, init, model, train_tokens, test_tokens, known) -> dict:
    """Shares of running tokens with a pretrained vector: train, test, and the test tokens
    training never showed (through the model's own vocabulary, where a word must be to use it)."""
    with_row = set(model.vocabulary) - set(init.missing)
    unseen = [token for row in test_tokens for token in row if token not in known]
    return {
        "train_tokens": round(vectors.coverage(t for row in train_tokens for t in row), 4),
        "test_tokens": round(vectors.coverage(t for row in test_tokens for t in row), 4),
        "unseen_test_tokens_in_vocabulary": round(
            sum(token.lower() in with_row for token in unseen) / max(len(unseen), 1), 4
        ),
        "vocabulary": round(init.coverage, 4),
        "vocabulary_missing": len(init.missing),
    }


def write_card(
    args, model, weights: Path, metrics, best_epoch, history, num_train, coverage
) -> None:
    architecture = {
        key: value
        for key, value in model.get_config().items()
        if key not in ("vocabulary", "characters")
    }
    architecture["vocabulary_size"] = len(model.vocabulary) + 2
    architecture["character_vocabulary_size"] = len(model.characters) + 2
    tagset = "12 universal tags" if args.tagset == "upos" else f"{len(model.tags)} Brown tags"
    words, origin = "word vectors", "trained from scratch on the Brown corpus"
    if args.vectors:
        words = vectors_description(args, model)
        origin = "trained on the Brown corpus from pretrained word vectors"
    card = {
        "name": args.name,
        "task": "token-classification",
        "description": (
            f"Part of speech ({tagset}): {words} + character CNN → bidirectional "
            f"{args.num_layers}-layer {CELL_NAMES[args.cell]} ({args.units} units per "
            f"direction) → softmax per token, {origin}."
        ),
        "architecture": architecture,
        "weights": weights_entry(weights),
        "num_parameters": model.count_params(),
        "dataset": {
            "name": "brown_pos",
            "train": f"train ({num_train} sentences)",
            "selection": f"validation token accuracy, best epoch {best_epoch}",
            "test": "test (52 whole files, 6202 sentences)",
            "history": history,
        },
        "metrics": metrics,
        "license": "Apache-2.0 (weights); Brown corpus redistribution permitted"
        + (GLOVE_LICENCE if args.vectors else ""),
        "recipe": recipe_command("tagging", args, parser, ["name"], skipped=("dry_run",)),
        "notes": (
            f"seed {args.seed}; {budget_note(args)}; accuracy_unseen = accuracy on test "
            "tokens whose exact form never occurs in the train split"
        ),
    }
    if coverage:
        card["dataset"]["vectors_coverage"] = coverage
    save_card(card)


if __name__ == "__main__":
    main()
