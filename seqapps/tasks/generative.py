"""What text generation, translation and captioning share: options, the decode driver, its traces."""

from __future__ import annotations

import tensorflow as tf

from seqapps import decoding
from seqapps.checks import check_positive_int
from seqapps.generation import GenerationConfig
from seqapps.tasks.task import Task


class GenerativeTask(Task):
    """Base of the tasks that write text one token at a time.

    A subclass supplies how to start and how to go on:

    - `initial_state(inputs) -> (state, start_ids)`: the state before the first
      written token (a prompt read, a source or an image encoded; any nest of
      batch-first tensors) and the int32 `[batch]` ids read first;
    - `step(token_ids [batch], state) -> (logits [batch, vocabulary], state)`;
    - `output_tokenizer`, which knows the ids never written and
      `detokenize`s; `end_id` (None for text that only `max_length` ends);
    - `max_output_length` and, where it depends on the input,
      `default_max_length(inputs)`: what `max_length=None` writes at most;
    - `generation_defaults`, where the task's defaults differ from
      `GenerationConfig`'s.

    Everything else is here, once: the options of every verb become one
    checked `GenerationConfig` (`options_for`), `decode_ids` runs
    `seqapps.decoding.decode` (eagerly, traced, or inside the exported
    SavedModel), and one cache holds the traced functions, keyed by the
    config's static part.
    """

    #: The most tokens written per output when `max_length` is None.
    max_output_length = 512
    #: The options the task's verbs start from (`options_for`).
    generation_defaults = GenerationConfig()

    @property
    def output_tokenizer(self):
        raise NotImplementedError

    @property
    def end_id(self):
        """The id that ends an output (None: only `max_length` ends it)."""
        return self.output_tokenizer.end_id

    def initial_state(self, inputs):
        raise NotImplementedError

    def step(self, token_ids, state):
        raise NotImplementedError

    def default_max_length(self, inputs):
        """Tokens written when `max_length` is None: a scalar or `[batch]` tensor."""
        return tf.constant(self.max_output_length)

    def detokenize(self, tokens):
        """Written ids `[batch, time]` (0-padded) → one string per row `[batch]`."""
        return self.output_tokenizer.detokenize(tokens)

    def token_text(self, token_id) -> str:
        """The text of one written token, as `stream` yields it."""
        raise NotImplementedError

    def step_state_spec(self):
        """The `tf.TensorSpec` of `step`'s state (batch first), for streaming one token per call."""
        raise NotImplementedError

    # -- options -----------------------------------------------------------------

    def options_for(self, generation_config=None, **options) -> GenerationConfig:
        """The checked options of one call: `generation_config` (default: the task's
        `generation_defaults`) with the keyword `options` replacing its fields."""
        config = self.generation_defaults if generation_config is None else generation_config
        if not isinstance(config, GenerationConfig):
            raise TypeError(
                f"generation_config must be a seqapps.GenerationConfig, got "
                f"{type(config).__name__} ({config!r}); or pass the options as keywords"
            )
        config = config.replace(**options) if options else config
        limit = self.max_output_length if config.max_length is None else config.max_length
        if config.no_repeat_ngram_size >= limit:
            # No output is long enough to hold such an n-gram twice: no rule (and no padding by n).
            config = config.replace(no_repeat_ngram_size=0)
        return config

    # -- the driver --------------------------------------------------------------

    def decode_ids(self, inputs, config: GenerationConfig, **kwargs):
        """`decoding.decode` from `initial_state(inputs)`: `(tokens, weights[, state])`."""
        state, start_ids = self.initial_state(inputs)
        return decoding.decode(
            self.step,
            state,
            config,
            start_ids=start_ids,
            end_id=self.end_id,
            excluded_ids=self.output_tokenizer.never_written_ids,
            default_max_length=self.default_max_length(inputs),
            **kwargs,
        )

    def _traced(self, name, config, function, input_signature):
        """`function(*inputs, config)` traced once per name and static part of the config.

        The traced function takes the inputs, then `config.tensors()`: another
        temperature, seed or length reuses it. `config=None`: no options.
        """
        functions = self.__dict__.setdefault("_traced_functions", {})
        key = (name, None if config is None else config.static_key)
        if key not in functions:
            if config is None:
                traced = tf.function(function, input_signature=input_signature)
            else:
                count = len(input_signature)

                def with_options(*args):
                    return function(*args[:count], config.with_tensors(args[count:]))

                signature = [*input_signature, *GenerationConfig.tensor_signature()]
                traced = tf.function(with_options, input_signature=signature)
            # Set through __dict__: a tf.function is no layer for Keras to track.
            functions[key] = traced
        return functions[key]

    def _decoded_batches(self, inputs, input_spec, config, batch_size):
        """Yields `(batch of inputs, ids, strings)` batch by batch, by one traced function."""
        check_positive_int(batch_size, "batch_size")

        def run(batch, config):
            tokens, _ = self.decode_ids(batch, config)
            return tokens, self.detokenize(tokens)

        function = self._traced("decode", config, run, [input_spec])
        tensors = config.tensors()  # one seed for every batch: an input's answer is its own
        for start in range(0, len(inputs), batch_size):
            batch = tf.constant(inputs[start : start + batch_size], dtype=input_spec.dtype)
            tokens, strings = function(batch, *tensors)
            yield batch, tokens, [s.decode("utf-8") for s in strings.numpy()]

    def token_probabilities(self, inputs, tokens):
        """The model's probability of each written token: float32 `[batch, time]`, 0 after a row's end.

        `tokens` are `decode_ids`' for `inputs`, read again from `initial_state(inputs)`;
        a probability is the softmax of the step's logits over the tokens the task may
        write, at temperature 1: before top-k, top-p and the n-gram rule. Traceable.
        """
        state, last = self.initial_state(inputs)
        steps = tf.shape(tokens)[1]

        def body(t, last, state, written):
            logits, state = self.step(last, state)
            token = tf.ensure_shape(tokens[:, t], last.shape)  # as the loop entered it
            return t + 1, token, state, written.write(t, self._probability(logits, token))

        written = tf.TensorArray(tf.float32, size=steps, element_shape=[None])
        _, _, _, written = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), last, state, written)
        )
        probabilities = tf.reshape(tf.transpose(written.stack()), tf.shape(tokens))
        return tf.where(tokens > 0, probabilities, 0.0)

    def _probability(self, logits, token_ids):
        """`[batch]` probabilities of `token_ids [batch]` under `logits [batch, vocabulary]`."""
        logits = decoding.exclude(
            tf.cast(logits, tf.float32), self.output_tokenizer.never_written_ids
        )
        return tf.gather(tf.nn.softmax(logits), token_ids, batch_dims=1)

    def _pieces(self, inputs, input_spec, config, whole=False, probabilities=False):
        """Yields the text written for one input piece by piece, until a stop string.

        Token by token (one call of the shared loop per token, the state
        carried), so that each piece comes as it is made; with beam search or
        the n-gram rule, which need the whole output, or `whole` (a caller that
        waits for all of it: one traced loop costs less than a call per token),
        written whole first. With `probabilities`, a piece is `{"piece": text,
        "probability": p}`, p the model's probability of its token
        (`token_probabilities`, 4 decimals).
        """
        if whole or config.beam_size > 1 or config.no_repeat_ngram_size:
            pieces = self._whole(inputs, input_spec, config, probabilities)
        else:
            pieces = self._token_by_token(inputs, input_spec, config, probabilities)
        written = ""
        for piece, probability in pieces:
            yield {"piece": piece, "probability": probability} if probabilities else piece
            if config.stop:
                written += piece
                if any(written.endswith(stop) for stop in config.stop):
                    return

    def _whole(self, inputs, input_spec, config, probabilities):
        def run(inputs, config):
            tokens = self.decode_ids(inputs[None], config)[0]
            if not probabilities:
                return tokens, tf.zeros(tf.shape(tokens))
            return tokens, self.token_probabilities(inputs[None], tokens)

        name = "decode-one-p" if probabilities else "decode-one"
        decode = self._traced(name, config, run, [input_spec])
        tokens, chances = decode(tf.constant(inputs, input_spec.dtype), *config.tensors())
        for token, probability in zip(tokens.numpy()[0], chances.numpy()[0]):
            yield self.token_text(token), round(float(probability), 4)

    def _token_by_token(self, inputs, input_spec, config, probabilities):
        def start(inputs):
            return self.initial_state(inputs[None])

        def resume(last_id, state, first_step, config):
            tokens, _, written_state = decoding.decode(
                self.step,
                state,
                config.replace(max_length=1),
                start_ids=last_id,
                end_id=self.end_id,
                excluded_ids=self.output_tokenizer.never_written_ids,
                first_step=first_step,
                return_state=True,
            )
            if not probabilities:
                return tokens, written_state, tf.zeros([tf.shape(tokens)[0]])
            # The step again, for its logits (the loop keeps them to itself): one more step's cost.
            logits, _ = self.step(last_id, state)
            token = tf.pad(tokens, [[0, 0], [0, 1]])[:, 0]
            return tokens, written_state, self._probability(logits, token)

        start = self._traced("start", None, start, [input_spec])
        int_spec = tf.TensorSpec([None], tf.int32)
        signature = [int_spec, self.step_state_spec(), tf.TensorSpec([], tf.int64)]
        resume = self._traced("resume-p" if probabilities else "resume", config, resume, signature)
        tensors = config.tensors()  # one seed for the whole text
        state, last = start(tf.constant(inputs, input_spec.dtype))
        limit = self.max_output_length if config.max_length is None else config.max_length
        for step in range(limit):
            tokens, state, chance = resume(last, state, tf.constant(step, tf.int64), *tensors)
            if tokens.shape[1] == 0:  # the end token
                return
            last = tokens[:, 0]
            yield self.token_text(last[0]), round(float(chance[0]), 4)


def joined(pieces, key: str, probabilities: bool) -> dict:
    """`{key: text}` of `_pieces`' pieces; with `probabilities`, also `"probabilities"`."""
    if not probabilities:
        return {key: "".join(pieces)}
    pieces = list(pieces)
    text = "".join(piece["piece"] for piece in pieces)
    return {key: text, "probabilities": [piece["probability"] for piece in pieces]}
