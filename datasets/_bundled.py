"""Bundled datasets: the registry of committed folders and the TFDS builder over them.

Each folder ``datasets/<name>/`` holding ``info.json`` (metadata, split counts, feature
schema, supervised keys) and ``data.jsonl.gz`` (one JSON record per example, with its split)
is one bundled dataset; image features point into a gzipped raw uint8 array beside them. The
registry is read from disk on every call, so it is plain data with nothing to register by hand.

``tensorflow_datasets`` is imported inside the functions that need it: listing datasets and
printing the table must not pay for it.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gzip
import hashlib
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Tests point this at a temporary folder (monkeypatch); everything else reads it at call time.
BUNDLED_ROOT: Path = Path(__file__).resolve().parent

DATA_FILE = "data.jsonl.gz"
INFO_FILE = "info.json"
SPLITS = ("train", "validation", "test")
REQUIRED_INFO_KEYS = (
    "name",
    "task",
    "description",
    "version",
    "source",
    "license",
    "attribution",
    "citation",
    "homepage",
    "split_rule",
    "splits",
    "features",
    "supervised_keys",
    "notes",
)
SCALAR_DTYPES = ("string", "int64", "float32")


def default_data_dir() -> Path:
    """Where prepared bundled datasets are cached: ``$SEQAPPS_DATA_DIR`` or ``~/.cache``."""
    from_env = os.environ.get("SEQAPPS_DATA_DIR")
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".cache" / "seqapps" / "datasets"


def bundled_folders(root: Path | None = None) -> dict[str, Path]:
    """Maps each bundled dataset name to its folder under ``root`` (default ``BUNDLED_ROOT``)."""
    root = BUNDLED_ROOT if root is None else Path(root)
    folders = {}
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        if child.is_dir() and (child / INFO_FILE).is_file() and (child / DATA_FILE).is_file():
            folders[child.name] = child
    return folders


def closest_names(name: str, candidates: list[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    return difflib.get_close_matches(name, candidates, n=n, cutoff=cutoff)


def read_info(folder: Path) -> dict[str, Any]:
    """Reads and checks ``info.json``; a broken file names itself and the missing keys."""
    path = folder / INFO_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON (line {error.lineno}): {error.msg}") from None
    missing = [key for key in REQUIRED_INFO_KEYS if key not in info]
    if missing:
        raise ValueError(f"{path} lacks the keys {missing}; see the dataset folder contract")
    if info["name"] != folder.name:
        raise ValueError(
            f"{path} names the dataset {info['name']!r} but its folder is {folder.name!r}; "
            "the two must match"
        )
    for field, spec in info["features"].items():
        _check_feature_spec(path, field, spec)
    if not 1 <= len(info["supervised_keys"]) <= 2:
        raise ValueError(
            f"{path}: supervised_keys must list one or two fields, got {info['supervised_keys']}"
        )
    for field in info["supervised_keys"]:
        if field not in info["features"]:
            raise ValueError(
                f"{path}: supervised key {field!r} is not a feature; "
                f"features are {sorted(info['features'])}"
            )
    return info


def _check_feature_spec(path: Path, field: str, spec: dict[str, Any]) -> None:
    dtype = spec.get("dtype")
    known = (*SCALAR_DTYPES, "class_label", "image")
    if dtype not in known:
        raise ValueError(f"{path}: feature {field!r} has dtype {dtype!r}; expected one of {known}")
    if dtype == "class_label" and not spec.get("names"):
        raise ValueError(f"{path}: class_label feature {field!r} needs a non-empty 'names' list")
    if dtype == "image" and (len(spec.get("shape", ())) != 3 or not spec.get("file")):
        raise ValueError(f"{path}: image feature {field!r} needs 'shape' [H, W, 3] and 'file'")


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: Path) -> dict[str, str]:
    """sha256 of ``data.jsonl.gz`` and of every image file its schema names, by file name."""
    names = [DATA_FILE] + sorted(
        {spec["file"] for spec in read_info(folder)["features"].values() if "file" in spec}
    )
    checksums = {}
    for name in names:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is named in {folder / INFO_FILE} but missing")
        stat = path.stat()
        checksums[name] = _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)
    return checksums


def config_name(checksums: dict[str, str]) -> str:
    """``sha256_<data file's first 8 hex>`` (+ ``_<8 hex>`` per image file): the cache key."""
    rest = [checksums[name][:8] for name in sorted(checksums) if name != DATA_FILE]
    return "_".join(["sha256", checksums[DATA_FILE][:8], *rest])


def read_records(folder: Path) -> Iterator[dict[str, Any]]:
    """Yields the records of ``data.jsonl.gz`` in file order; a bad line names file and line."""
    path = folder / DATA_FILE
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} line {line_number}: not JSON ({error.msg})") from None
            if record.get("split") not in SPLITS:
                raise ValueError(
                    f"{path} line {line_number}: split {record.get('split')!r} "
                    f"is not one of {SPLITS}"
                )
            yield record


def _read_images(folder: Path, spec: dict[str, Any]):
    import numpy as np

    path = folder / spec["file"]
    with gzip.open(path, "rb") as file:
        raw = np.frombuffer(file.read(), dtype=np.uint8)
    height, width, channels = spec["shape"]
    if raw.size % (height * width * channels):
        raise ValueError(
            f"{path} holds {raw.size} bytes, not a whole number of {spec['shape']} images"
        )
    return raw.reshape(-1, height, width, channels)


