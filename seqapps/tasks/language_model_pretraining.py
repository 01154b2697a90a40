"""Language-model pretraining of a text classifier's word vectors and recurrent stack.

Dai & Le (2015, "Semi-supervised Sequence Learning") train the classifier's LSTM
first as a language model on unlabelled text, then fine-tune it on labels. A
bidirectional classifier gets two language models, ELMo-style (Peters et al.,
2018): the forward half of its recurrent layer learns to predict the next word
from the words before it, the backward half the previous word from the words
after it, each on its own, so neither ever sees the word it predicts. Both share
the classifier's word embedding.

    >>> pretrained = pretrain_language_model(classifier, texts)  # doctest: +SKIP
    >>> pretrained.save("lm.npz")  # doctest: +SKIP
    >>> load_language_model(other_classifier, "lm.npz")  # doctest: +SKIP

The softmax over the whole vocabulary is most of a step's cost on a CPU, so only
the `output_vocabulary` most frequent words (the vocabulary's first ids) are
predicted, through a sampled softmax (Jean et al., 2015); rarer words are read
but left out of the loss.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

FORMAT = "seqapps-language-model/1"
FIRST_PREDICTED = 2  # ids 0 (padding) and 1 ([UNK]) are never targets


def language_model_layers(classifier) -> tuple[keras.layers.Layer, dict[str, list]]:
    """The classifier's embedding and, per direction, the recurrent layers a language model trains.

    A one-way stack of any depth is one forward model. A bidirectional stack must have one
    layer: a second layer reads both halves of the first, so it would see the word it predicts.
    """
    embedding = classifier.get_layer("embedding")
    encoder = classifier.get_layer("encoder")
    if not encoder.bidirectional:
        return embedding, {"forward": list(encoder.recurrent_layers)}
    if encoder.num_layers != 1:
        raise ValueError(
            f"language-model pretraining of a bidirectional stack needs num_layers=1, got "
            f"{encoder.num_layers}: a second layer reads both directions of the first, so each "
            "language model would see the word it predicts. Use one layer, or bidirectional=False"
        )
    (layer,) = encoder.recurrent_layers
    return embedding, {"forward": [layer.forward_layer], "backward": [layer.backward_layer]}


def _clone(layer, **overrides):
    clone = layer.__class__.from_config({**layer.get_config(), **overrides})
    return clone


class PretrainedLanguageModel:
    """The language models of one classifier: the weights that initialise it, and how they were trained.

    Args (built by `pretrain_language_model` or `read`):
        vocabulary: the classifier's vocabulary (a weights file fits only a classifier with it).
        shape: the classifier's embedding and encoder settings the weights fit.
        weights: `{"embedding": [arrays], "forward": [[arrays per layer]], "backward": ...}`.
        stats: what the training measured (tokens, tokens/s, losses).
    """

    def __init__(self, vocabulary, shape, weights, stats=None):
        self.vocabulary = list(vocabulary)
        self.shape = dict(shape)
        self.weights = weights
        self.stats = dict(stats or {})

    def apply_to(self, classifier) -> None:
        """Sets the classifier's embedding and recurrent weights to the language models'.

        Refuses, naming what differs, a classifier of another vocabulary or shape.
        """
        _check_fits(self, classifier, "these language-model weights")
        embedding, directions = language_model_layers(classifier)
        embedding.set_weights(self.weights["embedding"])
        for direction, layers in directions.items():
            for layer, arrays in zip(layers, self.weights[direction]):
                layer.set_weights(arrays)

    def save(self, path) -> Path:
        """Writes an `.npz` file (arrays + a JSON header); a failed write leaves the old file intact."""
        path = Path(path)
        arrays = {f"embedding/{i}": w for i, w in enumerate(self.weights["embedding"])}
        for direction in ("forward", "backward"):
            for index, layer in enumerate(self.weights.get(direction, [])):
                for i, w in enumerate(layer):
                    arrays[f"{direction}/{index}/{i}"] = w
        header = {"format": FORMAT, "vocabulary": self.vocabulary, "shape": self.shape}
        header["stats"] = self.stats
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        try:
            np.savez(staging, header=np.array(json.dumps(header)), **arrays)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)
        return path

    @classmethod
    def read(cls, path) -> PretrainedLanguageModel:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no language-model weights at {path}; write them with "
                "`python -m seqapps.zoo.recipes.lm_pretraining --out " + str(path) + " ...`"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                arrays = {key: data[key] for key in data.files if key != "header"}
        except (ValueError, KeyError, OSError) as error:
            raise ValueError(
                f"{path} is not a language-model weights file ({error}); write it again with "
                "`python -m seqapps.zoo.recipes.lm_pretraining`"
            ) from None
        if header.get("format") != FORMAT:
            raise ValueError(f"{path} has format {header.get('format')!r}, expected {FORMAT!r}")
        weights = {"embedding": _ordered(arrays, "embedding/")}
        for direction in ("forward", "backward"):
            layers = sorted({int(k.split("/")[1]) for k in arrays if k.startswith(direction + "/")})
            if layers:
                weights[direction] = [_ordered(arrays, f"{direction}/{n}/") for n in layers]
        return cls(header["vocabulary"], header["shape"], weights, header.get("stats"))


def _ordered(arrays, prefix):
    keys = sorted(
        (k for k in arrays if k.startswith(prefix)), key=lambda k: int(k.rsplit("/", 1)[1])
    )
    return [arrays[k] for k in keys]


def classifier_shape(classifier) -> dict:
    """The settings language-model weights depend on."""
    embedding, directions = language_model_layers(classifier)
    return {
        "cell": classifier.cell,
        "units": classifier.units,
        "num_layers": classifier.num_layers,
        "bidirectional": classifier.bidirectional,
        "embedding": [list(w.shape) for w in embedding.get_weights()],
    }


def _check_fits(pretrained, classifier, what) -> None:
    fix = (
        "pretrain again with the classifier's own options (cell, units, layers, embedding, "
        "vocabulary and vectors options)"
    )
    if pretrained.vocabulary != list(classifier.vocabulary):
        ours, theirs = pretrained.vocabulary, list(classifier.vocabulary)
        first = next(
            (i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs))
        )
        raise ValueError(
            f"{what} were trained for a vocabulary of {len(ours)} words, the classifier has "
            f"{len(theirs)}; they first differ at word {first}; {fix}"
        )
    shape = classifier_shape(classifier)
    if pretrained.shape != shape:
        differ = {
            k: (pretrained.shape.get(k), v)
            for k, v in shape.items()
            if pretrained.shape.get(k) != v
        }
        raise ValueError(
            f"{what} do not fit the classifier: (theirs, classifier's) {differ}; {fix}"
        )


def load_language_model(classifier, path) -> PretrainedLanguageModel:
    """Initialises `classifier`'s embedding and recurrent stack from a weights file written by
    `PretrainedLanguageModel.save`; returns what was read (its `stats` say how it was trained)."""
    pretrained = PretrainedLanguageModel.read(path)
    try:
        pretrained.apply_to(classifier)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return pretrained


class LanguageModels:
    """Trainable copies of a classifier's embedding and recurrent layers, with an output softmax
    per direction over the first `output_vocabulary` ids; `loss` and `train` work on windows."""

    def __init__(self, classifier, output_vocabulary, num_sampled, seed=0):
        embedding, directions = language_model_layers(classifier)
        size = classifier.tokenizer.vocabulary_size
        self.output_vocabulary = int(min(output_vocabulary, size))
        if self.output_vocabulary <= FIRST_PREDICTED:
            raise ValueError(
                f"output_vocabulary must be above {FIRST_PREDICTED}, got {output_vocabulary}"
            )
        self.num_sampled = int(min(num_sampled, self.output_vocabulary - 1))
        self.classifier = classifier
        self.embedding = _clone(embedding)
        self.embedding.build((None, None))
        self.embedding.set_weights(embedding.get_weights())
        # The classifier drops out its word vectors and its pooled states; the language models
        # drop out the same share of their inputs and outputs, so that fine-tuning does not
        # hand the pretrained layers vectors unlike those they learnt from.
        self.dropout = keras.layers.Dropout(classifier.dropout, seed=seed)
        self.directions = {}
        rng = np.random.default_rng(seed)
        for name, layers in directions.items():
            clones = []
            width = self.embedding.compute_output_shape((1, 1))[-1]
            for layer in layers:
                # The backward half reads the text reversed; its copy reads reversed windows instead.
                clone = _clone(
                    layer,
                    return_sequences=True,
                    return_state=False,
                    go_backwards=False,
                    stateful=False,
                )
                clone.build((None, None, width))
                clone.set_weights(layer.get_weights())
                clones.append(clone)
                width = layer.units
            softmax_weights = keras.Variable(
                rng.normal(0, 1 / np.sqrt(width), (self.output_vocabulary, width)).astype(
                    "float32"
                ),
                name=f"{name}_softmax_weights",
            )
            softmax_bias = keras.Variable(
                np.zeros(self.output_vocabulary, "float32"), name=f"{name}_softmax_bias"
            )
            self.directions[name] = (clones, softmax_weights, softmax_bias)
        self.variables = list(self.embedding.trainable_variables)
        for clones, w, b in self.directions.values():
            for clone in clones:
                self.variables.extend(clone.trainable_variables)
            self.variables.extend([w, b])

    def _hidden(self, name, ids, training):
        clones = self.directions[name][0]
        x = tf.cast(self.embedding(ids, training=training), "float32")
        x = self.dropout(x, training=training)
        for clone in clones:
            x = clone(x, training=training)
        return self.dropout(x, training=training)

    def loss(self, windows, *, sampled, training=False):
        """Mean loss per predicted word of `windows` (`[batch, length + 1]` ids), summed over directions.

        With `sampled=False` the full softmax over the output vocabulary (the number to compare)."""
        total = 0.0
        for name, (_, weights, bias) in self.directions.items():
            weights, bias = weights.value, bias.value
            seq = windows if name == "forward" else tf.reverse(windows, axis=[1])
            hidden = self._hidden(name, seq[:, :-1], training)
            targets = tf.reshape(seq[:, 1:], [-1])
            hidden = tf.reshape(hidden, [-1, tf.shape(hidden)[-1]])
            kept = (targets >= FIRST_PREDICTED) & (targets < self.output_vocabulary)
            targets, hidden = tf.boolean_mask(targets, kept), tf.boolean_mask(hidden, kept)
            if sampled:
                losses = tf.nn.sampled_softmax_loss(
                    weights,
                    bias,
                    tf.cast(targets[:, None], tf.int64),
                    hidden,
                    self.num_sampled,
                    self.output_vocabulary,
                )
            else:
                logits = tf.matmul(hidden, weights, transpose_b=True) + bias
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
            total += tf.math.divide_no_nan(
                tf.reduce_sum(losses), tf.cast(tf.size(losses), losses.dtype)
            )
        return total

    def evaluate(self, windows, batch_size=256) -> float:
        """Full-softmax loss per direction, averaged over batches of `windows` (numpy ids)."""
        losses = [
            float(self.loss(tf.constant(windows[i : i + batch_size]), sampled=False))
            for i in range(0, len(windows), batch_size)
        ]
        return float(np.mean(losses)) / len(self.directions) if losses else float("nan")

    def result(self, stats) -> PretrainedLanguageModel:
        weights = {"embedding": self.embedding.get_weights()}
        for name, (clones, _, _) in self.directions.items():
            weights[name] = [clone.get_weights() for clone in clones]
        return PretrainedLanguageModel(
            self.classifier.vocabulary, classifier_shape(self.classifier), weights, stats
        )


def token_windows(classifier, texts, length, batch=4096) -> np.ndarray:
    """The texts' word ids, by the classifier's tokenizer, end to end, cut into rows of `length` + 1
    (a row's last word is the next row's first; the tail that fills no row is dropped)."""
    parts = []
    for start in range(0, len(texts), batch):
        ids = classifier.tokenizer(tf.constant(texts[start : start + batch])).numpy()
        parts.append(ids[ids != 0])
    stream = np.concatenate(parts) if parts else np.zeros(0, "int32")
    rows = (len(stream) - 1) // length
    if rows < 1:
        raise ValueError(
            f"the texts hold {len(stream)} words, fewer than one window of {length + 1}"
        )
    starts = np.arange(rows) * length
    return stream[starts[:, None] + np.arange(length + 1)].astype("int32")


def pretrain_language_model(
    classifier,
    texts,
    *,
    window=40,
    batch_size=64,
    epochs=1,
    max_tokens=None,
    output_vocabulary=20000,
    num_sampled=512,
    learning_rate=2e-3,
    held_out=None,
    seed=0,
    log_every=200,
    log=print,
) -> PretrainedLanguageModel:
    """Trains language models on `texts` from the classifier's current weights and returns them.

    The classifier is left as it was; `PretrainedLanguageModel.apply_to` (or `save` and
    `load_language_model`) puts the weights into a classifier of the same vocabulary and shape.

    Args:
        classifier: a `TextClassifier` (its tokenizer, embedding and encoder are used).
        texts: unlabelled strings, read end to end in windows of `window` words.
        batch_size: windows per step.
        epochs: passes over the windows (shuffled anew each pass), cut short by `max_tokens`.
        max_tokens: stop after this many words read per direction (None: no limit).
        output_vocabulary: predict only the words of the first this many ids (the most frequent
            training words); the others are read, not predicted.
        num_sampled: negative words of the sampled softmax per step.
        learning_rate: Adam's, with gradients clipped to norm 1.
        held_out: texts whose full-softmax loss is measured before and after (the stats).
        log: called with a line of progress every `log_every` steps (None: quiet).
    """
    keras.utils.set_random_seed(seed)
    models = LanguageModels(classifier, output_vocabulary, num_sampled, seed=seed)
    windows = token_windows(classifier, list(texts), window)
    held = token_windows(classifier, list(held_out), window) if held_out else None
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=1.0)
    optimizer.build(models.variables)

    @tf.function(reduce_retracing=True)
    def step(batch):
        with tf.GradientTape() as tape:
            loss = models.loss(batch, sampled=True, training=True)
        optimizer.apply(tape.gradient(loss, models.variables), models.variables)
        return loss

    stats = {
        "windows": int(len(windows)),
        "window": window,
        "tokens_available": int(windows[:, 1:].size),
        "output_vocabulary": models.output_vocabulary,
        "num_sampled": models.num_sampled,
        "directions": list(models.directions),
    }
    if held is not None:
        stats["held_out_loss_before"] = round(models.evaluate(held), 4)
    rng = np.random.default_rng(seed)
    read, steps, recent, started = 0, 0, [], time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(windows))
        for start in range(0, len(order), batch_size):
            if max_tokens is not None and read >= max_tokens:
                break
            batch = windows[order[start : start + batch_size]]
            recent.append(float(step(tf.constant(batch))) / len(models.directions))
            read += batch[:, 1:].size
            steps += 1
            if log and steps % log_every == 0:
                rate = read / (time.perf_counter() - started)
                log(
                    f"step {steps}: {read} words, sampled loss {np.mean(recent):.3f}, {rate:.0f} words/s"
                )
                recent = []
    seconds = time.perf_counter() - started
    stats.update(
        steps=steps,
        tokens_read=int(read),
        seconds=round(seconds, 1),
        tokens_per_second=round(read / max(seconds, 1e-9), 1),
    )
    if held is not None:
        stats["held_out_loss_after"] = round(models.evaluate(held), 4)
    return models.result(stats)
