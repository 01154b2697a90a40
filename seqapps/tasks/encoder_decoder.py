"""What translation and captioning share: an encoded input, one decoder step, the search over it."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from seqapps import decoding
from seqapps.tasks.inputs import check_positive_int
from seqapps.tasks.task import Task


class EncoderDecoderTask(Task):
    """Base of the tasks that encode an input once and then write text one piece at a time.

    A subclass builds layers named `"target_embedding"`, `"decoder"` (an
    `AttentionDecoder`) and `"head"`, and provides `encode(inputs) → state`
    (the decoder's states, the memory and its mask) and `output_vectorizer`
    (the `SubwordVectorizer` of the written text, which owns the start, end
    and never-written ids). Everything after that — the step function, greedy,
    sampling and beam search through `seqapps.decoding.decode`, batching, the
    attention read-out — is here, written once.
    """

    #: The most pieces written per output; `max_length` may not exceed it.
    max_output_length = 512

    @property
    def output_vectorizer(self):
        raise NotImplementedError

    def encode(self, inputs):
        raise NotImplementedError

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=1.0)
        if loss == "auto":
            # Padding (id 0) after each target never counts.
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
        if metrics == "auto":
            metrics = []
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # -- the step function -------------------------------------------------------

    def step(self, token_ids, state):
        """One decoder step: `token_ids [batch]` read → `(logits [batch, vocabulary], state)`."""
        logits, state, _ = self._read(token_ids[:, None], state)
        return logits[:, 0], state

    def _read(self, token_ids, state):
        """`[batch, time]` ids read from `state` → `(logits, state, attention weights)`."""
        features, states, weights = self.get_layer("decoder")(
            self.get_layer("target_embedding")(token_ids),
            memory=state["memory"],
            memory_mask=state["memory_mask"],
            initial_state=state["states"],
            training=False,
        )
        return self.get_layer("head")(features), {**state, "states": list(states)}, weights

    def default_max_length(self, inputs):
        """Pieces written when `max_length` is not given: a scalar or `[batch]` tensor."""
        return tf.constant(self.max_output_length)

    def _search(
        self,
        inputs,
        max_length,
        beam_size,
        length_penalty,
        temperature,
        top_k,
        top_p,
        seed,
        no_repeat_ngram_size=0,
    ):
        """Output ids `[batch, time]` for a batch of inputs; `max_length <= 0` means the default."""
        state = self.encode(inputs)
        max_length = tf.where(max_length > 0, max_length, self.default_max_length(inputs))
        vectorizer = self.output_vectorizer
        tokens, _ = decoding.decode(
            self.step,
            state,
            start_ids=tf.fill([tf.shape(state["memory"])[0]], vectorizer.start_id),
            end_id=vectorizer.end_id,
            max_length=max_length,
            excluded_ids=vectorizer.never_written_ids,
            beam_size=beam_size,
            length_penalty=length_penalty,
            no_repeat_ngram_size=no_repeat_ngram_size,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
        )
        return tokens

    def _traced(self, beam_size, no_repeat_ngram_size, input_spec):
        """Traced once per beam size and n-gram rule: `(inputs, options...) → (ids, strings)`."""
        functions = self.__dict__.setdefault("_search_functions", {})
        key = (beam_size, no_repeat_ngram_size)
        if key not in functions:

            def run(inputs, max_length, length_penalty, temperature, top_k, top_p, seed):
                tokens = self._search(
                    inputs,
                    max_length,
                    beam_size,
                    length_penalty,
                    temperature,
                    top_k,
                    top_p,
                    seed,
                    no_repeat_ngram_size,
                )
                return tokens, self.output_vectorizer.detokenize(tokens)

            scalar = tf.TensorSpec([], tf.float32)
            integer = tf.TensorSpec([], tf.int32)
            signature = [input_spec, integer, scalar, scalar, integer, scalar]
            functions[key] = tf.function(
                run, input_signature=[*signature, tf.TensorSpec([], tf.int64)]
            )
        return functions[key]

    def _write(
        self,
        inputs,
        input_spec,
        *,
        beam_size,
        max_length,
        length_penalty,
        no_repeat_ngram_size,
        temperature,
        top_k,
        top_p,
        seed,
        batch_size,
    ):
        """Checks the options, then yields `(batch of inputs, ids, strings)` batch by batch."""
        check_positive_int(beam_size, "beam_size")
        check_positive_int(batch_size, "batch_size")
        if max_length is not None:
            check_positive_int(max_length, "max_length")
            if max_length > self.max_output_length:
                raise ValueError(
                    f"max_length must be at most {self.max_output_length}, got {max_length}"
                )
        temperature, top_k, top_p = decoding.check_sampling_args(temperature, top_k, top_p)
        length_penalty = decoding.check_length_penalty(length_penalty)
        no_repeat_ngram_size = decoding.check_no_repeat_ngram_size(no_repeat_ngram_size)
        if no_repeat_ngram_size >= self.max_output_length:
            no_repeat_ngram_size = 0  # no output is long enough to hold such an n-gram twice
        if beam_size > 1 and (temperature > 0 or top_k or top_p < 1):
            raise ValueError(
                "beam search is deterministic: pass temperature=0 and no top_k/top_p "
                "with beam_size > 1"
            )
        options = (
            tf.constant(max_length or 0),
            tf.constant(length_penalty, tf.float32),
            tf.constant(temperature, tf.float32),
            tf.constant(top_k, tf.int32),
            tf.constant(top_p, tf.float32),
            tf.constant(decoding.check_seed(seed), tf.int64),
        )
        function = self._traced(beam_size, no_repeat_ngram_size, input_spec)
        for start in range(0, len(inputs), batch_size):
            batch = tf.constant(inputs[start : start + batch_size], dtype=input_spec.dtype)
            tokens, strings = function(batch, *options)
            yield batch, tokens, [s.decode("utf-8") for s in strings.numpy()]

    def inspect_decoder(self, inputs):
        """The decoder reading its own greedy answer to `inputs[0]`, the start piece first."""
        written = getattr(self, self.interface.verb)(inputs[:1])[0]
        ids = self.output_vectorizer.tokenize(tf.constant([written]))[:, :-1].to_tensor()
        pieces = [p.decode("utf-8") for p in self.output_vectorizer.pieces(ids[0]).numpy()]
        vectors = self.get_layer("target_embedding")(ids)
        state = self.encode(tf.convert_to_tensor(inputs[:1]))["states"]
        return self.get_layer("decoder").stack, vectors, state, pieces

    def _attention_rows(self, inputs, tokens):
        """Per output: its pieces (the end included) and the attention weights while writing them."""
        start = tf.fill([tf.shape(tokens)[0], 1], self.output_vectorizer.start_id)
        _, _, weights = self._read(tf.concat([start, tokens], 1), self.encode(inputs))
        rows = []
        for row in range(len(tokens)):
            written = tokens[row].numpy()
            written = np.append(written[written > 0], self.output_vectorizer.end_id)
            pieces = [p.decode() for p in self.output_vectorizer.pieces(written).numpy()]
            rows.append((pieces, weights[row, : len(written)].numpy()))
        return rows
