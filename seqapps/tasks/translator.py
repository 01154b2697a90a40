"""Translation (many-to-many, encoder-decoder): a recurrent encoder, an attentive decoder, beam search."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from seqapps.interface import ATTENTION, GENERATION, Interface, Option
from seqapps.layers import AttentionDecoder, RecurrentStack, StateBridge
from seqapps.tasks.encoder_decoder import EncoderDecoderTask
from seqapps.tasks.inputs import check_list, standardize_texts
from seqapps.tasks.task import padded, unbatched
from seqapps.text import SubwordVectorizer


@keras.saving.register_keras_serializable(package="seqapps")
class Translator(EncoderDecoderTask):
    """Encoder-decoder with attention: source subwords → recurrent encoder → attentive decoder → target subwords.

    The encoder (`RecurrentStack`, bidirectional by default) reads the source
    once; a `StateBridge` turns its final states into the decoder's first
    state; the `AttentionDecoder` then writes the target one piece at a time,
    looking back at every encoder output. The model's own inputs are ids:
    `(source_ids [batch, source_time], target_ids [batch, time])` → logits of
    the next target piece `[batch, time, target_vocabulary]` (teacher forcing;
    `make_dataset` turns raw text pairs into these). The plain verb
    `translate` takes and gives raw text.

    Args:
        source_model / target_model: serialized SentencePiece models (see
            `seqapps.text.train_subword_model`).
        cell: `"rnn"`, `"lstm"` or `"gru"`, for encoder and decoder.
        units: hidden size of the encoder (per direction) and the decoder.
        num_layers: depth of the encoder and of the decoder.
        bidirectional: read the source both ways.
        attention: `"additive"` (Bahdanau) or `"multiplicative"` (Luong).
        embedding_dim: size of the piece vectors.
        dropout: dropout on vectors, between layers and on the decoder features.
        max_source_length: source pieces read (the rest is cut, documented in `translate`).
        recurrent_gain: scale of the encoder's and decoder's starting recurrent
            weights; 0.5 for a SimpleRNN (`RecurrentStack` says why).

    Example:

    >>> import seqapps
    >>> model = seqapps.load("translate-en-es-gru")  # doctest: +SKIP
    >>> model.translate("In the beginning God created the heavens and the earth.")  # doctest: +SKIP
    """

    task_name = "translation"
    interface = Interface(
        "translate",
        "translate texts (arguments, --file, or lines on stdin)",
        output="translation",
        plain="{translation}",
        options=(*GENERATION, ATTENTION),
        finetune=(Option("--data", "path", "source<TAB>target lines", "path", required=True),),
    )
    head_layers = ()
    finetune_unit = "pairs"

    def __init__(
        self,
        source_model,
        target_model,
        cell="gru",
        units=256,
        num_layers=1,
        bidirectional=True,
        attention="multiplicative",
        embedding_dim=256,
        dropout=0.0,
        max_source_length=256,
        recurrent_gain=1.0,
        **kwargs,
    ):
        # Layers.
        tokenizer = SubwordVectorizer(
            source_model, max_length=max_source_length, name="source_vectorizer"
        )
        target_tokenizer = SubwordVectorizer(
            target_model, add_start=True, add_end=True, name="target_vectorizer"
        )
        source_embedding = keras.layers.Embedding(
            tokenizer.vocabulary_size,
            embedding_dim,
            mask_zero=True,
            name="source_embedding",
        )
        encoder = RecurrentStack(
            cell,
            units,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            return_sequences=True,
            return_state=True,
            recurrent_gain=recurrent_gain,
            name="encoder",
        )
        bridge = StateBridge(cell, units, num_layers, encoder.state_names, name="bridge")
        target_embedding = keras.layers.Embedding(
            target_tokenizer.vocabulary_size, embedding_dim, name="target_embedding"
        )
        decoder = AttentionDecoder(
            cell,
            units,
            num_layers=num_layers,
            attention=attention,
            dropout=dropout,
            recurrent_gain=recurrent_gain,
            name="decoder",
        )
        embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        head = keras.layers.Dense(target_tokenizer.vocabulary_size, name="head")

        # Functional graph (teacher forcing).
        source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        target_ids = keras.Input(shape=(None,), dtype="int32", name="target_ids")
        memory, *encoder_states = self._encode_with(
            source_ids, source_embedding, embedding_dropout, encoder
        )
        features, _, _ = decoder(
            embedding_dropout(target_embedding(target_ids)),
            memory=memory,
            memory_mask=keras.ops.not_equal(source_ids, 0),
            initial_state=bridge(encoder_states),
        )
        logits = head(features)
        super().__init__(inputs=(source_ids, target_ids), outputs=logits, **kwargs)

        # Config.
        self.tokenizer = tokenizer
        self.target_tokenizer = target_tokenizer
        self.source_model = tokenizer.model
        self.target_model = target_tokenizer.model
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.attention = attention
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.max_source_length = max_source_length
        self.recurrent_gain = recurrent_gain
        self.compile()

    @staticmethod
    def _encode_with(source_ids, embedding, dropout, encoder, training=None):
        memory, states = encoder(
            dropout(embedding(source_ids), training=training), training=training
        )
        return memory, *states

    def get_config(self):
        return {
            "source_model": self.tokenizer.get_config()["model"],
            "target_model": self.target_tokenizer.get_config()["model"],
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "attention": self.attention,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
            "max_source_length": self.max_source_length,
            "recurrent_gain": self.recurrent_gain,
        }

    # -- data --------------------------------------------------------------------

    def make_dataset(self, sources, targets=None, *, batch_size=64, shuffle=False, seed=0):
        """Raw `(source, target)` text pairs → batches of `((source_ids, target_ids), next_ids)`.

        `sources` may be a `tf.data.Dataset` of pairs (e.g.
        `seqapps.datasets.load("bible_en_es", split="train")`), or `sources`
        and `targets` lists/Series of strings (read by `finetune_examples`).
        The target ids read by the decoder start with the start id; the ids to
        predict end with the end id.
        Batches group texts of similar length (`bucket_by_length`).
        """
        pairs = self.finetune_examples(sources, targets)
        if shuffle:
            pairs = pairs.shuffle(100_000, seed=seed, reshuffle_each_iteration=True)

        def vectorize(source, target):
            source_ids = self.tokenizer.tokenize(source[None])[0]
            target_ids = self.target_tokenizer.tokenize(target[None])[0]
            return source_ids, target_ids

        def split(source_ids, target_ids):
            return (source_ids, target_ids[:, :-1]), target_ids[:, 1:]

        from seqapps.datasets import bucket_by_length

        pairs = pairs.map(vectorize, num_parallel_calls=tf.data.AUTOTUNE)
        batches = bucket_by_length(
            pairs,
            lambda source, target: tf.maximum(tf.shape(source)[0], tf.shape(target)[0]),
            [16, 24, 32, 40, 48, 64, 96],
            batch_size=batch_size,
        )
        return batches.map(split).prefetch(tf.data.AUTOTUNE)

    def finetune(self, sources, targets=None, **options):
        """Continues training on the user's pairs, with the pretrained subword vocabularies.

        `sources` and `targets` are lists / Series of strings, or `sources` is
        a `tf.data.Dataset` of `(source, target)` pairs (e.g.
        `seqapps.datasets.from_parallel_tsv(path)`). The vocabularies are
        kept: a word they lack is read as the pieces they have, down to single
        characters; a character they lack reads as `<unk>` and cannot be
        written. Without `validation_data`, `validation_fraction` of the source
        texts is held out, every translation of one source on the same side
        (`Task.finetune` gives the options).
        """
        return super().finetune(sources, targets, **options)

    def finetune_examples(self, sources, targets=None):
        """`(source, target)` string pairs: a dataset as it is, or two lists checked."""
        if isinstance(sources, tf.data.Dataset):
            if targets is not None:
                raise ValueError("pass the targets inside the tf.data.Dataset, not as targets")
            return unbatched(sources, 0)
        sources, _ = standardize_texts(
            check_list(sources, "sources", "a list of texts"), name="sources"
        )
        targets = check_list([] if targets is None else targets, "targets", "a list of texts")
        targets, _ = standardize_texts(targets, name="targets")
        if len(sources) != len(targets) or not sources:
            raise ValueError(
                f"finetune needs (source, target) pairs, got {len(sources)} sources "
                f"and {len(targets)} targets"
            )
        empty = [index for index, source in enumerate(sources) if not source.strip()]
        if empty:
            raise ValueError(
                f"sources{empty[:5]} {'is' if len(empty) == 1 else 'are'} empty; every pair needs "
                f"a source text to learn from: remove those pairs"
            )
        return tf.data.Dataset.from_tensor_slices((sources, targets))

    def finetune_batches(self, examples, batch_size, *, shuffle=False, seed=0):
        return self.make_dataset(examples, batch_size=batch_size, shuffle=shuffle, seed=seed)

    # -- the step function -------------------------------------------------------

    @property
    def output_tokenizer(self):
        return self.target_tokenizer

    def encode(self, texts):
        """The decoder's starting state for source strings `[batch]`: its states, the memory, its mask."""
        return self.encode_ids(self.tokenizer(texts))

    def encode_ids(self, source_ids):
        """`encode` for source piece ids `[batch, time]` (0 = padding), e.g. in the LiteRT export."""
        memory, *states = self._encode_with(
            source_ids,
            self.get_layer("source_embedding"),
            self.get_layer("embedding_dropout"),
            self.get_layer("encoder"),
            training=False,
        )
        return {
            "states": self.get_layer("bridge")(states),
            "memory": memory,
            "memory_mask": tf.not_equal(source_ids, 0),
        }

    def default_max_length(self, texts):
        """Per text, twice its source's pieces plus 10, at most `max_output_length` (`[batch]`)."""
        lengths = tf.cast(self.tokenizer.tokenize(texts).row_lengths(), tf.int32)
        return tf.minimum(2 * lengths + 10, self.max_output_length)

    # -- the command line's and inspect's hooks ---------------------------------

    def finetune_data(self, path):
        from seqapps import datasets

        return self, (datasets.from_parallel_tsv(path),), {}

    def inspect_inputs(self, texts):
        """The encoder's pieces; the decoder, which starts from the encoder's state, is not
        inspected."""
        ids = self.tokenizer.tokenize(texts)
        pieces = [[p.decode("utf-8") for p in row] for row in self.tokenizer.pieces(ids).to_list()]
        rows = padded(ids.to_list(), 0)
        return (rows, np.zeros((len(rows), 1), "int32")), pieces

    # -- the plain verb ----------------------------------------------------------

    def translate(
        self, texts, *, generation_config=None, return_attention=False, batch_size=64, **options
    ):
        """Translates raw text: a string gives a string, a list a list, in input order.

        Args:
            texts: a string or a list of strings (bytes are decoded as UTF-8).
                An empty text translates to the model's answer for no words;
                a source longer than `max_source_length` pieces is cut there.
                Characters the vocabulary lacks are read as `<unk>`.
            generation_config, **options: how to write, a `seqapps.GenerationConfig`
                and/or its fields as keywords (`beam_size`, `max_length`,
                `length_penalty`, `no_repeat_ngram_size`, `temperature`,
                `top_k`, `top_p`, `seed`). Default: greedy, at most twice the
                text's own source pieces plus 10 (at most 512); beam search
                with `beam_size > 1`, ranked with `length_penalty` 0.6. Every
                row of a batch draws with the seed's random numbers, so an
                input gets the same answer alone or anywhere in a batch.
            return_attention: also return, per text, the attention weights
                `[target_pieces, source_pieces]` with the pieces on both sides,
                as `(translation, {"source": [...], "target": [...], "weights": array})`.
        """
        config = self.options_for(generation_config, **options)
        texts, single = standardize_texts(texts)
        spec = tf.TensorSpec([None], tf.string)
        attention = self._attention if return_attention else None
        results = self._answer(texts, spec, config, batch_size, attention)
        return results[0] if single else results

    def _attention(self, batch, tokens):
        """Per translation in `batch`: the pieces on both sides and the attention weights."""
        rows = []
        for ids, (pieces, weights) in zip(
            self.tokenizer(batch).numpy(), self._attention_rows(batch, tokens)
        ):
            ids = ids[ids > 0]
            source = [p.decode() for p in self.tokenizer.pieces(ids).numpy()]
            rows.append({"source": source, "target": pieces, "weights": weights[:, : len(ids)]})
        return rows

    def score(self, sources, references, **options) -> dict:
        """Corpus BLEU and chrF (sacrebleu) of the translations of `sources` against `references`.

        Scored on the detokenized output against the raw references: no
        lower-casing, no accent stripping, sacrebleu's default 13a tokenizer.
        `options` go to `translate` (e.g. `beam_size=5`). Needs sacrebleu
        (`pip install seqapps[translation]`).
        """
        import sacrebleu

        if len(sources) != len(references) or not len(sources):
            raise ValueError(
                f"score needs one reference per source, at least one; got {len(sources)} sources "
                f"and {len(references)} references"
            )
        hypotheses = self.translate(list(sources), **options)
        references = [list(references)]
        return {
            "bleu": round(sacrebleu.corpus_bleu(hypotheses, references).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(hypotheses, references).score, 2),
        }

    # -- export ------------------------------------------------------------------

    def serving_endpoints(self):
        """`translate(texts: string [batch]) → {"translations": string [batch]}`, greedy.

        Tokenizing, encoding, greedy search and detokenizing run inside the
        graph; `tensorflow_text` must be imported before loading the export.
        """

        def translate(texts):
            tokens, _ = self.decode_ids(texts, self.options_for())
            return {"translations": self.detokenize(tokens)}

        return {"translate": (translate, [tf.TensorSpec([None], tf.string, name="texts")])}
