"""One way in: ``load`` / ``info`` for bundled datasets, passing other names through to TFDS."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from seqapps.datasets import _bundled

if TYPE_CHECKING:
    import tensorflow as tf
    import tensorflow_datasets as tfds

# Keyword arguments of `tfds.load` that also make sense for a bundled dataset.
BUNDLED_TFDS_KWARGS = ("batch_size", "decoders", "read_config", "download")
TFDS_CATALOG_URL = "https://www.tensorflow.org/datasets/catalog/overview"
# Where TFDS fetches most data from; probed before any download so that an offline machine
# fails at once instead of waiting on connection retries.
NETWORK_PROBE = ("storage.googleapis.com", 443)


class DatasetNotPreparedError(FileNotFoundError):
    """A TFDS dataset is not prepared in ``data_dir`` and cannot be downloaded now."""


def list_datasets() -> list[str]:
    """Names of the bundled datasets, sorted.

    >>> from seqapps import datasets
    >>> "sentence_polarity" in datasets.list_datasets()
    True
    """
    return sorted(_bundled.bundled_folders())


def format_table() -> str:
    """A plain-text table of the bundled datasets: name, task, counts per split and licence.

    >>> from seqapps import datasets
    >>> print(datasets.format_table())  # doctest: +SKIP
    name               task       train  validation  test  license
    sentence_polarity  sentiment  18834        2229  2257  MIT
    """
    header = ("name", "task", "train", "validation", "test", "license")
    rows = []
    for name, folder in _bundled.bundled_folders().items():
        meta = _bundled.read_info(folder)
        counts = [str(meta["splits"].get(split, 0)) for split in _bundled.SPLITS]
        rows.append((name, meta["task"], *counts, _short(meta["license"])))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    numeric = {2, 3, 4}

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(row) for row in (header, *rows))


def _short(text: str, width: int = 60) -> str:
    """The licence's first sentence, cut to `width` characters; `info(name)` has it whole."""
    first = text.split(". ")[0].split("; ")[0].rstrip(".")
    return first if len(first) <= width else first[: width - 1].rstrip() + "…"


def load(
    name: str,
    split: str = "train",
    *,
    as_supervised: bool = True,
    data_dir: str | os.PathLike | None = None,
    shuffle_files: bool = False,
    with_info: bool = False,
    **tfds_kwargs: Any,
) -> tf.data.Dataset | tuple[tf.data.Dataset, tfds.core.DatasetInfo]:
    """Loads a bundled dataset, or any TFDS catalog dataset already prepared in ``data_dir``.

    Bundled datasets (``list_datasets()``) are TFDS datasets built from the files committed
    under ``datasets/<name>/``: the first call prepares them, without any download, into
    ``data_dir`` (default ``$SEQAPPS_DATA_DIR`` or ``~/.cache/seqapps/datasets``); later calls
    reuse that cache until the committed data changes. Examples come in the documented file
    order unless ``shuffle_files=True``.

    Any other name goes to ``tfds.load`` (``data_dir=None`` means TFDS's own default). If that
    dataset is not prepared there and cannot be downloaded (offline, or ``download=False``),
    a ``DatasetNotPreparedError`` says how to fetch it.

    Args:
        name: a bundled name such as ``"sentence_polarity"``, or a TFDS name such as
            ``"imdb_reviews"`` (with optional ``/config:version``).
        split: ``"train"``, ``"validation"``, ``"test"`` or a TFDS split expression such as
            ``"train[:10%]"`` or ``"train+validation"``; ``None`` gives a dict of all splits.
        as_supervised: yield ``(input, target)`` as named by the dataset's supervised keys
            (a bundled dataset with a single key, e.g. text for generation, yields that tensor
            alone); ``False`` yields dicts of all features.
        data_dir: where prepared data is cached / looked up.
        shuffle_files: shuffle the order of the prepared files.
        with_info: also return the ``tfds.core.DatasetInfo``.
        **tfds_kwargs: passed to ``tfds.load``; bundled datasets accept ``batch_size``,
            ``decoders``, ``read_config`` and ``download`` (ignored: nothing is downloaded).

    >>> from seqapps import datasets
    >>> ds = datasets.load("sentence_polarity", split="validation[:8]")
    >>> text, label = next(iter(ds))
    >>> int(label) in (0, 1)
    True
    """
    folders = _bundled.bundled_folders()
    if name in folders:
        unknown = sorted(set(tfds_kwargs) - set(BUNDLED_TFDS_KWARGS))
        if unknown:
            raise TypeError(
                f"load({name!r}) got {unknown}, which bundled datasets do not take; "
                f"they accept {list(BUNDLED_TFDS_KWARGS)}"
            )
        tfds_kwargs.pop("download", None)
        builder = _bundled.prepared_builder(name, folders[name], data_dir)
        if split is not None:
            _check_split(name, split, builder.info.splits)
        dataset = builder.as_dataset(
            split=split, shuffle_files=shuffle_files, as_supervised=False, **tfds_kwargs
        )
        if as_supervised:
            keys = builder.info.metadata["supervised_keys"]
            if isinstance(dataset, dict):  # split=None: every split, as TFDS does
                dataset = {name: _select_supervised(ds, keys) for name, ds in dataset.items()}
            else:
                dataset = _select_supervised(dataset, keys)
        return (dataset, builder.info) if with_info else dataset
    return _load_from_tfds(
        name,
        split=split,
        as_supervised=as_supervised,
        data_dir=data_dir,
        shuffle_files=shuffle_files,
        with_info=with_info,
        **tfds_kwargs,
    )


