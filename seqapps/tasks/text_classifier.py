"""Text classification (many-to-one): sentiment and any other label set."""

import keras
import numpy as np
import tensorflow as tf

from seqapps.interface import Interface, Option
from seqapps.layers import MaskedMaxPooling, MaskedMeanPooling, RecurrentStack
from seqapps.tasks.adversarial import adversarial_perturbation
from seqapps.tasks.classifier_csv import read_labelled_csv
from seqapps.tasks.heads import head_names
from seqapps.tasks.inputs import standardize_texts
from seqapps.tasks.task import Task, string_signature
from seqapps.tasks.word_vectors import built_from_vectors, word_embedding
from seqapps.text import TextVectorizer
from seqapps.text.lexicon import LexiconFeatures

POOLINGS = ("last", "mean", "max")


@keras.saving.register_keras_serializable(package="seqapps")
class TextClassifier(Task):
    """Raw text in, one label per text out: embedding → recurrent stack → softmax.

    The tokenizer (`tokenizer`, a `TextVectorizer`) is part of the model, so
    `fit`, `predict`, `evaluate` and the exported SavedModel all take raw
    strings. Words outside the vocabulary map to `[UNK]`; texts longer than `max_length` words keep their first
    `max_length` words.

    Args:
        vocabulary: the word list of the tokenizer (see `build_vocabulary`).
        labels: the label names, in id order, e.g. `["negative", "positive"]`.
        cell: `"rnn"`, `"lstm"` or `"gru"`.
        units: hidden size of each recurrent layer (per direction).
        num_layers: depth of the recurrent stack.
        bidirectional: read the text both ways.
        embedding_dim: size of the word vectors trained from scratch (with
            pretrained vectors: of a second table beside them, 0 for none).
        pretrained_dim: size of pretrained word vectors (0: none). Build the
            model with `TextClassifier.from_vectors`, which fills them in; they
            are saved with the model.
        pretrained_mode: `"finetune"`, `"frozen"` or `"offset"` (frozen
            vectors plus a trained offset); see `seqapps.layers.WordEmbedding`.
        trained_rows: with pretrained vectors, the ids (from 0) of the words
            the training data has; the trained table starts at zero beyond them.
        embedding_dtype: storage type of the word vectors. The zoo entries keep
            them in `"float16"`, which halves the file (they are most of the
            weights); computation runs in float32 either way. Pass
            `embedding_dtype="float32"` to `from_preset` to fine-tune them at
            full precision.
        dropout: dropout on the word vectors, between recurrent layers and
            before the head.
        pooling: how the sequence becomes one vector: the final state
            (`"last"`), or the mean or max of the outputs over the (unpadded) words.
        max_length: words kept per text.
        lexicon: `"opinion-en"` to give every word, beside its vector, four numbers from
            the AFINN-111 and Liu opinion lexicons and a negation flag (see
            `seqapps.text.lexicon`); None for none.

    Example:

    >>> import seqapps
    >>> model = seqapps.load("sentiment-lstm")
    >>> model.classify("a gorgeous, witty, seductive movie.")["label"]
    'positive'
    """

    task_name = "text-classification"
    interface = Interface(
        "classify",
        "label texts (arguments, --file, or lines on stdin)",
        options=(
            Option(
                "--all-scores",
                "all_scores",
                "every label's score too (a name=score column, 'scores' in JSON)",
                "flag",
            ),
        ),
        finetune=(
            Option("--data", "path", "a CSV/TSV file of texts and labels", "path", required=True),
            Option("--text-column", "text_column", "the CSV column of the texts", default="text"),
            Option("--label-column", "label_column", "the CSV column of labels", default="label"),
            Option(
                "--labels-from-data",
                "labels_from_data",
                "read numbers in --label-column as label names (e.g. 1-5 stars), not as ids "
                "of the model's labels",
                "flag",
            ),
            Option(
                "--adversarial-epsilon",
                "adversarial_epsilon",
                "adversarial training on the word vectors, as the sentiment recipe (e.g. 0.2)",
                "float",
            ),
        ),
        aliases=("predict",),
    )
    head_layers = ("head",)
    head_arguments = ("labels",)

    def __init__(
        self,
        vocabulary,
        labels,
        cell="lstm",
        units=128,
        num_layers=1,
        bidirectional=False,
        embedding_dim=128,
        embedding_dtype="float32",
        dropout=0.0,
        pooling="last",
        max_length=256,
        pretrained_dim=0,
        pretrained_mode="finetune",
        trained_rows=None,
        lexicon=None,
        **kwargs,
    ):
        labels = head_names(labels, "labels")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")

        # Layers.
        tokenizer = TextVectorizer(
            vocabulary, split="word", max_length=max_length, name="vectorizer"
        )
        embedding = word_embedding(
            tokenizer.vocabulary_size,
            embedding_dim,
            pretrained_dim=pretrained_dim,
            pretrained_mode=pretrained_mode,
            trained_rows=trained_rows,
            dtype=embedding_dtype,
        )
        encoder = RecurrentStack(
            cell,
            units,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            return_sequences=pooling != "last",
            name="encoder",
        )
        head = keras.layers.Dense(len(labels), activation="softmax", name="head")
        pooling_layer = None
        if pooling == "mean":
            pooling_layer = MaskedMeanPooling(name="pooling")
        elif pooling == "max":
            pooling_layer = MaskedMaxPooling(name="pooling")
        after_embedding = {
            "embedding_dropout": keras.layers.Dropout(dropout, name="embedding_dropout"),
            "with_lexicon": keras.layers.Concatenate(name="with_lexicon") if lexicon else None,
            "encoder": encoder,
            "pooling": pooling_layer,
            "head_dropout": keras.layers.Dropout(dropout, name="head_dropout"),
            "head": head,
        }

        # Functional graph.
        texts = keras.Input(shape=(), dtype="string", name="texts")
        features = None
        if lexicon:
            features = LexiconFeatures(lexicon, max_length=max_length, name="lexicon")(texts)
        ids = tokenizer(texts)
        # Concatenate drops the embedding's mask, so with features the padding is masked by hand.
        mask = keras.ops.not_equal(ids, 0) if lexicon else None
        probabilities = _classify_vectors(
            after_embedding.get, embedding(ids), mask, features=features
        )
        super().__init__(inputs=texts, outputs=probabilities, **kwargs)

        # Config.
        self.tokenizer = tokenizer
        self.vocabulary = list(vocabulary)
        self.labels = labels
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.embedding_dim = embedding_dim
        self.embedding_dtype = embedding_dtype
        self.dropout = dropout
        self.pooling = pooling
        self.max_length = max_length
        self.pretrained_dim = pretrained_dim
        self.pretrained_mode = pretrained_mode
        self.trained_rows = trained_rows
        self.lexicon = lexicon
        self.compile()

    @classmethod
    def from_vectors(cls, vectors, texts, labels, *, vocabulary_size=40000, seed=0, **kwargs):
        """A classifier whose word vectors start from pretrained `vectors` (a `WordVectors`).

        The vocabulary is every word of `texts` (or `vocabulary=` if given),
        then the most frequent words of `vectors` it lacks, up to
        `vocabulary_size` words in all, so a word the training texts never show
        still has its meaning at test time and after `finetune`. Other keyword
        arguments go to the constructor. Returns the model and the
        `EmbeddingInit` (its `missing` words started random).

        Example:

        >>> from seqapps.text import WordVectors
        >>> vectors = WordVectors(["good", "bad", "fine"], np.eye(3, dtype="float32"))
        >>> model, init = TextClassifier.from_vectors(
        ...     vectors, ["good film", "bad film"], ["neg", "pos"], vocabulary_size=5, units=4)
        >>> model.vocabulary, init.missing
        (['film', 'bad', 'good', 'fine'], ['film'])
        """
        from seqapps.text import build_vocabulary

        trained = kwargs.pop("vocabulary", None)
        if trained is None:
            trained = build_vocabulary(texts, max_size=None)
        return built_from_vectors(
            cls, vectors, trained, labels, vocabulary_size=vocabulary_size, seed=seed, **kwargs
        )

    def get_config(self):
        return {
            "vocabulary": self.vocabulary,
            "labels": self.labels,
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "embedding_dim": self.embedding_dim,
            "embedding_dtype": self.embedding_dtype,
            "dropout": self.dropout,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "pretrained_dim": self.pretrained_dim,
            "pretrained_mode": self.pretrained_mode,
            "trained_rows": self.trained_rows,
            "lexicon": self.lexicon,
        }

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        *,
        adversarial_epsilon=0.0,
        **kwargs,
    ):
        """Keras's `compile`, with defaults for the task and one option of its own.

        Args:
            adversarial_epsilon: when above 0, every training step also trains
                on the batch with each text's word vectors moved in the
                direction that raises the loss most, by `adversarial_epsilon`
                times their own L2 norm, and adds the two losses: adversarial
                training on embeddings (Miyato et al., 2017, "Adversarial
                Training Methods for Semi-Supervised Text Classification"; see
                `adversarial_perturbation`). A regularizer for small datasets;
                a step makes two forward and three backward passes, about four
                times a plain step on a CPU (`bench/sentiment_speed.py`). 0
                trains as plain Keras does.
        """
        if not adversarial_epsilon >= 0:
            raise ValueError(f"adversarial_epsilon must be 0 or more, got {adversarial_epsilon!r}")
        self.adversarial_epsilon = float(adversarial_epsilon)
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy()
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def train_step(self, data):
        if not self.adversarial_epsilon:
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        layers = {layer.name: layer for layer in self.layers}
        ids = self.tokenizer(x)
        mask = tf.not_equal(ids, 0)
        # The lexicon's numbers are facts about the words, not moved by the perturbation.
        features = layers["lexicon"](x) if "lexicon" in layers else None

        def loss_of(probabilities):
            return self.compute_loss(
                x=x, y=y, y_pred=probabilities, sample_weight=sample_weight, training=True
            )

        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                vectors = tf.cast(layers["embedding"](ids), self.compute_dtype)
                inner.watch(vectors)
                probabilities = _classify_vectors(
                    layers.get, vectors, mask, training=True, features=features
                )
                loss = loss_of(probabilities)
            direction = tf.stop_gradient(inner.gradient(loss, vectors))
            perturbation = adversarial_perturbation(
                direction, tf.stop_gradient(vectors), mask, self.adversarial_epsilon
            )
            adversarial = _classify_vectors(
                layers.get, vectors + perturbation, mask, training=True, features=features
            )
            loss = loss + loss_of(adversarial)
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        # Keras's losses are divided by the replicas of a tf.distribute strategy; report the whole.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss * replicas, sample_weight=tf.shape(ids)[0])
        return self._logs_for_strategy(
            self.compute_metrics(x, y, probabilities, sample_weight=sample_weight)
        )

    # -- the plain verb --------------------------------------------------------

    def classify(self, texts, *, all_scores=False, batch_size=64):
        """Labels raw texts.

        Returns, per text, `{"label": name, "score": probability}` (plus
        `"scores": {name: probability}` with `all_scores=True`): a dict for a
        single string, a list of dicts for a list. An empty or whitespace-only
        text has no words, so its answer is the model's prior; bytes are decoded
        as UTF-8; `None` or non-string items raise `TypeError`.
        """
        batch, single = standardize_texts(texts)
        if not batch:
            return []
        probabilities = self.call_in_batches(batch, batch_size)
        results = [labelled(row, self.labels, all_scores) for row in probabilities]
        return results[0] if single else results

    def plain(self, inputs, *, all_scores=False, **options):
        for answer in self.answer(inputs, all_scores=all_scores, **options):
            columns = [answer["label"], f"{answer['score']:.3f}", answer["text"]]
            if all_scores:
                columns.insert(2, " ".join(f"{k}={v:.3f}" for k, v in answer["scores"].items()))
            yield "\t".join(columns) + "\n"

    def finetune_data(self, path, text_column, label_column, labels_from_data, adversarial_epsilon):
        """Labels the model has keep its head; other names, or numbers read as names
        (`labels_from_data`), get a fresh head on the pretrained layers; other numbers are
        ids of the model's labels (said on stderr)."""
        model, examples = read_labelled_csv(self, path, text_column, label_column, labels_from_data)
        return model, (examples,), {"adversarial_epsilon": adversarial_epsilon or 0.0}

    def inspect_inputs(self, texts):
        tokens = self.tokenizer.tokenize(texts).to_list()
        return np.asarray(texts, dtype=object), [[t.decode("utf-8") for t in row] for row in tokens]

    # -- targets ---------------------------------------------------------------

    def _raw_inputs(self, x):
        """Raw texts as an array Keras accepts; a non-string item is refused by its index."""
        if isinstance(x, (list, tuple)) or type(x).__name__ == "Series":
            texts, _ = standardize_texts(list(x), name="x")
            return np.asarray(texts, dtype=object)
        if isinstance(x, np.ndarray) and x.dtype.kind in "US":
            return x.astype(object)  # NumPy's fixed-width strings: Keras wants objects
        return super()._raw_inputs(x)

    def _raw_targets(self, y):
        """Label names or ids to ids; anything outside the label set raises."""
        y = super()._raw_targets(y)
        if y is None or isinstance(y, tf.data.Dataset) or tf.is_tensor(y):
            return y
        y = np.asarray(y)
        if y.dtype.kind in "OUS":
            index = {name: i for i, name in enumerate(self.labels)}
            unknown = sorted({str(v) for v in y.tolist()} - set(index))
            if unknown:
                raise ValueError(
                    f"labels {unknown} in the data are not among the model's labels "
                    f"{self.labels}; load the model with labels=[...] naming every label "
                    f"to get a fresh head for them"
                )
            return np.array([index[str(v)] for v in y.tolist()], dtype="int64")
        if y.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
            if bad.size:
                raise ValueError(
                    f"label ids must be integers; row {bad[0]} has {y[bad[0]].item()!r}. Pass label "
                    f"names or integer ids in 0..{len(self.labels) - 1}"
                )
        if y.dtype.kind == "b":
            raise ValueError("labels must be names or integer ids, got booleans")
        if y.size and (y.min() < 0 or y.max() >= len(self.labels)):
            raise ValueError(
                f"label ids must lie in 0..{len(self.labels) - 1} for labels {self.labels}, "
                f"got values from {y.min()} to {y.max()}"
            )
        return y.astype("int64")

    # -- export ----------------------------------------------------------------

    def serving_endpoints(self):
        label_names = tf.constant(self.labels)

        def classify(texts):
            probabilities = self(texts, training=False)
            label_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
            return {
                "probabilities": probabilities,
                "label_ids": label_ids,
                "labels": tf.gather(label_names, label_ids),
            }

        return {"classify": (classify, string_signature("texts"))}

    def _write_export_assets(self, assets_dir):
        assets_dir.mkdir(parents=True, exist_ok=True)
        (assets_dir / "labels.txt").write_text("\n".join(self.labels) + "\n", encoding="utf-8")


def _classify_vectors(layer, vectors, mask=None, training=None, features=None):
    """The graph after the embedding: dropout → (lexicon features) → encoder → pooling →
    dropout → head.

    `layer` maps a layer name to the layer (or None for no pooling). Shared by
    the functional graph, where the mask travels with `vectors`, and the
    adversarial training step, which passes it.
    """
    x = layer("embedding_dropout")(vectors, training=training)
    if features is not None:
        x = layer("with_lexicon")([x, keras.ops.cast(features, x.dtype)])
    x = layer("encoder")(x, mask=mask, training=training)
    if layer("pooling") is not None:
        x = layer("pooling")(x, mask=mask)
    x = layer("head_dropout")(x, training=training)
    return layer("head")(x)


def labelled(probabilities, labels, all_scores=False) -> dict:
    """`classify`'s answer for one row of probabilities: the best label and its score, and with
    `all_scores` every label's."""
    best = int(np.argmax(probabilities))
    result = {"label": labels[best], "score": float(probabilities[best])}
    if all_scores:
        result["scores"] = {name: float(p) for name, p in zip(labels, probabilities)}
    return result
