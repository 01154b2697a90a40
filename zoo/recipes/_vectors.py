"""The recipes' pretrained-vector options (`--vectors ...`) and how a card names them."""

from __future__ import annotations

import argparse


def add_vectors_arguments(p: argparse.ArgumentParser, vocabulary_size: int) -> None:
    p.add_argument(
        "--vectors",
        choices=["glove-6b-50d"],
        default=None,
        help="start the word vectors from these pretrained ones (pip install seqapps[vectors])",
    )
    p.add_argument(
        "--pretrained-mode",
        choices=["finetune", "frozen", "offset"],
        default="finetune",
        help="with --vectors: train the pretrained rows, keep them, or keep them + train an offset",
    )
    p.add_argument(
        "--vectors-vocabulary-size",
        type=int,
        default=vocabulary_size,
        help="with --vectors: the training words, then the most frequent GloVe words up to this many",
    )


def model_from_vectors(args: argparse.Namespace, task, *arguments, **keywords):
    """`(model, vectors, init)`: `task.from_vectors` on the vectors `--vectors` names, with
    `--vectors-vocabulary-size`, `--pretrained-mode` and `--seed`; the rest go through."""
    from seqapps.text import load_vectors

    vectors = load_vectors(args.vectors)
    model, init = task.from_vectors(
        vectors,
        *arguments,
        vocabulary_size=args.vectors_vocabulary_size,
        seed=args.seed,
        pretrained_mode=args.pretrained_mode,
        **keywords,
    )
    return model, vectors, init


def vectors_description(args: argparse.Namespace, model) -> str:
    """How the card's description names the word vectors of a model built with `--vectors`."""
    return (
        f"GloVe 6B {model.pretrained_dim}d word vectors ({args.pretrained_mode}"
        + (
            f", beside a {args.embedding_dim}-d embedding trained from scratch for the training words"
            if args.embedding_dim
            else ""
        )
        + f"; vocabulary: the training words, then the most frequent GloVe words, "
        f"{len(model.vocabulary)} in all)"
    )


GLOVE_LICENCE = "; GloVe vectors PDDL-1.0 (Pennington et al., 2014)"
