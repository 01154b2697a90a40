"""The options of every generating verb as one object: `GenerationConfig`.

`generate`, `stream`, `translate` and `caption` take these options as plain
keywords or as one `generation_config=GenerationConfig(...)` (keywords given
beside it override its fields); the verb checks them once, here, and passes the
object unchanged to `seqapps.decoding.decode`. Its static part (`static_key`:
the beam size, the n-gram rule, greedy or sampling) decides the traced
TensorFlow function; the rest travels as tensors (`tensors`), so another
temperature or seed reuses the traced function.

>>> config = GenerationConfig(max_length=40, temperature=0.8, seed=1)
>>> config.static_key
(1, 0, False)
>>> GenerationConfig(temperature=-1)
Traceback (most recent call last):
...
ValueError: temperature must be >= 0 (a number; 0: greedy, e.g. 0.8 to sample), got -1
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping

from seqapps.checks import check_float, check_int, shown

#: The most tokens any verb writes per output (`max_length`'s upper bound), so that a
#: typo cannot keep a process busy for hours.
MAX_LENGTH = 100_000
#: The most beams a search may keep: each costs a row of `vocabulary size` scores per step, and
#: past a few dozen beams the answers stop changing (`beam_size=10**6` ran out of memory).
MAX_BEAM_SIZE = 64
#: How `tensors` passes `max_length=None` (the task's default) into a traced function.
DEFAULT_LENGTH = -1


def check_sampling_args(temperature, top_k, top_p) -> tuple[float, int, float]:
    """Validates sampling options; returns `(temperature, top_k, top_p)` as tensors accept.

    `top_k=None` (or 0) and `top_p=None` (or 1.0) switch those filters off; a
    `top_k` larger than the vocabulary keeps the whole vocabulary.
    """
    temperature = check_float(
        temperature,
        "temperature",
        low=0,
        accepted="be >= 0 (a number; 0: greedy, e.g. 0.8 to sample)",
        finite=False,  # infinite: every token alike
    )
    top_k = 0 if top_k is None else top_k
    top_k = check_int(top_k, "top_k", low=0, accepted="be a positive integer or None (no filter)")
    top_p = 1.0 if top_p is None else top_p
    top_p = check_float(
        top_p,
        "top_p",
        low=0,
        high=1,
        open_low=True,
        accepted="lie in (0, 1], or be None to switch it off",
    )
    return temperature, top_k, top_p


def check_seed(seed) -> int:
    """A valid seed for the stateless draws: `None` draws a fresh one; else an int in 0..2**63-1."""
    if seed is None:
        return random.randrange(2**31)
    return check_int(
        seed, "seed", low=0, high=2**63 - 1, accepted="be an integer in 0..2**63-1, or None"
    )


def check_no_repeat_ngram_size(size) -> int:
    """Validates `no_repeat_ngram_size`: `None` or 0 switches the rule off, else an int >= 1."""
    if size is None:
        return 0
    accepted = "be a positive integer, or None or 0 for no rule"
    return check_int(size, "no_repeat_ngram_size", low=0, accepted=accepted)


def check_length_penalty(length_penalty) -> float:
    """Beam search's `length_penalty`: any finite number (a NaN would never let a row settle)."""
    return check_float(length_penalty, "length_penalty", accepted="be a finite number")


def check_max_length(max_length):
    """`None` (the task's default) or an int in 0..`MAX_LENGTH`."""
    if max_length is None:
        return None
    accepted = f"lie in 0..{MAX_LENGTH} (tokens written; None: the task's default)"
    return check_int(max_length, "max_length", low=0, high=MAX_LENGTH, accepted=accepted)