def tfds_features(features: dict[str, dict[str, Any]]):
    """The ``tfds.features.FeaturesDict`` for an ``info.json`` feature schema."""
    import numpy as np
    import tensorflow_datasets as tfds

    def one(spec: dict[str, Any]):
        dtype = spec["dtype"]
        if dtype == "string":
            feature = tfds.features.Text()
        elif dtype == "int64":
            feature = tfds.features.Scalar(dtype=np.int64)
        elif dtype == "float32":
            feature = tfds.features.Scalar(dtype=np.float32)
        elif dtype == "class_label":
            feature = tfds.features.ClassLabel(names=spec["names"])
        else:  # image, checked by read_info
            feature = tfds.features.Image(shape=tuple(spec["shape"]), encoding_format="png")
        if not spec.get("sequence"):
            return feature
        if dtype == "string":
            # Same 1-D tf.string output as Sequence(Text()), but encoded as one array instead
            # of token by token: preparing brown_pos is several times faster.
            return tfds.features.Tensor(shape=(None,), dtype=np.str_)
        return tfds.features.Sequence(feature)

    return tfds.features.FeaturesDict({field: one(spec) for field, spec in features.items()})


@functools.cache
def _builder_class(dataset_name: str, folder: str, checksum_items: tuple[tuple[str, str], ...]):
    """One unregistered ``GeneratorBasedBuilder`` subclass per (dataset, data checksums).

    The config name carries the first 8 hex digits of the data file's sha256 (and of any
    image file's), so a new commit of the data is prepared into a new cache folder instead
    of reusing a stale one.
    """
    import tensorflow_datasets as tfds

    folder_path = Path(folder)
    meta = read_info(folder_path)
    checksums = dict(checksum_items)

    class BundledDatasetBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        name = dataset_name
        # Nothing is downloaded, so TFDS must not look for a checksums file beside this module
        # (its lookup fails when `seqapps` is a namespace package).
        url_infos = None
        VERSION = tfds.core.Version(meta["version"])
        BUILDER_CONFIGS = [
            tfds.core.BuilderConfig(
                name=config_name(checksums),
                description=f"{dataset_name} prepared from files with sha256 {checksums}",
            )
        ]

        def _info(self) -> tfds.core.DatasetInfo:
            keys = meta["supervised_keys"]
            return tfds.core.DatasetInfo(
                builder=self,
                description=meta["description"],
                features=tfds_features(meta["features"]),
                # TFDS only understands pairs; a single key is handled by seqapps.datasets.load.
                supervised_keys=tuple(keys) if len(keys) == 2 else None,
                # Records keep the documented source order of the committed file.
                disable_shuffling=True,
                # Without one, TFDS would invent a tensorflow.org catalog page.
                homepage=meta["homepage"] or (folder_path.resolve() / "README.md").as_uri(),
                citation=meta["citation"] or None,
                license=meta["license"],
                metadata=tfds.core.MetadataDict(
                    task=meta["task"],
                    license=meta["license"],
                    attribution=meta["attribution"],
                    source=meta["source"],
                    split_rule=meta["split_rule"],
                    expected_splits=meta["splits"],
                    notes=meta["notes"],
                    supervised_keys=list(keys),
                    sha256=checksums[DATA_FILE],
                    file_sha256=checksums,
                ),
            )

        def _split_generators(self, dl_manager):
            del dl_manager  # everything is in the repository; nothing is downloaded
            by_split: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
            for record in read_records(folder_path):
                by_split[record.pop("split")].append(record)
            images = {
                field: _read_images(folder_path, spec)
                for field, spec in meta["features"].items()
                if spec["dtype"] == "image"
            }
            for split, expected in meta["splits"].items():
                if len(by_split.get(split, ())) != expected:
                    raise ValueError(
                        f"{folder_path / INFO_FILE} says split {split!r} has {expected} "
                        f"examples but {DATA_FILE} holds {len(by_split.get(split, ()))}"
                    )
            return {
                split: self._generate_examples(records, images)
                for split, records in by_split.items()
                if records
            }

        def _generate_examples(self, records, images):
            fields = list(meta["features"])
            for index, record in enumerate(records):
                example = {field: record[field] for field in fields}
                for field, array in images.items():
                    example[field] = array[example[field]]
                yield index, example

    BundledDatasetBuilder.__qualname__ = f"BundledDatasetBuilder[{dataset_name}]"
    return BundledDatasetBuilder


def prepared_builder(name: str, folder: Path, data_dir: str | os.PathLike | None):
    """The builder for a bundled dataset, prepared into ``data_dir`` if not already there."""
    import tensorflow_datasets as tfds

    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    checksums = tuple(sorted(file_checksums(folder).items()))
    builder_class = _builder_class(name, str(folder), checksums)
    with _quiet_tfds():  # an unprepared folder makes TFDS log a warning
        builder = builder_class(data_dir=str(data_dir))
        if builder.is_prepared():
            return builder
    print(
        f"seqapps: preparing the bundled dataset {name!r} in {data_dir} (once; nothing is "
        f"downloaded)",
        file=sys.stderr,
    )
    try:
        with _quiet_tfds():
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(try_download_gcs=False)
            )
    except OSError:
        # Another process may have finished the same preparation first (its rename won).
        with _quiet_tfds():
            builder = builder_class(data_dir=str(data_dir))
            prepared = builder.is_prepared()
        if not prepared:
            raise
    return builder


@contextlib.contextmanager
def _quiet_tfds():
    """TFDS's preparation without its notices: it prints "Downloading and preparing dataset
    Unknown size" to stdout (nothing is downloaded here), logs an absl warning, and draws
    progress bars, which write carriage returns into redirected output."""
    from tensorflow_datasets.core.utils import tqdm_utils

    absl = logging.getLogger("absl")
    level, bars = absl.level, getattr(tqdm_utils, "_active", True)
    absl.setLevel(logging.ERROR)
    tqdm_utils.display_progress_bar(False)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        absl.setLevel(level)
        tqdm_utils.display_progress_bar(bars)
