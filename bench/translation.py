"""A translation entry against the TensorFlow "Neural machine translation with attention" model.

The reference is the tutorial's model, rebuilt here with Keras: lower-cased,
accent-stripped word vocabularies of 5,000 words per language, a bidirectional
GRU encoder (256 units, directions summed), a GRU decoder with one-head
cross-attention (`MultiHeadAttention`, add & layer norm), 256 units
throughout; decoding is the tutorial's own loop, one Python step per token.
Both run in this one process on the same machine and the `bible_en_es` split:

    python bench/translation.py [--model translate-en-es-gru] [--train-minutes 0]

Printed, as ratios ours / reference (above 1: seqapps faster): sentences per
second for greedy decoding at batch 1 and 64, and beam search (k=5) for ours;
training examples per second. With `--train-minutes M` the reference is first
trained for M minutes (whole epochs, the last one started before M) on the train
split and scored like ours (sacrebleu BLEU and chrF on the test books, against
the raw references), and the speed rows then time the trained reference.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

UNITS = 256
WORDS = 5000


def standardize(text):
    """The tutorial's text standardization: NFKD, accents and case dropped, punctuation split off."""
    import tensorflow as tf
    import tensorflow_text

    text = tensorflow_text.normalize_utf8(text, "NFKD")
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, "[^ a-z.?!,¿]", "")
    text = tf.strings.regex_replace(text, "[.?!,¿]", r" \0 ")
    text = tf.strings.strip(text)
    return tf.strings.join(["[START]", text, "[END]"], separator=" ")


class Reference:
    """The tutorial's encoder, cross-attention decoder and greedy loop."""

    def __init__(self, sources, targets):
        import keras
        import numpy as np

        self.source_words = keras.layers.TextVectorization(
            standardize=standardize, max_tokens=WORDS, ragged=True
        )
        self.target_words = keras.layers.TextVectorization(
            standardize=standardize, max_tokens=WORDS, ragged=True
        )
        self.source_words.adapt(np.asarray(sources, dtype=object))
        self.target_words.adapt(np.asarray(targets, dtype=object))
        vocabulary = self.target_words.get_vocabulary()
        self.start, self.end = vocabulary.index("[START]"), vocabulary.index("[END]")
        self.vocabulary = np.array(vocabulary)

        self.source_embedding = keras.layers.Embedding(WORDS, UNITS, mask_zero=True)
        self.encoder = keras.layers.Bidirectional(
            keras.layers.GRU(UNITS, return_sequences=True), merge_mode="sum"
        )
        self.target_embedding = keras.layers.Embedding(WORDS, UNITS, mask_zero=True)
        self.decoder_rnn = keras.layers.GRU(UNITS, return_sequences=True, return_state=True)
        self.attention = keras.layers.MultiHeadAttention(key_dim=UNITS, num_heads=1)
        self.norm = keras.layers.LayerNormalization()
        self.head = keras.layers.Dense(WORDS)

        source = keras.Input((None,), dtype="int64")
        target = keras.Input((None,), dtype="int64")
        logits = self.decode(self.encode(source), target)[0]
        self.model = keras.Model((source, target), logits)
        self.model.compile(
            keras.optimizers.Adam(),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        )

    def encode(self, source_ids):
        return self.encoder(self.source_embedding(source_ids))

    def decode(self, context, target_ids, state=None):
        x = self.target_embedding(target_ids)
        x, state = self.decoder_rnn(x, initial_state=state)
        x = self.norm(x + self.attention(query=x, value=context))
        return self.head(x), state

    def dataset(self, sources, targets, batch_size=64):
        import tensorflow as tf

        def ids(source, target):
            source = self.source_words(source).to_tensor()
            target = self.target_words(target)
            return (source, target[:, :-1].to_tensor()), target[:, 1:].to_tensor()

        pairs = tf.data.Dataset.from_tensor_slices((sources, targets))
        return pairs.shuffle(len(sources), seed=0).batch(batch_size).map(ids)

    def translate(self, texts, max_length=100):
        """The tutorial's loop: encode once, then one eager decoder step per token."""
        import numpy as np
        import tensorflow as tf

        context = self.encode(self.source_words(tf.constant(texts)).to_tensor())
        token = tf.fill([len(texts), 1], tf.constant(self.start, tf.int64))
        done = np.zeros(len(texts), bool)
        state, written = None, []
        for _ in range(max_length):
            logits, state = self.decode(context, token, state)
            token = tf.argmax(logits[:, -1:], axis=-1)
            done |= token.numpy()[:, 0] == self.end
            written.append(np.where(done, "", self.vocabulary[token.numpy()[:, 0]]))
            if done.all():
                break
        return [" ".join(w for w in words if w).strip() for words in zip(*written)]


