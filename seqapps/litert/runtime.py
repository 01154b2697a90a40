"""Serving a LiteRT export from Python: the task's verb, answered by ai-edge-litert's interpreter.

The answers are the Keras model's: the same tokenizers (`seqapps.litert.tokenize`),
the same excluded ids, the same greedy choice and, for sampling, the same
stateless random numbers per `[seed, step]` as `seqapps.decoding` (drawn by
TensorFlow, a block of steps per call). Beam search and the n-gram rule need
the whole TensorFlow loop: they raise, naming the TensorFlow model to use.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np

from seqapps.litert.export import ASSET_FILE, MODEL_FILES, stale_export
from seqapps.litert.numpy_tagger import numpy_tagger
from seqapps.litert.tokenize import SentencePieceTokenizer, TaggerTokenizer, WordTokenizer

#: Added to a logit that must never be drawn, as `seqapps.decoding.EXCLUDED`.
EXCLUDED = np.float32(-1e9)


def padded_length(length: int) -> int:
    """The length an input of `length` steps is padded to: 8, 16, 32, ... steps."""
    return max(8, 1 << (max(length, 1) - 1).bit_length())


def padded(ids, length, value=0):
    """`ids` (a list of steps) with `value` steps appended up to `length`, as one int32 row."""
    ids = np.asarray(ids, np.int32)
    pad = [(0, length - len(ids))] + [(0, 0)] * (ids.ndim - 1)
    return np.pad(ids, pad, constant_values=value)[None]


def _interpreter(path, num_threads):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ImportError(
            "the LiteRT runtime needs ai-edge-litert: pip install 'seqapps[litert]'"
        ) from None
    return Interpreter(model_path=str(path), num_threads=num_threads)


class _QuietFirstCall:
    """A signature runner whose first call, where LiteRT makes its delegate and logs it to
    stderr, runs with stderr off (as TensorFlow's log lines are; `SEQAPPS_VERBOSE=1` keeps it)."""

    def __init__(self, runner):
        self.runner, self.first = runner, True

    def __call__(self, **inputs):
        if not self.first:
            return self.runner(**inputs)
        from seqapps._quiet import stderr_silenced, verbose

        with contextlib.nullcontext() if verbose() else stderr_silenced():
            outputs = self.runner(**inputs)
        self.first = False
        return outputs


class LiteRTModel:
    """A LiteRT export, loaded: the base of the runtime's task classes.

    Args:
        folder: an export folder (`model.export(path, format="litert")`).
        variant: `"float32"` or `"int8"` (dynamic-range int8 weights).
        num_threads: LiteRT's CPU threads (None: its default).
    """

    def __init__(self, folder, asset, variant="float32", num_threads=None):
        if variant not in MODEL_FILES:
            raise ValueError(f"variant must be one of {sorted(MODEL_FILES)}, got {variant!r}")
        self.folder, self.asset, self.variant = Path(folder), asset, variant
        self.num_threads = num_threads
        self._interpreters = {}
        self.runners = self.runners_for(None)

    def runners_for(self, length):
        """The signature runners of an interpreter kept for inputs padded to `length` steps.

        LiteRT re-plans a graph whenever an input changes shape, which costs more than
        running a short input; so inputs are padded (masked) to a few lengths, each with
        an interpreter whose shapes never change.
        """
        if length not in self._interpreters:
            interpreter = _interpreter(self.folder / MODEL_FILES[self.variant], self.num_threads)
            self._interpreters[length] = {
                name: _QuietFirstCall(interpreter.get_signature_runner(name))
                for name in self.asset["signatures"]
            }
        return self._interpreters[length]

    task_name = property(lambda self: self.asset["task"])

    def __repr__(self):
        return f"<{type(self).__name__} {str(self.folder)!r}: {self.task_name}, {self.variant}>"


class LiteRTClassifier(LiteRTModel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer = WordTokenizer(self.asset["tokenizer"])
        self.labels = self.asset["labels"]

    def classify(self, texts, *, all_scores=False, batch_size=64):
        """`TextClassifier.classify`, one text at a time in LiteRT."""
        from seqapps.tasks.inputs import standardize_texts
        from seqapps.tasks.text_classifier import labelled

        batch, single = standardize_texts(texts)
        results = []
        for text in batch:
            ids = self.tokenizer.ids(text)
            run = self.runners_for(padded_length(len(ids)))["classify"]
            row = run(ids=padded(ids, padded_length(len(ids))))["probabilities"][0]
            results.append(labelled(row, self.labels, all_scores))
        return results[0] if single else results


class LiteRTTagger(LiteRTModel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer, self.tags = TaggerTokenizer(self.asset["tokenizer"]), self.asset["tags"]
        self.numpy = numpy_tagger(self.folder, self.asset, self.variant)  # float32: no interpreter

    def tag(self, sentences, *, is_split_into_words=None, all_scores=False, batch_size=64):
        """`SequenceTagger.tag`, one sentence at a time in LiteRT."""
        from seqapps.tasks.tagged_inputs import sentence_token_lists

        token_lists, single = sentence_token_lists(
            sentences, is_split_into_words, lambda texts: [self.tokenizer.split(t) for t in texts]
        )
        results = [self._tag_one(tokens, all_scores) for tokens in token_lists]
        return results[0] if single else results

    def _tag_one(self, tokens, all_scores):
        if not tokens:
            return []
        if self.numpy is not None:
            found = self.numpy.sentence(tokens, self.tokenizer)
        else:
            length = padded_length(len(tokens))
            words, chars = zip(*map(self.tokenizer.ids, tokens))
            words, chars = padded(words, length), padded(chars, length)
            run = self.runners_for(length)["tag"]
            found = run(word_ids=words, char_ids=chars)["probabilities"][0, : len(tokens)]
        if all_scores:
            return [(t, dict(zip(self.tags, map(float, p)))) for t, p in zip(tokens, found)]
        return [(t, self.tags[int(i)]) for t, i in zip(tokens, found.argmax(-1))]


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

    def _write(self, inputs, config, seed, limit):
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
            ids = self.source.ids(text) or [0]
            length = padded_length(len(ids))
            rows.append({"source_ids": padded(ids, length), "length": length})

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


RUNTIMES = {
    "text-classification": LiteRTClassifier,
    "token-classification": LiteRTTagger,
    "text-generation": LiteRTGenerator,
    "translation": LiteRTTranslator,
    "image-captioning": LiteRTCaptioner,
}


def open_export(source, *, variant="float32", num_threads=None, cache_dir=None):
    """See `seqapps.litert.load_litert`."""
    folder = _export_folder(source, cache_dir)
    asset = json.loads((folder / ASSET_FILE).read_text(encoding="utf-8"))
    return RUNTIMES[asset["task"]](folder, asset, variant=variant, num_threads=num_threads)


def _export_folder(source, cache_dir):
    from seqapps.litert.export import export_litert

    if hasattr(source, "task_name"):  # a task model
        folder = Path(tempfile.mkdtemp(prefix="seqapps-litert-")) / "export"
        return export_litert(source, folder)
    path = Path(source)
    if (path / ASSET_FILE).is_file():
        return path
    if path.suffix == ".keras" or path.exists():
        raise FileNotFoundError(
            f"{str(path)!r} is no LiteRT export (no {ASSET_FILE}); write one with "
            f"model.export(path, format='litert')"
        )
    from seqapps.zoo import get_entry

    entry = get_entry(str(source))  # an unknown name raises, naming the closest ones
    root = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "seqapps" / "litert"
    folder = root / f"{entry.name}-{entry.weights['sha256'][:16]}"
    if not (folder / ASSET_FILE).is_file() or stale_export(folder):
        import seqapps

        export_litert(seqapps.load(entry.name), folder, overwrite=folder.exists())
    return folder
