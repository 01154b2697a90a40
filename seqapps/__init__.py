"""seqapps: recurrent-network sequence applications on Keras 3, with a zoo of pretrained models.

>>> import seqapps
>>> seqapps.list_models("sentiment-*")  # doctest: +SKIP
>>> model = seqapps.load("sentiment-lstm")  # doctest: +SKIP
>>> model.classify("a gorgeous, witty, seductive movie.")  # doctest: +SKIP

TensorFlow is imported on first use of a model, not by `import seqapps`. Its log
lines (start-up notices, CUDA probes, absl warnings) are kept off stderr unless
`SEQAPPS_VERBOSE=1`; errors still raise as exceptions.
"""

import importlib
import os

from seqapps._quiet import quiet_tensorflow

quiet_tensorflow()  # before anything imports TensorFlow

from seqapps.version import __version__  # noqa: E402
from seqapps.zoo import describe, list_models  # noqa: E402

_LAZY = {
    "GenerationConfig": "seqapps.generation",
    "RecurrentStack": "seqapps.layers",
    "TextVectorizer": "seqapps.text",
    "Task": "seqapps.tasks",
    "TextClassifier": "seqapps.tasks",
    "TextGenerator": "seqapps.tasks",
    "Translator": "seqapps.tasks",
    "ImageCaptioner": "seqapps.tasks",
    "SequenceTagger": "seqapps.tasks",
}


def load(name: str, *, runtime: str = "tensorflow", **overrides):
    """Loads a zoo entry (or a saved `.keras` preset, or a folder holding `model.keras`) as a
    ready-to-use task model.

    Keyword arguments override the entry's configuration; e.g.
    `load("sentiment-lstm", labels=["bad", "okay", "good"])` keeps the pretrained
    vocabulary, embedding and encoder under a fresh head for fine-tuning; the
    entry's own labels in another order keep its trained head, reordered.

    `runtime="litert"` serves the same verb from LiteRT files instead (an entry
    name or an export folder; `variant="int8"`, `num_threads=`): fast for one
    input at a time, greedy or sampled text only (`seqapps.litert`).
    """
    if runtime == "litert":
        from seqapps.litert import load_litert

        unknown = sorted(set(overrides) - {"variant", "num_threads", "cache_dir"})
        if unknown:
            raise TypeError(
                f"runtime='litert' takes variant, num_threads and cache_dir, not {unknown}; "
                f"change a model with seqapps.load(name, ...) and export it (format='litert')"
            )
        return load_litert(name, **overrides)
    if runtime != "tensorflow":
        raise ValueError(f"runtime must be 'tensorflow' or 'litert', got {runtime!r}")
    from seqapps.tasks import TASKS, Task
    from seqapps.zoo import get_entry
    from seqapps.zoo.registry import preset_file

    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(
            f"load takes an entry name, a .keras path or a folder holding one, got "
            f"{type(name).__name__} ({name!r}); see seqapps.list_models()"
        )
    name = os.fspath(name)
    if preset_file(name) is not None:
        return Task.from_preset(name, **overrides)
    entry = get_entry(name)
    if entry.task not in TASKS:
        raise ValueError(f"entry {name!r} is for task {entry.task!r}, which this version lacks")
    return TASKS[entry.task].from_preset(name, **overrides)


#: Submodules imported on first use: `seqapps.plots.attention_heatmap(...)` works after
#: `import seqapps` alone.
_SUBMODULES = (
    "datasets",
    "decoding",
    "inspect",
    "layers",
    "plots",
    "serve",
    "tasks",
    "text",
    "zoo",
)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"seqapps.{name}")
    raise AttributeError(f"module 'seqapps' has no attribute {name!r}")


__all__ = ["__version__", "describe", "list_models", "load", *_LAZY]
