"""Recipe: train an emoji captioning entry on `emoji_captions` and write its card.

A SentencePiece model is learned from the train captions, the CNN encoder and
the recurrent decoder are trained together from scratch with teacher forcing,
the epoch with the best validation BLEU-4 (`--select-on`: against every
reference, or against the name alone; `--select-beam-size`: greedy or beam) is
kept, and the card gets BLEU-1, BLEU-4 and exact match on the 206 unseen test
emoji, beside two nearest-neighbour baselines measured in the same run: the
caption of the training image closest by cosine of mean-centred pixels, and
closest by cosine of our own encoder's pooled features.

    python -m seqapps.zoo.recipes.captioning --name caption-emoji-gru --cell gru --minutes 20
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from seqapps.zoo.recipes._cards import (
    CELL_NAMES,
    budget_note,
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
    p.add_argument("--conditioning", default="attention", choices=["init", "attention"])
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--embedding-dim", type=int, default=128)
    p.add_argument("--vocabulary-size", type=int, default=800, help="caption pieces")
    p.add_argument(
        "--model-type",
        default="word",
        choices=["word", "unigram", "bpe"],
        help="SentencePiece model of the captions: whole words, or subword pieces",
    )
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument(
        "--all-references",
        action="store_true",
        help="train on every reference of an image (its name and short names), not the name only",
    )
    p.add_argument(
        "--shift", type=int, default=4, help="random shifts of up to this many pixels in training"
    )
    p.add_argument(
        "--word-dropout", type=float, default=0.0, help="share of input words read as <unk>"
    )
    p.add_argument("--eval-every", type=int, default=5, help="epochs between validation runs")
    p.add_argument(
        "--halve-on-plateau",
        action="store_true",
        help="halve the learning rate after each validation run without a gain",
    )
    p.add_argument("--beam-size", type=int, default=3, help="beam search measured on test")
    p.add_argument(
        "--select-beam-size",
        type=int,
        default=1,
        help="beam size of the captions that select the epoch on validation (1: greedy)",
    )
    p.add_argument(
        "--select-on",
        default="bleu4",
        choices=["bleu4", "bleu4_name_only"],
        help="the validation score that selects the epoch: BLEU-4 against all references, "
        "or against the name alone (which also penalises captions shorter than the name)",
    )
    add_training_arguments(p, batch_size=32, epochs=60, minutes=30, patience=4)
    return p


def split(name: str) -> tuple[np.ndarray, list[str], list[list[str]]]:
    """Images `[n, 64, 64, 3]`, captions and all references of one split."""
    from seqapps import datasets

    images, captions, references = [], [], []
    for row in datasets.load("emoji_captions", split=name, as_supervised=False).as_numpy_iterator():
        images.append(row["image"])
        captions.append(row["caption"].decode("utf-8"))
        references.append([r.decode("utf-8") for r in row["references"]])
    return np.stack(images), captions, references


def shifted(images, pixels):
    """Each image moved by up to `pixels` in both directions, the uncovered border white."""
    import tensorflow as tf

    size = tf.shape(images)[1:3]
    padded = tf.pad(
        images, [[0, 0], [pixels, pixels], [pixels, pixels], [0, 0]], constant_values=255
    )
    return tf.map_fn(lambda image: tf.image.random_crop(image, tf.concat([size, [3]], 0)), padded)


def unknown_words(ids, rate):
    """Teacher-forced inputs with a share `rate` of the words read as `<unk>` (word dropout):
    the decoder cannot finish a caption from its first words alone and must look at the image."""
    import tensorflow as tf

    from seqapps.text.subword import END_ID, UNK_ID

    drop = (tf.random.uniform(tf.shape(ids)) < rate) & (ids > END_ID)  # pieces only
    return tf.where(drop, tf.cast(UNK_ID, ids.dtype), ids)


def nearest_captions(train_vectors, train_captions, vectors) -> list[str]:
    """The caption of the training row nearest to each row of `vectors` by cosine similarity."""

    def unit(x):
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    nearest = (unit(vectors) @ unit(train_vectors).T).argmax(axis=1)
    return [train_captions[i] for i in nearest]


def pixel_vectors(images, mean) -> np.ndarray:
    return images.astype(np.float64) - mean


def encoder_vectors(model, images) -> np.ndarray:
    """The model's pooled image features (what sets the decoder's first state)."""
    pool = model.get_layer("pool")
    encoder = model.get_layer("image_encoder")
    scaler = model.get_layer("scaler")
    return np.concatenate(
        [
            pool(encoder(scaler(images[i : i + 256]), training=False)).numpy()
            for i in range(0, len(images), 256)
        ]
    )


def baselines(model, train, test) -> dict:
    """Both nearest-neighbour baselines on test, scored like the model."""
    (train_images, train_captions, _), (test_images, _, _) = train, test
    mean = train_images.astype(np.float64).mean(axis=0)
    guesses = {
        "nearest_pixels": nearest_captions(
            pixel_vectors(train_images, mean), train_captions, pixel_vectors(test_images, mean)
        ),
        "nearest_encoder_features": nearest_captions(
            encoder_vectors(model, train_images),
            train_captions,
            encoder_vectors(model, test_images),
        ),
    }
    return {name: scores(captions, test) for name, captions in guesses.items()}


def scores(captions, data, train_captions=None) -> dict:
    """BLEU-1/4 and exact match against all references, then against the name only."""
    from seqapps.tasks.image_captioner import caption_scores

    _, names, references = data
    result = caption_scores(captions, references)
    only = caption_scores(captions, [[name] for name in names])
    result.update({f"{key}_name_only": only[key] for key in ("bleu4", "bleu1", "exact_match")})
    if train_captions is not None:
        seen = set(train_captions)
        result["copies_of_training_captions"] = round(
            sum(c in seen for c in captions) / len(captions), 4
        )
    return result


def evaluate(model, data, train_captions, **options) -> dict:
    return scores(model.caption(data[0], **options), data, train_captions)


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    import keras

    from seqapps.tasks import ImageCaptioner
    from seqapps.text import train_subword_model

    keras.utils.set_random_seed(args.seed)
    train, validation, test = split("train"), split("validation"), split("test")
    train_images, train_captions, train_references = train
    pairs_images, pairs_captions = train_images, train_captions
    if args.all_references:
        index = [i for i, refs in enumerate(train_references) for _ in refs]
        pairs_images = train_images[index]
        pairs_captions = [r for refs in train_references for r in refs]

    model = ImageCaptioner(
        train_subword_model(pairs_captions, args.vocabulary_size, model_type=args.model_type),
        **options_of(args, "conditioning", "cell", "units", "embedding_dim", "dropout"),
    )

    def augment(data):
        if args.shift:
            data = data.map(lambda x, y: ((shifted(x[0], args.shift), x[1]), y))
        if args.word_dropout:
            data = data.map(lambda x, y: ((x[0], unknown_words(x[1], args.word_dropout)), y))
        return data

    model, weights, best_epoch, history = train_recipe(
        args,
        model,
        pairs_images,
        pairs_captions,
        lambda model: evaluate(model, validation, None, beam_size=args.select_beam_size),
        args.select_on,
        augment=augment,
        epochs_per_round=args.eval_every,
        halve_on_plateau=args.halve_on_plateau,
    )
    metrics = {
        "validation": {"greedy": evaluate(model, validation, train_captions)},
        "test": {
            "greedy": evaluate(model, test, train_captions),
            f"beam_{args.beam_size}": evaluate(
                model, test, train_captions, beam_size=args.beam_size
            ),
        },
        "test_baselines": baselines(model, train, test),
    }
    examples = [
        {"reference": c, "caption": w} for c, w in zip(test[1][:10], model.caption(test[0][:10]))
    ]
    print(json.dumps({"name": args.name, "metrics": metrics, "examples": examples}), flush=True)
    if not args.dry_run:
        write_card(args, model, weights, metrics, best_epoch, history, len(train_images))
    return metrics


def write_card(args, model, weights: Path, metrics, best_epoch, history, num_train) -> None:
    search = "greedy" if args.select_beam_size == 1 else f"beam {args.select_beam_size}"
    architecture = {k: v for k, v in model.get_config().items() if k != "caption_model"}
    architecture["caption_vocabulary_size"] = model.tokenizer.vocabulary_size
    how = (
        "additive attention over the 8x8 feature map at every step"
        if args.conditioning == "attention"
        else "the image setting the first state only"
    )
    save_card(
        {
            "name": args.name,
            "task": "image-captioning",
            "description": (
                f"Emoji image → small CNN (trained from scratch) → {CELL_NAMES[args.cell]} decoder "
                f"({args.units} units) with {how} → caption "
                f"{'words' if args.model_type == 'word' else 'subword pieces'} (SentencePiece "
                f"{args.model_type} model of {model.tokenizer.vocabulary_size} ids)."
            ),
            "architecture": architecture,
            "weights": weights_entry(weights),
            "num_parameters": model.count_params(),
            "dataset": {
                "name": "emoji_captions",
                "train": f"train ({num_train} emoji)",
                "selection": (
                    f"validation BLEU-4 ({search}, against "
                    f"{'the name alone' if args.select_on.endswith('name_only') else 'all references'}"
                    f") every {args.eval_every} epochs, best epoch {best_epoch}"
                ),
                "test": "test (206 emoji, none seen in training)",
                "history": history,
            },
            "metrics": metrics,
            "license": "Apache-2.0 (weights); training data CC-BY-4.0 (Twemoji) and MIT (names)",
            "recipe": recipe_command("captioning", args, parser, ["name"], skipped=("dry_run",)),
            "notes": (
                f"seed {args.seed}; {budget_note(args, 'validation rounds')}; BLEU by sacrebleu; `name_only` scores against the Unicode name, "
                "`all_references` against the name and the short names; exact match = the caption "
                "equals a reference; `copies_of_training_captions` = share of test captions that "
                "are verbatim a training caption"
            ),
        }
    )


if __name__ == "__main__":
    main()
