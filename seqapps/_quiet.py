"""Quiet by default: TensorFlow's log lines stay off stderr unless `SEQAPPS_VERBOSE` is set.

TensorFlow writes notices on stderr when it loads (oneDNN, CUDA drivers, CPU
features) and later at run time (`failed call to cuInit`, oneDNN DT_HALF),
and its Python side logs through the `tensorflow` and `absl` loggers. None of
it is for a user of seqapps, and none of it is an error: errors still raise as
Python exceptions, with their messages. `SEQAPPS_VERBOSE=1` leaves everything
as TensorFlow sets it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import os
import sys

#: Modules whose first import writes C++ notices before any setting applies.
NOISY_IMPORTS = ("tensorflow", "tensorflow_text")


def verbose() -> bool:
    return os.environ.get("SEQAPPS_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def quiet_tensorflow() -> None:
    """Applies the quiet settings; called by `import seqapps`, before TensorFlow loads."""
    if verbose():
        return
    # Run-time C++ lines obey TF_CPP_MIN_LOG_LEVEL; a value the user set is kept.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # absl's logger must be made by absl (its own Logger class), hence the import.
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    if not any(name in sys.modules for name in NOISY_IMPORTS):
        sys.meta_path.insert(0, _QuietFirstImport())


@contextlib.contextmanager
def stderr_silenced():
    """Points the process's stderr (file descriptor 2, where C++ writes) at /dev/null."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    """Imports TensorFlow (and tensorflow-text) the first time with stderr silenced.

    Their load notices are written by C++ before `TF_CPP_MIN_LOG_LEVEL` is read
    from a variable set inside the process, so only the import itself can be
    silenced. An import that fails still raises its exception as usual.
    """

    def find_spec(self, name, path=None, target=None):
        if name not in NOISY_IMPORTS or name in sys.modules:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _SilencedLoader(spec.loader)
                return spec
        return None


class _SilencedLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with stderr_silenced():
            self.loader.exec_module(module)
        if all(name in sys.modules for name in NOISY_IMPORTS):
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietFirstImport)]

    def __getattr__(self, name):
        return getattr(self.loader, name)


def progress_verbosity(verbose, x=None, batch_size=None):
    """Keras's `verbose` for `fit` / `evaluate` / `predict`, with "auto" made quieter.

    Keras 3's "auto" always draws a progress bar, redrawn with carriage returns
    and ANSI colours, even for one text and into a redirected log. Here "auto"
    is a bar on a terminal, one plain line per epoch elsewhere, and nothing when
    the input fits in one batch.
    """
    if verbose != "auto":
        return verbose
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        if 0 <= int(x.cardinality()) <= 1:
            return 0
    elif x is not None:
        first = tf.nest.flatten(x)[0]  # one input of several, e.g. (images, target_ids)
        rows = getattr(first, "shape", (None,))[:1]
        if rows and rows[0] is not None and rows[0] <= (batch_size or 32):
            return 0
    isatty = getattr(sys.stdout, "isatty", None)
    return 1 if isatty is not None and isatty() else 2