def sentences_per_second(function, texts, batch_size, seconds=20.0):
    function(texts[:batch_size])  # warm up: tracing
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = texts[done % len(texts) : done % len(texts) + batch_size] or texts[:batch_size]
        function(batch)
        done += len(batch)
    return done / (time.perf_counter() - start)


def training_examples_per_second(fit, dataset, batches):
    fit(dataset.take(2))  # warm up: tracing
    start = time.perf_counter()
    fit(dataset.take(batches))
    return batches * 64 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="translate-en-es-gru")
    parser.add_argument("--seconds", type=float, default=20.0, help="per speed measurement")
    parser.add_argument("--train-batches", type=int, default=30)
    parser.add_argument(
        "--train-minutes",
        type=float,
        default=0.0,
        help="train the reference this long first, then score both and time the trained one",
    )
    args = parser.parse_args()

    import seqapps
    from seqapps.zoo.recipes.translation import pairs

    train_en, train_es = pairs("train")
    test_en, test_es = pairs("test")
    ours = seqapps.load(args.model)
    reference = Reference(train_en, train_es)

    if args.train_minutes:
        # Trained first, so that it also decodes like a trained model in the speed rows
        # (an untrained one never writes its end token and always runs 100 steps).
        import sacrebleu

        data = reference.dataset(train_en, train_es)
        start, epochs = time.time(), 0
        while (time.time() - start) / 60 < args.train_minutes:
            reference.model.fit(data, epochs=1, verbose=0)
            epochs += 1
        minutes = (time.time() - start) / 60
        hypotheses = []
        for index in range(0, len(test_en), 64):
            hypotheses += reference.translate(test_en[index : index + 64])
        greedy = ours.score(test_en, test_es)
        beam = ours.score(test_en, test_es, beam_size=5)
        print(f"{'test books (sacrebleu, raw references)':<40} {'BLEU':>6} {'chrF':>6}")
        print(
            f"{f'reference, {epochs} epochs in {minutes:.0f} min, greedy':<40} "
            f"{sacrebleu.corpus_bleu(hypotheses, [test_es]).score:>6.2f} "
            f"{sacrebleu.corpus_chrf(hypotheses, [test_es]).score:>6.2f}"
        )
        print(f"{'ours, greedy':<40} {greedy['bleu']:>6.2f} {greedy['chrf']:>6.2f}")
        print(f"{'ours, beam 5':<40} {beam['bleu']:>6.2f} {beam['chrf']:>6.2f}")
        print("reference examples:", *zip(test_en[:3], hypotheses[:3]), sep="\n  ", flush=True)

    rows = []
    for batch_size in (1, 64):
        mine = sentences_per_second(ours.translate, test_en, batch_size, args.seconds)
        theirs = sentences_per_second(reference.translate, test_en, batch_size, args.seconds)
        rows.append((f"greedy, batch {batch_size} (sentences/s)", mine, theirs))
        beam = sentences_per_second(
            lambda t: ours.translate(t, beam_size=5), test_en, batch_size, args.seconds
        )
        rows.append((f"beam 5, batch {batch_size} (sentences/s)", beam, theirs))
    trainee = seqapps.load(args.model)  # a copy: the entry itself is never trained here
    mine = training_examples_per_second(
        lambda d: trainee.fit(d, verbose=0),
        trainee.make_dataset(train_en, train_es, batch_size=64, shuffle=True),
        args.train_batches,
    )
    theirs = training_examples_per_second(
        lambda d: reference.model.fit(d, verbose=0),
        reference.dataset(train_en, train_es),
        args.train_batches,
    )
    rows.append(("training (examples/s)", mine, theirs))
    trained = "trained" if args.train_minutes else "untrained: it decodes all 100 steps"
    print(f"{'measure':<34} {'seqapps':>10} {'reference':>10} {'ratio':>7}   ({trained})")
    for name, mine, theirs in rows:
        print(f"{name:<34} {mine:>10.1f} {theirs:>10.1f} {mine / theirs:>6.2f}x")


if __name__ == "__main__":
    main()
