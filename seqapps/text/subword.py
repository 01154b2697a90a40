"""Subword text: a SentencePiece model learned from a corpus, as a Keras layer saved with the model."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable

import keras
import tensorflow as tf

#: The id layout every `SubwordVectorizer` uses; `train_subword_model` writes models with it.
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3


def train_subword_model(
    texts: Iterable[str],
    vocabulary_size: int = 8000,
    *,
    model_type: str = "unigram",
    character_coverage: float = 1.0,
) -> bytes:
    """Learns a SentencePiece model of at most `vocabulary_size` ids from `texts`; returns its proto.

    The model keeps case, accents and punctuation, normalises text with NFKC
    (`nmt_nfkc`), and reserves ids 0–3 for padding, `<unk>`, start `<s>` and
    end `</s>`, the layout `SubwordVectorizer` relies on. The same corpus and
    arguments give the same model.
    """
    import sentencepiece

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError("train_subword_model needs at least one non-empty text")
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        vocab_size=vocabulary_size,
        model_type=model_type,
        character_coverage=character_coverage,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=START_ID,
        eos_id=END_ID,
        num_threads=1,  # several threads can order equal-score pieces differently
        input_sentence_size=0,
        hard_vocab_limit=False,  # a small corpus gets the pieces it has, not an error
        minloglevel=2,
    )
    return model.getvalue()


@keras.saving.register_keras_serializable(package="seqapps")
class SubwordVectorizer(keras.layers.Layer):
    """Raw strings to right-padded subword ids and back, with SentencePiece.

    Tokenizing and detokenizing are TensorFlow ops (tensorflow-text), so they
    run inside `tf.data`, inside the model and inside an exported SavedModel (a
    serving client must `import tensorflow_text` before loading it). Pieces
    keep case, accents and punctuation, and detokenizing gives back the
    (NFKC-normalised) text, spaces included.

    Ids: 0 padding, 1 `<unk>` (characters the model never saw), 2 start, 3
    end, then the pieces. `start_id` and `end_id` are the only place a task
    learns them.

    Args:
        model: the serialized SentencePiece model (bytes, see
            `train_subword_model`), or its base64 text as `get_config` stores it.
        max_length: keep at most this many pieces of each text (the first
            ones); `None` keeps all.
        add_start / add_end: put the start / end id around every text.

    Example:

    >>> proto = train_subword_model(["the cat sat", "the dog sat"] * 50, 20)  # doctest: +SKIP
    >>> vectorizer = SubwordVectorizer(proto)  # doctest: +SKIP
    >>> vectorizer.detokenize(vectorizer(tf.constant(["the cat sat"])))  # doctest: +SKIP
    """

    start_id = START_ID
    end_id = END_ID
    #: Ids a generating model must never write: padding, `<unk>` and start.
    never_written_ids = (PAD_ID, UNK_ID, START_ID)

    def __init__(self, model, max_length=None, add_start=False, add_end=False, **kwargs):
        super().__init__(**kwargs)
        self.model = model if isinstance(model, bytes) else base64.b64decode(model)
        self.max_length = max_length
        self.add_start = add_start
        self.add_end = add_end
        self._processor = None

    def build(self, input_shape=None):
        # Nothing to create: the SentencePiece resource is made from `model` on first use.
        self.built = True

    @property
    def processor(self):
        if self._processor is None:
            import tensorflow_text

            # Outside any function being traced (a tf.data map, a tf.function), so
            # that every later graph can use the one resource. The resource is
            # shared by its op's name in a loaded SavedModel: two unnamed
            # tokenizers there would both use the first's model.
            with tf.init_scope():
                self._processor = tensorflow_text.SentencepieceTokenizer(
                    self.model, out_type=tf.int32, name=f"{self.name}_sentencepiece"
                )
        return self._processor

    @property
    def vocabulary_size(self):
        """Number of ids, the special ones included."""
        import sentencepiece

        return sentencepiece.SentencePieceProcessor(model_proto=self.model).get_piece_size()

    def pieces(self, ids):
        """The piece strings of ids (any shape)."""
        return self.processor.id_to_string(ids)

    def tokenize(self, texts):
        """Strings `[batch]` to a ragged `[batch, None]` int32 tensor of ids (no padding)."""
        ids = self.processor.tokenize(tf.convert_to_tensor(texts, tf.string))
        if self.max_length is not None:
            ids = ids[:, : self.max_length]
        batch = ids.nrows()
        if self.add_start:
            ids = tf.concat([tf.fill([batch, 1], START_ID), ids], axis=1)
        if self.add_end:
            ids = tf.concat([ids, tf.fill([batch, 1], END_ID)], axis=1)
        return ids

    def call(self, texts):
        ids = self.tokenize(texts)
        # At least one step, so an empty text is a fully masked row, not a 0-length batch.
        dense = ids.to_tensor(default_value=PAD_ID)
        return tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])

    def detokenize(self, ids):
        """Ids `[batch, time]` (dense or ragged) to strings; special ids are dropped."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids, tf.int32))
        kept = tf.ragged.boolean_mask(ids, ids > END_ID)
        return self.processor.detokenize(kept)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "model": base64.b64encode(self.model).decode("ascii"),
            "max_length": self.max_length,
            "add_start": self.add_start,
            "add_end": self.add_end,
        }
