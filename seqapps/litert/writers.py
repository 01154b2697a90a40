"""The LiteRT runtime's writing tasks: text generation, translation and captioning.

The same answers as the Keras model's `seqapps.decoding` loop: the same
excluded ids, the same greedy choice and, for sampling, the same stateless
random numbers per `[seed, step]` (drawn by TensorFlow, a block of steps per
call). Translation and captioning in float32 run their decoder (and a
translator its encoder) in NumPy (`seqapps.litert.numpy_decoder`).
"""

from __future__ import annotations

import numpy as np

from seqapps.litert.base import EXCLUDED, LiteRTModel, padded, padded_length
from seqapps.litert.numpy_decoder import numpy_decoder
from seqapps.litert.tokenize import SentencePieceTokenizer, WordTokenizer


class _Writer(LiteRTModel):
    """What the generating tasks share: options, choosing a token, the random numbers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_output_length = self.asset["max_output_length"]
        self._excluded = self.asset["never_written_ids"]
        self._exclusion = self._noise = None

    def options_for(self, generation_config=None, **options):
        from seqapps.generation import GenerationConfig

        config = generation_config or GenerationConfig()
        if not isinstance(config, GenerationConfig):
            raise TypeError(
                f"generation_config must be a seqapps.GenerationConfig, got {type(config).__name__}"
            )
        config = config.replace(**options) if options else config
        if config.beam_size > 1 or config.no_repeat_ngram_size:
            raise ValueError(
                f"the LiteRT runtime writes greedy or sampled text; beam_size="
                f"{config.beam_size} and no_repeat_ngram_size={config.no_repeat_ngram_size} need "
                f"the whole decode loop: load the TensorFlow model (seqapps.load(name))"
            )
        return config

    def _choose(self, logits, config, seed, step):
        """`seqapps.decoding.sample` (or `greedy`) on one row of logits, in NumPy.

        `seed` None is greedy (known once per call: `config.greedy` asks TensorFlow).
        """
        if self._exclusion is None or len(self._exclusion) != len(logits):
            self._exclusion = np.zeros(len(logits), np.float32)
            self._exclusion[self._excluded] = EXCLUDED
        logits = logits + self._exclusion
        if seed is None:
            return int(np.argmax(logits))
        temperature = np.float32(max(config.temperature, 1e-6))
        scaled = np.where(logits <= EXCLUDED / 2, EXCLUDED, logits / temperature)
        if 0 < config.top_k < len(scaled):
            kth = np.sort(scaled)[-config.top_k]
            scaled = np.where(scaled < kth, EXCLUDED, scaled)
        if config.top_p < 1.0:
            ordered = np.sort(scaled)[::-1]
            probabilities = np.exp(ordered - ordered.max())
            probabilities /= probabilities.sum()
            mass_before = np.cumsum(probabilities) - probabilities
            threshold = ordered[mass_before < np.float32(config.top_p)].min()
            scaled = np.where(scaled < threshold, EXCLUDED, scaled)
        return int(np.argmax(scaled + self._gumbel(seed, step, len(scaled))))

    def _gumbel(self, seed, step, size, block=64):
        """The Gumbel noise of `seqapps.decoding.sample` at `[seed, step]`, drawn a block at a time."""
        key = (seed, step // block)
        if self._noise is None or self._noise[0] != key:
            noise = _gumbel_block()(seed, step - step % block, block, size)
            self._noise = (key, noise.numpy())
        return self._noise[1][step % block]


_GUMBEL = []


def _gumbel_block():
    """A traced function: the noise of `count` steps from `first`, `[count, size]`."""
    if not _GUMBEL:
        import tensorflow as tf

        def row(seed_pair, size):
            uniform = tf.random.stateless_uniform(
                tf.reshape(size, [1]), seed=seed_pair, minval=1e-20, maxval=1.0, dtype=tf.float32
            )
            return -tf.math.log(-tf.math.log(uniform))

        @tf.function(
            input_signature=[tf.TensorSpec([], tf.int64)] * 2 + [tf.TensorSpec([], tf.int32)] * 2
        )
        def block(seed, first, count, size):
            steps = tf.range(first, first + tf.cast(count, tf.int64))
            pairs = tf.stack([tf.fill(tf.shape(steps), seed), steps], axis=1)
            return tf.map_fn(lambda pair: row(pair, size), pairs, fn_output_signature=tf.float32)

        _GUMBEL.append(
            lambda seed, first, count, size: block(
                tf.constant(seed, tf.int64),
                tf.constant(first, tf.int64),
                tf.constant(count),
                tf.constant(size),
            )
        )
    return _GUMBEL[0]


class LiteRTGenerator(_Writer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer = WordTokenizer(self.asset["tokenizer"])
        self.separator = "" if self.tokenizer.chars else " "

    def stream(self, prompt="", max_length=None, *, generation_config=None, **options):
        """`TextGenerator.stream`: the continuation of `prompt`, token by token."""
        from seqapps.generation import check_seed
        from seqapps.tasks.inputs import check_prompt
        from seqapps.tasks.text_generator import MAX_PROMPT_LENGTH

        prompt = check_prompt(prompt, MAX_PROMPT_LENGTH)
        if max_length is not None:
            options["max_length"] = max_length
        config = self.options_for(generation_config, **options)
        seed = None if config.greedy else check_seed(config.seed)
        ids = [self.asset["start_id"]] + [
            self.tokenizer.index.get(t, 1) for t in self.tokenizer.tokenize(prompt)
        ]
        state = np.zeros(
            [self.asset["state_shape"][0], 1, self.asset["state_shape"][1]], np.float32
        )
        if len(ids) > 1:
            state = self.runners["read"](ids=np.array([ids[:-1]], np.int32), state=state)["state"]
        limit = self.max_output_length if config.max_length is None else config.max_length
        return self._pieces(ids[-1], state, config, seed, limit)

    def _pieces(self, last, state, config, seed, limit):
        step = self.runners["step"]
        written = ""
        for t in range(limit):
            out = step(token_ids=np.array([last], np.int32), state=state)
            state = out["state"]
            last = self._choose(out["logits"][0], config, seed, t)
            piece = self.separator + self.tokenizer.tokens[last]
            yield piece
            if config.stop:
                written += piece
                if any(written.endswith(stop) for stop in config.stop):
                    return

    def generate(self, prompt="", max_length=None, *, generation_config=None, **options):
        """`TextGenerator.generate`: the continuation of `prompt`, without the prompt."""
        return "".join(
            self.stream(prompt, max_length, generation_config=generation_config, **options)
        )


class _EncoderDecoder(_Writer):
    """Translation and captioning: encode once, then one `step` per written piece."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = SentencePieceTokenizer(self.asset["tokenizer"]["target_model"])
        self.numpy = None  # float32 translation: the NumPy path (`seqapps.litert.numpy_decoder`)
        if self.asset["task"] == "translation":
            self.numpy = numpy_decoder(self.folder, self.asset, self.variant)
        if self.numpy is not None:  # never-written ids lose in its logits already
            self.numpy.head_bias = self.numpy.head_bias.copy()
            self.numpy.head_bias[self._excluded] += EXCLUDED

    def _write(self, inputs, config, seed, limit):
        if self.numpy is not None:
            with self.numpy.one_thread:
                return self._write_numpy(inputs, config, seed, limit)
        inputs = {name: value for name, value in inputs.items() if name != "ids"}
        runners = self.runners_for(inputs.pop("length", None))
        encoded = runners["encode"](**inputs)
        count = self.asset["state_count"]
        states = {f"state_{i}": encoded[f"state_{i}"] for i in range(count)}
        fixed = {name: value for name, value in encoded.items() if name not in states}
        last, written, step = self.asset["start_id"], [], runners["step"]
        for t in range(limit):
            out = step(token_ids=np.array([last], np.int32), **fixed, **states)
            states = {f"state_{i}": out[f"state_{i}"] for i in range(count)}
            last = self._choose(out["logits"][0], config, seed, t)
            if last == self.asset["end_id"]:
                break
            written.append(last)
        return self.target.detokenize(written)

    def _write_numpy(self, inputs, config, seed, limit):
        decoder, count = self.numpy, self.asset["state_count"]
        if "ids" in inputs and decoder.can_encode:
            decoder.encode_ids(inputs["ids"])
        else:
            encoded = self.runners_for(inputs.pop("length", None))["encode"](
                **{k: v for k, v in inputs.items() if k != "ids"}
            )
            decoder.start(
                encoded["memory"],
                encoded["memory_keys"],
                encoded["memory_mask"],
                [encoded[f"state_{i}"] for i in range(count)],
            )
        last, written, end = self.asset["start_id"], [], self.asset["end_id"]
        for t in range(limit):
            logits = decoder.step(last)
            last = int(logits.argmax()) if seed is None else self._choose(logits, config, seed, t)
            if last == end:
                break
            written.append(last)
        return self.target.detokenize(written)

    def _answers(self, rows, config, default_limit):
        from seqapps.generation import check_seed

        if config.stop:
            raise ValueError(f"stop is for text generation; got stop={list(config.stop)}")
        seed = None if config.greedy else check_seed(config.seed)
        return [
            self._write(
                inputs,
                config,
                seed,
                default_limit(inputs) if config.max_length is None else config.max_length,
            )
            for inputs in rows
        ]


