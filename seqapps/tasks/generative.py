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

    def _pieces(self, inputs, input_spec, config, whole=False):
        """Yields the text written for one input piece by piece, until a stop string.

        Token by token (one call of the shared loop per token, the state
        carried), so that each piece comes as it is made; with beam search or
        the n-gram rule, which need the whole output, or `whole` (a caller that
        waits for all of it: one traced loop costs less than a call per token),
        written whole first.
        """
        if whole or config.beam_size > 1 or config.no_repeat_ngram_size:
            pieces = self._whole(inputs, input_spec, config)
        else:
            pieces = self._token_by_token(inputs, input_spec, config)
        written = ""
        for piece in pieces:
            yield piece
            if config.stop:
                written += piece
                if any(written.endswith(stop) for stop in config.stop):
                    return

    def _whole(self, inputs, input_spec, config):
        def run(inputs, config):
            return self.decode_ids(inputs[None], config)[0]

        decode = self._traced("decode-one", config, run, [input_spec])
        for token in decode(tf.constant(inputs, input_spec.dtype), *config.tensors()).numpy()[0]:
            yield self.token_text(token)

    def _token_by_token(self, inputs, input_spec, config):
        def start(inputs):
            return self.initial_state(inputs[None])

        def resume(last_id, state, first_step, config):
            tokens, _, state = decoding.decode(
                self.step,
                state,
                config.replace(max_length=1),
                start_ids=last_id,
                end_id=self.end_id,
                excluded_ids=self.output_tokenizer.never_written_ids,
                first_step=first_step,
                return_state=True,
            )
            return tokens, state

        start = self._traced("start", None, start, [input_spec])
        int_spec = tf.TensorSpec([None], tf.int32)
        signature = [int_spec, self.step_state_spec(), tf.TensorSpec([], tf.int64)]
        resume = self._traced("resume", config, resume, signature)
        tensors = config.tensors()  # one seed for the whole text
        state, last = start(tf.constant(inputs, input_spec.dtype))
        limit = self.max_output_length if config.max_length is None else config.max_length
        for step in range(limit):
            tokens, state = resume(last, state, tf.constant(step, tf.int64), *tensors)
            if tokens.shape[1] == 0:  # the end token
                return
            last = tokens[:, 0]
            yield self.token_text(last[0])
