"""Speed of `sentiment-lstm` against the keras-io "Bidirectional LSTM on IMDB" model.

Both run in this one process on the same machine and the same `sentence_polarity`
data, and both take raw strings (the reference gets a `TextVectorization` layer
in front, 20,000 words, 200 steps, as in the keras-io example). Printed as
ratios, ours / reference, where above 1 means seqapps is faster:

    python bench/sentiment_speed.py [--calls 300] [--train-examples 4096]

Measured: single-text latency (median over many calls) of `classify` and of
the exported SavedModel; batch throughput (texts/s, `predict`, batches of 256);
training throughput (examples/s, one epoch of `fit`, batches of 32), plain and
with the adversarial training the entry's recipe used (two forward and three
backward passes a step).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def reference_model(train_texts):
    """The keras-io example (Embedding 128 → 2 × BiLSTM(64) → sigmoid) on raw strings."""
    import keras
    import numpy as np

    vectorize = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
    vectorize.adapt(np.asarray(train_texts, dtype=object))
    texts = keras.Input(shape=(), dtype="string")
    x = vectorize(texts)
    x = keras.layers.Embedding(20000, 128)(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(texts, outputs)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def median_seconds(function, calls: int) -> float:
    function()  # warm up: tracing, first allocation
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--train-examples", type=int, default=4096)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    import seqapps
    from seqapps import datasets
    from seqapps.tasks import TextClassifier
    from seqapps.zoo.recipes import sentiment as sentiment_recipe

    def split(name):
        pairs = list(datasets.load("sentence_polarity", split=name).as_numpy_iterator())
        return [t.decode("utf-8") for t, _ in pairs], np.array([int(y) for _, y in pairs])

    train_texts, train_labels = split("train")
    test_texts, _ = split("test")
    text = "a gorgeous, witty, seductive movie."

    ours = seqapps.load("sentiment-lstm")
    reference = reference_model(train_texts)
    reference_call = tf.function(lambda x: reference(x, training=False), reduce_retracing=True)

    rows = []

    def compare(what, ours_value, reference_value, unit, higher_is_better):
        ratio = ours_value / reference_value if higher_is_better else reference_value / ours_value
        rows.append((what, ours_value, reference_value, unit, ratio))

    compare(
        "single text, Python call",
        median_seconds(lambda: ours.classify(text), args.calls) * 1e3,
        median_seconds(lambda: reference_call(tf.constant([text])).numpy(), args.calls) * 1e3,
        "ms",
        higher_is_better=False,
    )

    with tempfile.TemporaryDirectory() as tmp:
        ours.export(os.path.join(tmp, "ours"))
        reference.export(os.path.join(tmp, "reference"), verbose=False)
        # Keep the loaded objects alive: their functions only reference the variables.
        ours_loaded = tf.saved_model.load(os.path.join(tmp, "ours"))
        reference_loaded = tf.saved_model.load(os.path.join(tmp, "reference"))
        ours_served = ours_loaded.signatures["serving_default"]
        reference_served = reference_loaded.serve
        compare(
            "single text, SavedModel",
            median_seconds(lambda: ours_served(tf.constant([text])), args.calls) * 1e3,
            median_seconds(lambda: reference_served(tf.constant([text])), args.calls) * 1e3,
            "ms",
            higher_is_better=False,
        )

    test_array = np.asarray(test_texts, dtype=object)

    def throughput(model):
        model.predict(test_array[:256], batch_size=256, verbose=0)
        start = time.perf_counter()
        model.predict(test_array, batch_size=256, verbose=0)
        return len(test_array) / (time.perf_counter() - start)

    compare(
        "batch inference", throughput(ours), throughput(reference), "texts/s", higher_is_better=True
    )

    n = args.train_examples
    train_array = np.asarray(train_texts[:n], dtype=object)
    fresh = TextClassifier.from_config(ours.get_config())

    def training(model, labels):
        data = (
            tf.data.Dataset.from_tensor_slices((train_array, labels[:n]))
            .shuffle(n, seed=0)
            .batch(32)
        )
        model.fit(data.take(4), epochs=1, verbose=0)  # trace before timing
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        return n / (time.perf_counter() - start)

    reference_training = training(reference, train_labels.astype("float32"))
    compare(
        "training",
        training(fresh, train_labels),
        reference_training,
        "examples/s",
        higher_is_better=True,
    )
    recipe = sentiment_recipe.parser().parse_args(
        shlex.split(seqapps.describe("sentiment-lstm")["recipe"])[3:]
    )
    if recipe.adversarial_epsilon:
        fresh = TextClassifier.from_config(ours.get_config())
        fresh.compile(adversarial_epsilon=recipe.adversarial_epsilon)
        compare(
            "training, adversarial",
            training(fresh, train_labels),
            reference_training,
            "examples/s",
            higher_is_better=True,
        )

    print(
        f"{'measure':<26}{'seqapps':>12}{'reference':>12}  {'unit':<11}{'ratio (>1: seqapps faster)':>28}"
    )
    for what, ours_value, reference_value, unit, ratio in rows:
        print(f"{what:<26}{ours_value:>12.2f}{reference_value:>12.2f}  {unit:<11}{ratio:>28.2f}")


if __name__ == "__main__":
    main()