def _check_split(name: str, split: str, splits) -> None:
    """Refuses now a split expression that TFDS would only fail on (or read empty) when iterated."""
    try:
        count = splits[split].num_examples
    except (ValueError, KeyError, AssertionError) as error:
        raise ValueError(f"load({name!r}, split={split!r}): {error}") from None
    if count <= 0:
        sizes = {key: value.num_examples for key, value in splits.items()}
        raise ValueError(
            f"load({name!r}, split={split!r}) selects no examples; the splits hold {sizes}, "
            f"and a slice [start:end] needs start < end"
        )


def info(name: str, *, data_dir: str | os.PathLike | None = None) -> tfds.core.DatasetInfo:
    """The ``tfds.core.DatasetInfo`` of a bundled or TFDS dataset.

    For a bundled dataset this prepares the cache if needed (as ``load`` would), so the
    split counts are those of the prepared data. Beyond TFDS's own fields (``features``,
    ``splits``, ``citation``, ``description``, ``supervised_keys``), ``info.metadata`` holds
    ``task``, ``license``, ``attribution``, ``source``, ``split_rule``, ``notes`` and the
    ``sha256`` of the committed data file (``file_sha256``: of each file, images included).

    >>> from seqapps import datasets
    >>> meta = datasets.info("sentence_polarity")
    >>> meta.features["label"].names
    ['negative', 'positive']
    >>> meta.splits["test"].num_examples > 0
    True
    """
    folders = _bundled.bundled_folders()
    if name in folders:
        return _bundled.prepared_builder(name, folders[name], data_dir).info
    return _tfds_builder(name, data_dir).info


def _select_supervised(dataset: tf.data.Dataset, keys: list[str]) -> tf.data.Dataset:
    if len(keys) == 1:
        (key,) = keys
        return dataset.map(lambda example: example[key])
    source, target = keys
    return dataset.map(lambda example: (example[source], example[target]))


def _tfds_builder(name: str, data_dir: str | os.PathLike | None):
    """``tfds.builder(name)``, or a ValueError naming the closest known datasets."""
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=os.fspath(data_dir) if data_dir else None)
    except tfds.core.registered.DatasetNotFoundError:
        pass
    bundled = list_datasets()
    base_name = name.split("/")[0].split(":")[0]
    near_bundled = _bundled.closest_names(base_name, bundled)
    catalog = tfds.list_builders(with_community_datasets=False)
    near_tfds = _bundled.closest_names(base_name, catalog, cutoff=0.75)
    hints = []
    if near_bundled:
        hints.append(f"did you mean {near_bundled[0]!r}?")
        if near_bundled[1:]:
            hints.append(f"(also close: {', '.join(map(repr, near_bundled[1:]))})")
    if near_tfds:
        hints.append(f"closest TFDS names: {', '.join(near_tfds)}.")
    hints.append(f"Bundled datasets: {', '.join(bundled) or '(none)'}")
    raise ValueError(
        f"unknown dataset {name!r}: not bundled and not in the TFDS catalog; "
        + " ".join(hints)
        + f"; see seqapps.datasets.list_datasets() and {TFDS_CATALOG_URL}"
    ) from None


def _network_reachable(timeout: float = 2.0) -> bool:
    """Whether a TCP connection to TFDS's download host (or the HTTPS proxy) opens quickly."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    host, port = NETWORK_PROBE
    if proxy:
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parsed.hostname or host, parsed.port or 80
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_from_tfds(
    name: str,
    *,
    split: str,
    as_supervised: bool,
    data_dir: str | os.PathLike | None,
    shuffle_files: bool,
    with_info: bool,
    **tfds_kwargs: Any,
):
    import tensorflow_datasets as tfds

    builder = _tfds_builder(name, data_dir)
    download = tfds_kwargs.pop("download", True)
    if not builder.is_prepared():
        reason = "download=False was passed" if not download else None
        if download and not _network_reachable():
            reason = f"the network is unreachable ({NETWORK_PROBE[0]} did not answer)"
        if reason:
            raise DatasetNotPreparedError(_not_prepared_message(name, builder, reason))
    else:
        download = False  # prepared: never touch the network
    return tfds.load(
        name,
        split=split,
        data_dir=os.fspath(data_dir) if data_dir else None,
        as_supervised=as_supervised,
        shuffle_files=shuffle_files,
        with_info=with_info,
        download=download,
        **tfds_kwargs,
    )


def _not_prepared_message(name: str, builder, reason: str) -> str:
    root = Path(builder.data_dir_root)
    return (
        f"TFDS dataset {name!r} is not prepared in {root} (looked for {builder.data_dir}) "
        f"and needs a download, but {reason}. On a machine with internet access run\n"
        f"    tfds build {builder.name} --data_dir={root}\n"
        f"(or seqapps.datasets.load({name!r}, data_dir={str(root)!r})), then copy the folder "
        f"{builder.name}/ of that data_dir here, or pass data_dir= pointing at a folder that "
        f"already holds a prepared copy ({builder.name}/<config>/<version>/)."
    )
