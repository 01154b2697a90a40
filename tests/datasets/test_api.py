"""The public loader: bundled datasets through TFDS builders, the TFDS pass-through, errors.

Most tests run on tiny dataset folders written to a temporary bundled root, so they do not
depend on (or prepare) the large committed datasets; a few check the committed folders.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from seqapps import datasets
from seqapps.tasks import TASKS

# The private modules: their registry root and network probe are what the tests replace.
_bundled = datasets._bundled
_catalog = datasets._catalog

COMMITTED = {"bible_en_es", "brown_pos", "emoji_captions", "sentence_polarity", "shakespeare"}
POLARITY = [
    {"split": "train", "text": "a gorgeous film", "label": 1, "score": 2.5, "votes": 7},
    {"split": "train", "text": "dull and long", "label": 0, "score": -1.25, "votes": 3},
    {"split": "test", "text": "witty", "label": 1, "score": 1.0, "votes": 1},
    {"split": "train", "text": "a mess", "label": 0, "score": -3.0, "votes": 9},
    {"split": "validation", "text": "quite fine", "label": 1, "score": 0.5, "votes": 2},
    {"split": "train", "text": "señor, qué bien", "label": 1, "score": 2.0, "votes": 4},
]
TAGGING = [
    {"split": "train", "tokens": ["The", "cat", "sat"], "tags": [0, 1, 2]},
    {"split": "train", "tokens": ["Dogs", "bark"], "tags": [1, 2]},
    {"split": "validation", "tokens": ["A", "dog"], "tags": [0, 1]},
    {"split": "test", "tokens": ["Birds", "sing", "loudly", "today"], "tags": [1, 2, 3, 3]},
]
STORY = [
    {"split": "train", "text": "Once upon a time."},
    {"split": "validation", "text": "The end."},
    {"split": "test", "text": "Another tale."},
]


def write_dataset(root, name, records, features, supervised_keys, images=None, citation=""):
    """Writes a bundled-dataset folder following the contract (data, info, optional images)."""
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / _bundled.DATA_FILE, "wb") as file:
        with gzip.GzipFile(filename="", mode="wb", fileobj=file, mtime=0) as data:
            for record in records:
                line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
                data.write(line.encode("utf-8"))
    if images is not None:
        with open(folder / "images.uint8.gz", "wb") as file:
            with gzip.GzipFile(filename="", mode="wb", fileobj=file, mtime=0) as data:
                data.write(np.ascontiguousarray(images, np.uint8).tobytes())
    counts = Counter(record["split"] for record in records)
    info = {
        "name": name,
        "task": "testing",
        "description": f"tiny {name}",
        "version": "1.0.0",
        "source": {"registry": "none"},
        "license": "CC0-1.0",
        "attribution": "nobody",
        "citation": citation,
        "homepage": "",
        "split_rule": "as written",
        "splits": {split: counts[split] for split in _bundled.SPLITS},
        "features": features,
        "supervised_keys": supervised_keys,
        "notes": {"dropped": 0},
    }
    (folder / _bundled.INFO_FILE).write_text(json.dumps(info, indent=2, sort_keys=True))
    return folder


IMAGES = np.arange(3 * 4 * 5 * 3, dtype=np.uint8).reshape(3, 4, 5, 3)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """A bundled root with four tiny datasets, used as BUNDLED_ROOT with its own cache."""
    root = tmp_path_factory.mktemp("bundled")
    write_dataset(
        root,
        "tiny_polarity",
        POLARITY,
        {
            "text": {"dtype": "string"},
            "label": {"dtype": "class_label", "names": ["negative", "positive"]},
            "score": {"dtype": "float32"},
            "votes": {"dtype": "int64"},
        },
        ["text", "label"],
        citation="@misc{tiny, title={Tiny}}",
    )
    write_dataset(
        root,
        "tiny_tagging",
        TAGGING,
        {
            "tokens": {"dtype": "string", "sequence": True},
            "tags": {
                "dtype": "class_label",
                "names": ["DET", "NOUN", "VERB", "ADV"],
                "sequence": True,
            },
        },
        ["tokens", "tags"],
    )
    write_dataset(root, "tiny_story", STORY, {"text": {"dtype": "string"}}, ["text"])
    captions = [
        {"split": "train", "image": 2, "caption": "third", "refs": ["third", "3rd"]},
        {"split": "train", "image": 0, "caption": "first", "refs": ["first"]},
        {"split": "test", "image": 1, "caption": "second", "refs": []},
    ]
    write_dataset(
        root,
        "tiny_captions",
        captions,
        {
            "image": {"dtype": "image", "shape": [4, 5, 3], "file": "images.uint8.gz"},
            "caption": {"dtype": "string"},
            "refs": {"dtype": "string", "sequence": True},
        },
        ["image", "caption"],
        images=IMAGES,
    )
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def use_tiny_root(request, tiny_root, cache_dir, monkeypatch):
    if request.node.name.startswith("test_committed_"):
        return
    monkeypatch.setattr(_bundled, "BUNDLED_ROOT", tiny_root)
    monkeypatch.setenv("SEQAPPS_DATA_DIR", str(cache_dir))


def as_python(value):
    if isinstance(value, dict):
        return {key: as_python(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(as_python(item) for item in value)
    value = value.numpy() if hasattr(value, "numpy") else value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [item.decode("utf-8") for item in value]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def records(split, name="tiny_polarity"):
    source = {"tiny_polarity": POLARITY, "tiny_tagging": TAGGING, "tiny_story": STORY}[name]
    return [{k: v for k, v in r.items() if k != "split"} for r in source if r["split"] == split]


# --- registry and table -------------------------------------------------------------------


def test_list_datasets_is_the_sorted_folders_with_data():
    assert datasets.list_datasets() == [
        "tiny_captions",
        "tiny_polarity",
        "tiny_story",
        "tiny_tagging",
    ]


def test_format_table_has_counts_and_license():
    lines = datasets.format_table().splitlines()
    assert lines[0].split() == ["name", "task", "train", "validation", "test", "license"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["tiny_polarity"] == ["tiny_polarity", "testing", "4", "1", "1", "CC0-1.0"]
    assert rows["tiny_tagging"][2:5] == ["2", "1", "1"]


def test_committed_datasets_are_listed_with_valid_schemas():
    names = datasets.list_datasets()
    assert COMMITTED <= set(names)
    table = datasets.format_table()
    for name in COMMITTED:
        meta = _bundled.read_info(_bundled.bundled_folders()[name])
        _bundled.tfds_features(meta["features"])  # every schema maps onto TFDS features
        row = next(line.split() for line in table.splitlines() if line.startswith(name + " "))
        assert row[2:5] == [str(meta["splits"][split]) for split in _bundled.SPLITS]
        # Named as the zoo names tasks, so `seqapps list --task` and `seqapps datasets` agree.
        assert row[1] in TASKS, (name, row[1])


# --- loading bundled datasets -------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_supervised_pairs_in_file_order(split):
    pairs = [as_python(pair) for pair in datasets.load("tiny_polarity", split=split)]
    assert pairs == [(r["text"], r["label"]) for r in records(split)]


def test_feature_dicts_have_schema_dtypes():
    dataset = datasets.load("tiny_polarity", split="train", as_supervised=False)
    spec = dataset.element_spec
    assert {key: spec[key].dtype.name for key in spec} == {
        "text": "string",
        "label": "int64",
        "score": "float32",
        "votes": "int64",
    }
    assert [as_python(example) for example in dataset] == records("train")


def test_sequences_are_1d_tensors():
    dataset = datasets.load("tiny_tagging", split="train")
    tokens_spec, tags_spec = dataset.element_spec
    assert tokens_spec.shape.as_list() == [None] and tokens_spec.dtype.name == "string"
    assert tags_spec.shape.as_list() == [None] and tags_spec.dtype.name == "int64"
    assert [as_python(pair) for pair in dataset] == [
        (r["tokens"], r["tags"]) for r in records("train", "tiny_tagging")
    ]


def test_images_are_uint8_rows_of_the_image_file():
    dataset = datasets.load("tiny_captions", split="train", as_supervised=False)
    assert dataset.element_spec["image"].shape.as_list() == [4, 5, 3]
    assert dataset.element_spec["image"].dtype.name == "uint8"
    examples = list(dataset)
    np.testing.assert_array_equal(examples[0]["image"].numpy(), IMAGES[2])
    np.testing.assert_array_equal(examples[1]["image"].numpy(), IMAGES[0])
    assert as_python(examples[0]["refs"]) == ["third", "3rd"]
    test_refs = next(iter(datasets.load("tiny_captions", split="test", as_supervised=False)))
    assert test_refs["refs"].shape.as_list() == [0]
    image, caption = next(iter(datasets.load("tiny_captions", split="test")))
    np.testing.assert_array_equal(image.numpy(), IMAGES[1])
    assert caption.numpy() == b"second"


def test_single_supervised_key_yields_the_tensor_alone():
    texts = [t.numpy().decode() for t in datasets.load("tiny_story", split="train")]
    assert texts == ["Once upon a time."]


def test_tfds_split_slicing():
    first_half = [as_python(p)[0] for p in datasets.load("tiny_polarity", split="train[:50%]")]
    assert first_half == ["a gorgeous film", "dull and long"]
    both = [as_python(p)[0] for p in datasets.load("tiny_polarity", split="train+validation")]
    assert both == [r["text"] for r in records("train") + records("validation")]
    assert len(list(datasets.load("tiny_polarity", split="train[1:3]"))) == 2


def test_split_none_gives_every_split():
    splits = datasets.load("tiny_polarity", split=None)
    assert sorted(splits) == ["test", "train", "validation"]
    assert [as_python(pair) for pair in splits["validation"]] == [("quite fine", 1)]


@pytest.mark.parametrize("split", ["train[3:1]", "train[:0]"])
def test_an_empty_slice_is_refused_when_loaded_not_when_iterated(split):
    with pytest.raises(ValueError, match=r"selects no examples; the splits hold .*'train': 4"):
        datasets.load("tiny_polarity", split=split)


def test_two_loads_give_the_same_order():
    first = [as_python(p) for p in datasets.load("tiny_polarity", split="train")]
    second = [as_python(p) for p in datasets.load("tiny_polarity", split="train")]
    assert first == second


def test_unknown_split_names_the_valid_ones():
    with pytest.raises(ValueError, match="validation"):
        datasets.load("tiny_polarity", split="dev")


def test_with_info_and_info_give_tfds_dataset_info(cache_dir):
    dataset, info = datasets.load("tiny_polarity", split="test", with_info=True)
    assert len(list(dataset)) == 1
    assert {split: info.splits[split].num_examples for split in info.splits} == {
        "train": 4,
        "validation": 1,
        "test": 1,
    }
    assert info.features["label"].names == ["negative", "positive"]
    assert info.citation == "@misc{tiny, title={Tiny}}"
    assert info.description == "tiny tiny_polarity"
    assert info.supervised_keys == ("text", "label")
    assert info.metadata["license"] == "CC0-1.0"
    assert info.metadata["split_rule"] == "as written"
    assert Path(info.data_dir).is_relative_to(cache_dir)
    again = datasets.info("tiny_polarity")
    assert again.metadata["sha256"] == info.metadata["sha256"]
    assert datasets.info("tiny_tagging").features["tags"].feature.names[-1] == "ADV"


def test_data_dir_argument_and_sha256_in_config_name(tmp_path):
    datasets.load("tiny_story", split="test", data_dir=tmp_path)
    folder = _bundled.bundled_folders()["tiny_story"]
    sha8 = hashlib.sha256((folder / "data.jsonl.gz").read_bytes()).hexdigest()[:8]
    assert (tmp_path / "tiny_story" / f"sha256_{sha8}" / "1.0.0" / "dataset_info.json").is_file()


def test_first_preparation_says_one_line_on_stderr_and_nothing_on_stdout(tmp_path, capfd):
    datasets.load("tiny_story", split="test", data_dir=tmp_path)
    out, err = capfd.readouterr()
    assert out == ""  # no "Downloading and preparing dataset Unknown size" for a CLI's output
    assert "preparing the bundled dataset 'tiny_story'" in err and "nothing is downloaded" in err
    assert "\r" not in err and "absl" not in err  # no progress bars, no TFDS warnings
    datasets.load("tiny_story", split="test", data_dir=tmp_path)
    assert capfd.readouterr() == ("", "")  # prepared once


def test_image_file_checksum_is_part_of_the_cache_key():
    info = datasets.info("tiny_captions")
    folder = _bundled.bundled_folders()["tiny_captions"]
    data8, images8 = (
        hashlib.sha256((folder / name).read_bytes()).hexdigest()[:8]
        for name in ("data.jsonl.gz", "images.uint8.gz")
    )
    assert info.config_name == f"sha256_{data8}_{images8}"
    assert info.metadata["sha256"].startswith(data8)


def test_changed_data_file_is_prepared_again(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_dataset(root, "tiny_story", STORY, {"text": {"dtype": "string"}}, ["text"])
    monkeypatch.setattr(_bundled, "BUNDLED_ROOT", root)
    cache = tmp_path / "cache"
    assert next(iter(datasets.load("tiny_story", data_dir=cache))).numpy() == b"Once upon a time."
    changed = [dict(STORY[0], text="Twice upon a time."), *STORY[1:]]
    write_dataset(root, "tiny_story", changed, {"text": {"dtype": "string"}}, ["text"])
    assert next(iter(datasets.load("tiny_story", data_dir=cache))).numpy() == b"Twice upon a time."
    assert len(list((cache / "tiny_story").glob("sha256_*"))) == 2


def test_counts_disagreeing_with_info_json_name_the_file(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path, "tiny_story", STORY, {"text": {"dtype": "string"}}, ["text"])
    info = json.loads((folder / "info.json").read_text())
    info["splits"]["train"] = 5
    (folder / "info.json").write_text(json.dumps(info))
    monkeypatch.setattr(_bundled, "BUNDLED_ROOT", tmp_path)
    with pytest.raises(ValueError, match=r"info\.json says split 'train' has 5 .* holds 1"):
        datasets.load("tiny_story", data_dir=tmp_path / "cache")


def test_info_json_missing_keys_are_named(tmp_path):
    folder = write_dataset(tmp_path, "tiny_story", STORY, {"text": {"dtype": "string"}}, ["text"])
    info = json.loads((folder / "info.json").read_text())
    del info["license"], info["split_rule"]
    (folder / "info.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match=r"lacks the keys \['license', 'split_rule'\]"):
        _bundled.read_info(folder)


def test_tfds_only_keyword_is_rejected_for_bundled():
    with pytest.raises(TypeError, match="try_gcs"):
        datasets.load("tiny_story", try_gcs=True)


# --- the TFDS pass-through ----------------------------------------------------------------


def test_unknown_name_suggests_the_closest_bundled_names():
    with pytest.raises(ValueError, match=r"did you mean 'tiny_polarity'\?") as error:
        datasets.load("tiny_polarty")
    assert "list_datasets()" in str(error.value)


def test_offline_tfds_dataset_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(_catalog, "_network_reachable", lambda timeout=2.0: False)
    started = time.monotonic()
    with pytest.raises(datasets.DatasetNotPreparedError) as error:
        datasets.load("imdb_reviews", data_dir=tmp_path)
    # Generous: the point is no waiting on network retries (minutes), not a benchmark.
    assert time.monotonic() - started < 30
    message = str(error.value)
    assert "'imdb_reviews' is not prepared in" in message and str(tmp_path) in message
    assert "network is unreachable" in message
    assert f"tfds build imdb_reviews --data_dir={tmp_path}" in message
    assert "data_dir=" in message
    assert isinstance(error.value, FileNotFoundError)


def test_download_false_never_tries_the_network(tmp_path, monkeypatch):
    def no_probe(timeout=2.0):
        raise AssertionError("probed the network although download=False")

    monkeypatch.setattr(_catalog, "_network_reachable", no_probe)
    with pytest.raises(datasets.DatasetNotPreparedError, match="download=False was passed"):
        datasets.load("coco_captions", data_dir=tmp_path, download=False)


def test_prepared_tfds_dataset_passes_through(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    class SeqappsPassThroughProbe(tfds.core.GeneratorBasedBuilder):
        """A registered TFDS dataset prepared locally, standing in for a catalog one."""

        VERSION = tfds.core.Version("1.0.0")
        url_infos = None

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {"text": tfds.features.Text(), "label": tfds.features.ClassLabel(num_classes=2)}
                ),
                supervised_keys=("text", "label"),
                disable_shuffling=True,
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for index, text in enumerate(["yes", "no", "maybe"]):
                yield index, {"text": text, "label": index % 2}

    tfds.builder("seqapps_pass_through_probe", data_dir=tmp_path).download_and_prepare()
    monkeypatch.setattr(_catalog, "_network_reachable", lambda timeout=2.0: False)
    dataset, info = datasets.load(
        "seqapps_pass_through_probe", split="train[:2]", data_dir=tmp_path, with_info=True
    )
    assert [as_python(pair) for pair in dataset] == [("yes", 0), ("no", 1)]
    assert info.splits["train"].num_examples == 3
    dicts = datasets.load("seqapps_pass_through_probe", data_dir=tmp_path, as_supervised=False)
    assert set(dicts.element_spec) == {"text", "label"}
    assert datasets.info("seqapps_pass_through_probe", data_dir=tmp_path).name == (
        "seqapps_pass_through_probe"
    )


# --- lazy imports -------------------------------------------------------------------------


def test_import_does_not_load_tfds_or_pandas():
    code = (
        "import sys\n"
        "import seqapps.datasets as d\n"
        "heavy = ('tensorflow_datasets', 'pandas')\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not loaded(), loaded()\n"
        "d.list_datasets(); d.format_table()\n"
        "assert not loaded(), loaded()\n"
        "assert 'tensorflow' not in sys.modules, 'listing datasets imported tensorflow'\n"
        "d.from_lists(['a', 'b'], ['x', 'y'])\n"
        "assert 'tensorflow_datasets' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
