"""What every LiteRT runtime class shares: the interpreters (one per padded input length) and
their signature runners."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from seqapps.litert.export import MODEL_FILES

#: Added to a logit that must never be drawn, as `seqapps.decoding.EXCLUDED`.
EXCLUDED = np.float32(-1e9)


def padded_length(length: int) -> int:
    """The length an input of `length` steps is padded to: 8, 16, 32, ... steps."""
    return max(8, 1 << (max(length, 1) - 1).bit_length())


def padded(ids, length, value=0, dtype=np.int32):
    """`ids` (a list of steps) with `value` steps appended up to `length`, as one row."""
    ids = np.asarray(ids, dtype)
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
        self.origin = str(folder)  # what `repr` names: the folder, or the zoo entry it serves
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
        return f"<{type(self).__name__} {self.origin!r}: {self.task_name}, {self.variant}>"
