"""Datasets for seqapps: bundled real datasets, TFDS pass-through, the user's own data.

Everything returns ``tf.data.Dataset`` in the same shapes, so every task trains on a bundled
dataset, a TFDS dataset or the user's files alike:

>>> from seqapps import datasets
>>> datasets.list_datasets()  # doctest: +SKIP
['bible_en_es', 'brown_pos', 'emoji_captions', 'sentence_polarity', 'shakespeare']
>>> train = datasets.load("sentence_polarity", split="train")  # (text, label) pairs
>>> batches = datasets.prepare(train, batch_size=32, seed=0, deterministic=True)

Readers of the user's data (``from_lists``, ``from_dataframe``, ``from_csv``,
``from_text_files``, ``from_parallel_tsv``, ``from_parallel_files``, ``from_conll``,
``from_image_folder``) and the pipeline helpers (``shuffle``, ``bucket_by_length``,
``prepare``, ``hold_out``) import TensorFlow on first use; ``tensorflow_datasets`` is imported only by
``load``/``info``, and pandas never (``from_dataframe`` only reads the frame it is given).
"""

import importlib

from seqapps.datasets._catalog import (
    DatasetNotPreparedError,
    format_table,
    info,
    list_datasets,
    load,
)

_LAZY = {
    "from_lists": "seqapps.datasets._user",
    "from_dataframe": "seqapps.datasets._user",
    "from_csv": "seqapps.datasets._user",
    "from_text_files": "seqapps.datasets._user",
    "from_parallel_tsv": "seqapps.datasets._user",
    "from_parallel_files": "seqapps.datasets._user",
    "from_conll": "seqapps.datasets._user",
    "from_image_folder": "seqapps.datasets._user",
    "shuffle": "seqapps.datasets._pipeline",
    "bucket_by_length": "seqapps.datasets._pipeline",
    "prepare": "seqapps.datasets._pipeline",
    "hold_out": "seqapps.datasets._pipeline",
    "unlabelled_text": "seqapps.datasets._unlabelled",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqapps.datasets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "DatasetNotPreparedError",
    "format_table",
    "info",
    "list_datasets",
    "load",
    *_LAZY,
]