def check_stop(stop) -> tuple[str, ...]:
    """`None`, a string or a list of non-empty strings, as a tuple."""
    if stop is None or isinstance(stop, str):
        stops = () if stop is None else (stop,)
    elif isinstance(stop, Mapping):  # a JSON object, say: its keys are not meant
        stops = (stop,)
    else:
        try:
            stops = tuple(stop)
        except TypeError:  # not a list: a number, a flag
            stops = (stop,)
    if any(not isinstance(s, str) or not s for s in stops):
        raise ValueError(f"stop must be a non-empty string or a list of them, got {shown(stop)}")
    return tuple(map(str, stops))


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """How a generating verb writes: length, greedy / sampling / beam search, stop rules.

    Every field is checked when the object is made (NumPy numbers are taken
    like Python ones; bools, NaN, strings and values out of range raise a
    `ValueError` naming the option, the value and what it accepts). Inside a
    traced function or an exported SavedModel the fields may be tensors, taken
    as they are.

    Attributes:
        max_length: the most tokens (characters, words or subword pieces)
            written after the prompt or the start, the end token not counted:
            an int in 0..`MAX_LENGTH` (100,000), or None for the task's
            default (text generation: 400; translation: twice the source's
            pieces plus 10, at most 512; captioning: 64).
        temperature: 0 (default) is greedy, the most likely token each step;
            above 0 samples, below 1 safer, above 1 wilder.
        top_k: sample among the k most likely tokens only (None/0: all).
        top_p: sample among the most likely tokens covering this probability
            mass (None/1.0: all).
        seed: an int makes a sample reproducible (the same in Python, the CLI
            and the exported SavedModel); None draws a fresh one per call.
        beam_size: 1 is greedy or sampling; more keeps that many hypotheses
            per input and returns the best (deterministic: refuses sampling).
        length_penalty: beam scores are log-probabilities divided by
            `((5 + length) / 6) ** length_penalty` (0: no normalisation).
        no_repeat_ngram_size: n never writes an n-gram of tokens twice in one
            output (greedy, sampling and beam search); None/0: no such rule.
        stop: text generation only: a string or strings after which writing
            ends (the stop string is included).
    """

    max_length: int | None = None
    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    beam_size: int = 1
    length_penalty: float = 0.6
    no_repeat_ngram_size: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self):
        checks = {
            "max_length": check_max_length,
            "seed": lambda seed: None if seed is None else check_seed(seed),
            "length_penalty": check_length_penalty,
        }
        for name, check in checks.items():
            if not _is_tensor(getattr(self, name)):
                object.__setattr__(self, name, check(getattr(self, name)))
        if not _is_tensor(self.temperature):
            sampling = check_sampling_args(self.temperature, self.top_k, self.top_p)
            for name, value in zip(("temperature", "top_k", "top_p"), sampling):
                object.__setattr__(self, name, value)
        # The static part is Python, always: it shapes the traced function.
        object.__setattr__(
            self, "beam_size", check_int(self.beam_size, "beam_size", low=1, high=MAX_BEAM_SIZE)
        )
        size = check_no_repeat_ngram_size(self.no_repeat_ngram_size)
        # No output is long enough to hold such an n-gram twice: no rule (and no padding by n).
        object.__setattr__(self, "no_repeat_ngram_size", 0 if size >= MAX_LENGTH else size)
        object.__setattr__(self, "stop", check_stop(self.stop))
        if self.beam_size > 1 and (not self.greedy or self.top_k or self.top_p < 1):
            raise ValueError(
                f"beam search is deterministic: pass temperature=0 and no top_k/top_p with "
                f"beam_size > 1 (got beam_size={self.beam_size}, temperature={self.temperature}, "
                f"top_k={self.top_k}, top_p={self.top_p})"
            )

    @property
    def greedy(self) -> bool:
        """Whether each token is the most likely one (known in Python; False for a tensor)."""
        if _is_tensor(self.temperature):
            return False
        return self.temperature == 0

    @property
    def static_key(self) -> tuple:
        """What a traced function depends on: `(beam_size, no_repeat_ngram_size, greedy)`."""
        return (self.beam_size, self.no_repeat_ngram_size, self.greedy)

    def replace(self, **options) -> GenerationConfig:
        """A copy with some fields changed (checked again); unknown names raise `TypeError`."""
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            fields = ", ".join(f.name for f in dataclasses.fields(self))
            raise TypeError(f"unknown generation option(s) {unknown}; the options are: {fields}")
        return dataclasses.replace(self, **options)

    def tensors(self) -> tuple:
        """The dynamic part as scalar tensors, for a traced function; a `seed=None` is drawn now."""
        import tensorflow as tf

        return (
            tf.constant(DEFAULT_LENGTH if self.max_length is None else self.max_length, tf.int32),
            tf.constant(self.temperature, tf.float32),
            tf.constant(min(self.top_k, 2**31 - 1), tf.int32),
            tf.constant(self.top_p, tf.float32),
            tf.constant(self.length_penalty, tf.float32),
            tf.constant(check_seed(self.seed), tf.int64),
        )

    def with_tensors(self, tensors) -> GenerationConfig:
        """This config with its dynamic fields replaced by `tensors` (inside a traced function).

        A greedy config keeps its Python sampling fields, so the trace skips the draw.
        """
        max_length, temperature, top_k, top_p, length_penalty, seed = tensors
        dynamic = {"max_length": max_length, "length_penalty": length_penalty, "seed": seed}
        if not self.greedy:
            dynamic.update(temperature=temperature, top_k=top_k, top_p=top_p)
        return dataclasses.replace(self, **dynamic)

    @staticmethod
    def tensor_signature() -> list:
        """The `tf.TensorSpec`s of `tensors()`."""
        import tensorflow as tf

        kinds = (tf.int32, tf.float32, tf.int32, tf.float32, tf.float32, tf.int64)
        return [tf.TensorSpec([], kind) for kind in kinds]


def _is_tensor(value) -> bool:
    # Tensors exist only once TensorFlow is imported; a config of Python values needs none.
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(value)