class LiteRTTranslator(_EncoderDecoder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        spec = self.asset["tokenizer"]
        self.source = SentencePieceTokenizer(
            spec["source_model"],
            spec["source_max_length"],
            spec["source_add_start"],
            spec["source_add_end"],
        )

    def translate(
        self, texts, *, generation_config=None, return_attention=False, batch_size=64, **options
    ):
        """`Translator.translate`, one text at a time in LiteRT (no attention read-out)."""
        from seqapps.tasks.inputs import standardize_texts

        if return_attention:
            raise ValueError("return_attention needs the TensorFlow model: seqapps.load(name)")
        config = self.options_for(generation_config, **options)
        batch, single = standardize_texts(texts)
        rows = []
        for text in batch:
            ids = self.source.ids(text)
            length = padded_length(len(ids))
            rows.append({"source_ids": padded(ids, length), "length": length, "ids": ids})

        def limit(inputs):
            pieces = int((inputs["source_ids"] != 0).sum())
            return min(2 * pieces + 10, self.max_output_length)

        results = self._answers(rows, config, limit)
        return results[0] if single else results


class LiteRTCaptioner(_EncoderDecoder):
    def caption(
        self, images, *, generation_config=None, return_attention=False, batch_size=64, **options
    ):
        """`ImageCaptioner.caption`, one image at a time in LiteRT (no attention read-out)."""
        from seqapps.tasks.images import images_to_array

        if return_attention:
            raise ValueError("return_attention needs the TensorFlow model: seqapps.load(name)")
        config = self.options_for(generation_config, **options)
        pixels, single = images_to_array(images, tuple(self.asset["tokenizer"]["image_size"]))
        rows = [{"images": pixels[i : i + 1]} for i in range(len(pixels))]
        results = self._answers(rows, config, lambda inputs: self.max_output_length)
        return results[0] if single else results
