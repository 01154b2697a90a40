"""Recipe: train an English → Spanish translation entry on `bible_en_es` and write its card.

Subword models (SentencePiece) are learned from the train split, the
encoder-decoder is trained with teacher forcing, the epoch with the best
validation BLEU (greedy) is kept, and the card gets greedy and beam-search
BLEU and chrF on the test books (sacrebleu, against the raw references).

    python -m seqapps.zoo.recipes.translation --name translate-en-es-gru --cell gru --minutes 60
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqapps.cli_options import float_in
from seqapps.zoo.recipes._cards import (
    CELL_NAMES,
    options_of,
    recipe_command,
    save_card,
    weights_entry,
)
from seqapps.zoo.recipes._training import add_training_arguments, train_recipe


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--cell", default="gru", choices=sorted(CELL_NAMES))
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--embedding-dim", type=int, default=256)
    p.add_argument("--attention", default="multiplicative", choices=["additive", "multiplicative"])
    p.add_argument("--vocabulary-size", type=int, default=8000, help="pieces per language")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument(
        "--recurrent-gain",
        type=float_in(0, open_low=True),
        default=1.0,
        help="scale of the starting recurrent weights (0.5 trains a SimpleRNN; see RecurrentStack)",
    )
    p.add_argument("--beam-size", type=int, default=5)
    add_training_arguments(p, batch_size=64, epochs=30, minutes=90)
    return p


def pairs(split: str) -> tuple[list[str], list[str]]:
    from seqapps import datasets

    english, spanish = [], []
    for en, es in datasets.load("bible_en_es", split=split).as_numpy_iterator():
        english.append(en.decode("utf-8"))
        spanish.append(es.decode("utf-8"))
    return english, spanish


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    import keras

    from seqapps.tasks import Translator
    from seqapps.text import train_subword_model

    keras.utils.set_random_seed(args.seed)
    train_en, train_es = pairs("train")
    val_en, val_es = pairs("validation")
    test_en, test_es = pairs("test")

    model = Translator(
        train_subword_model(train_en, args.vocabulary_size),
        train_subword_model(train_es, args.vocabulary_size),
        **options_of(
            args,
            "cell",
            "units",
            "num_layers",
            "attention",
            "embedding_dim",
            "dropout",
            "recurrent_gain",
        ),
    )
    model, weights, best_epoch, history = train_recipe(
        args,
        model,
        train_en,
        train_es,
        lambda model: model.score(val_en, val_es),
        "bleu",
        halve_on_plateau=True,
    )
    metrics = {
        "validation": {"greedy": model.score(val_en, val_es)},
        "test": {
            "greedy": model.score(test_en, test_es),
            f"beam_{args.beam_size}": model.score(test_en, test_es, beam_size=args.beam_size),
        },
    }
    print(json.dumps({"name": args.name, "metrics": metrics}), flush=True)
    if not args.dry_run:
        write_card(args, model, weights, metrics, best_epoch, history, len(train_en))
    return metrics


def write_card(args, model, weights: Path, metrics, best_epoch, history, num_train) -> None:
    shape = f"bidirectional {args.num_layers}-layer {CELL_NAMES[args.cell]} encoder ({args.units} units per direction)"
    architecture = {
        key: value
        for key, value in model.get_config().items()
        if key not in ("source_model", "target_model")
    }
    architecture["source_vocabulary_size"] = model.tokenizer.vocabulary_size
    architecture["target_vocabulary_size"] = model.target_tokenizer.vocabulary_size
    save_card(
        {
            "name": args.name,
            "task": "translation",
            "description": (
                f"English → Spanish: SentencePiece subwords → {shape} → {args.attention} attention → "
                f"{CELL_NAMES[args.cell]} decoder ({args.units} units), trained from scratch on Bible verses."
            ),
            "architecture": architecture,
            "weights": weights_entry(weights),
            "num_parameters": model.count_params(),
            "dataset": {
                "name": "bible_en_es",
                "train": f"train ({num_train} verse pairs)",
                "selection": f"validation BLEU (greedy), best epoch {best_epoch}",
                "test": "test (Ruth, Jonah, Mark, James; 916 verse pairs)",
                "history": history,
            },
            "metrics": metrics,
            "license": "Apache-2.0 (weights); training data public domain (WEB, RV1909)",
            "recipe": recipe_command("translation", args, parser, ["name"], skipped=("dry_run",)),
            "notes": f"seed {args.seed}; BLEU and chrF by sacrebleu on detokenized output against the raw references"
            + started_from(args.cell, args.recurrent_gain),
        }
    )


def started_from(cell: str, gain: float) -> str:
    """The card's word on a recurrent start other than Keras's: a cell that needs one says so."""
    if gain == 1.0:
        return ""
    why = "; from Keras's 1.0 a SimpleRNN translator barely learns" if cell == "rnn" else ""
    return (
        f"; the recurrent weights started from an orthogonal matrix scaled by {gain:g} "
        f"(--recurrent-gain{why}, see RecurrentStack)"
    )


if __name__ == "__main__":
    main()
