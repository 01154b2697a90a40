"""What translation and captioning share: an encoded input, one decoder step, the verb around them."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from seqapps.tasks.generative import GenerativeTask


class EncoderDecoderTask(GenerativeTask):
    """Base of the tasks that encode an input once and then write text one piece at a time.

    A subclass builds layers named `"target_embedding"`, `"decoder"` (an
    `AttentionDecoder`) and `"head"`, and provides `encode(inputs) → state`
    (the decoder's states, the memory and its mask) and `output_tokenizer`
    (the `SubwordVectorizer` of the written text, which owns the start, end
    and never-written ids). The step function and the attention read-out are
    here; options, greedy, sampling and beam search, batching and tracing are
    `GenerativeTask`'s.
    """

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

    def initial_state(self, inputs):
        """`(encode(inputs), start ids)`: every output starts from the start piece."""
        state = self.encode(inputs)
        return state, tf.fill([tf.shape(state["memory"])[0]], self.output_tokenizer.start_id)

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

    # -- the verb ----------------------------------------------------------------

    def options_for(self, generation_config=None, **options):
        config = super().options_for(generation_config, **options)
        if config.stop:
            raise ValueError(
                f"stop is for text generation; a {self.interface.verb} ends at the end piece "
                f"(got stop={list(config.stop)})"
            )
        return config

    def _answer(self, inputs, input_spec, config, batch_size, attention=None):
        """Outputs in input order; with `attention(batch, tokens)`, `(output, per-row attention)`."""
        results = []
        for batch, tokens, strings in self._decoded_batches(inputs, input_spec, config, batch_size):
            if attention is None:
                results.extend(strings)
            else:
                results.extend(zip(strings, attention(batch, tokens)))
        return results

    def answer(self, inputs, return_attention=False, **options):
        """`Task.answer`'s; with `return_attention`, each answer also has `"attention"`: the
        verb's attention dict with its weights as nested lists (4 decimals)."""
        if not return_attention:
            return super().answer(inputs, **options)
        face = self.interface
        results = getattr(self, face.verb)(list(inputs), return_attention=True, **options)
        return [
            {face.inputs: item, face.output: output, "attention": _listed(attention)}
            for item, (output, attention) in zip(inputs, results)
        ]

    def inspect_decoder(self, inputs):
        """The decoder reading its own greedy answer to `inputs[0]`, the start piece first."""
        written = getattr(self, self.interface.verb)(inputs[:1])[0]
        ids = self.output_tokenizer.tokenize(tf.constant([written]))[:, :-1].to_tensor()
        pieces = [p.decode("utf-8") for p in self.output_tokenizer.pieces(ids[0]).numpy()]
        vectors = self.get_layer("target_embedding")(ids)
        state = self.encode(tf.convert_to_tensor(inputs[:1]))["states"]
        return self.get_layer("decoder").stack, vectors, state, pieces

    def _attention_rows(self, inputs, tokens):
        """Per output: its pieces (the end included) and the attention weights while writing them."""
        start = tf.fill([tf.shape(tokens)[0], 1], self.output_tokenizer.start_id)
        _, _, weights = self._read(tf.concat([start, tokens], 1), self.encode(inputs))
        rows = []
        for row in range(len(tokens)):
            written = tokens[row].numpy()
            written = np.append(written[written > 0], self.output_tokenizer.end_id)
            pieces = [p.decode() for p in self.output_tokenizer.pieces(written).numpy()]
            rows.append((pieces, weights[row, : len(written)].numpy()))
        return rows


def _listed(attention: dict) -> dict:
    return {
        key: np.round(value.astype("float64"), 4).tolist()
        if isinstance(value, np.ndarray)
        else value
        for key, value in attention.items()
    }
