"""How much sentiment a classifier's recurrent layer knows before it sees a label: a linear probe.

    python bench/lm_probe.py --cell lstm --bidirectional --min-count 1 [--pretrained-lm lm.npz]

Builds the classifier the sentiment recipe builds from the same model options, starts it
from the language models of `--pretrained-lm` (or leaves it as initialised, the control),
and freezes it. Its encoder's outputs on `sentence_polarity` are pooled three ways (max and
mean over the words; last: the forward half's state after the last word beside the backward
half's after the first), standardised on train, and a logistic regression is trained on
train and scored on validation. Features that carry sentiment score well above the control.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pooled_features(model, texts, batch_size=512):
    """`{"max" | "mean" | "last": [texts, features]}` from the frozen embedding and encoder."""
    import numpy as np
    import tensorflow as tf

    embedding, encoder = model.get_layer("embedding"), model.get_layer("encoder")
    pools = {"max": [], "mean": [], "last": []}
    for start in range(0, len(texts), batch_size):
        ids = model.tokenizer(tf.constant(texts[start : start + batch_size]))
        mask = tf.not_equal(ids, 0)
        states = encoder(tf.cast(embedding(ids), "float32"), mask=mask, training=False)
        weights = tf.cast(mask, states.dtype)[..., None]
        pools["max"].append(tf.reduce_max(tf.where(weights > 0, states, -1e9), axis=1))
        pools["mean"].append(tf.reduce_sum(states * weights, 1) / tf.reduce_sum(weights, 1))
        last = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1) - 1
        if model.bidirectional:
            half = states.shape[-1] // 2
            forward = tf.gather(states[..., :half], last, batch_dims=1)
            pools["last"].append(tf.concat([forward, states[:, 0, half:]], axis=-1))
        else:
            pools["last"].append(tf.gather(states, last, batch_dims=1))
    return {name: np.concatenate([p.numpy() for p in parts]) for name, parts in pools.items()}


def probe(train_x, train_y, val_x, val_y, epochs=30, seed=0):
    """Validation accuracy of a logistic regression on standardised features."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    regression = keras.Sequential([keras.Input(train_x.shape[1:]), keras.layers.Dense(2)])
    regression.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    regression.fit(
        (train_x - mean) / std, np.asarray(train_y), epochs=epochs, batch_size=256, verbose=0
    )
    return float(regression.evaluate((val_x - mean) / std, np.asarray(val_y), verbose=0)[1])


def main(argv=None) -> dict:
    from seqapps.zoo.recipes.sentiment import add_model_arguments, build_classifier, load_split

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(p)
    p.add_argument("--pretrained-lm", type=Path, help="language-model weights (none: the control)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)

    import keras

    keras.utils.set_random_seed(args.seed)
    train_texts, train_labels, _ = load_split("train")
    val_texts, val_labels, _ = load_split("validation")
    model, _ = build_classifier(args, train_texts, ["negative", "positive"])
    if args.pretrained_lm:
        from seqapps.tasks.language_model_pretraining import load_language_model

        load_language_model(model, args.pretrained_lm)
    train, val = pooled_features(model, train_texts), pooled_features(model, val_texts)
    result = {
        "pretrained_lm": str(args.pretrained_lm) if args.pretrained_lm else None,
        **{
            f"validation, {name} pooling": round(
                probe(train[name], train_labels, val[name], val_labels), 4
            )
            for name in train
        },
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
