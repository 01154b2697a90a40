"""The zoo registry: one way in, clear answers, and no unverified weights ever loaded."""

import dataclasses
import shutil

import pytest

import seqapps
from harness import zoo_entry_for
from seqapps.cli import main
from seqapps.tasks import TextClassifier
from seqapps.zoo import WeightsDownloadError, ZooEntry, get_entry, list_models, register, registry


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    model = TextClassifier(["good", "bad"], ["negative", "positive"], units=4, embedding_dim=4)
    return model.save_preset(tmp_path_factory.mktemp("preset") / "tiny.keras")


@pytest.fixture
def temporary_entries():
    """Registers entries for one test and removes them afterwards."""
    added = []

    def add(path, name="test-tiny", **weights):
        entry = zoo_entry_for(path, name, weights=weights)
        added.append(register(entry).name)
        return entry

    yield add
    for name in added:
        registry._REGISTRY.pop(name, None)


def test_load_by_name_gives_a_ready_model(tiny_preset, temporary_entries):
    temporary_entries(tiny_preset)
    model = seqapps.load("test-tiny")
    assert isinstance(model, TextClassifier)
    assert model.classify("good")["label"] in ("negative", "positive")


def test_duplicate_names_are_refused(tiny_preset, temporary_entries):
    entry = temporary_entries(tiny_preset)
    with pytest.raises(ValueError, match="already registered"):
        register(entry)


def test_unknown_names_get_the_closest_known_ones(tiny_preset, temporary_entries):
    temporary_entries(tiny_preset, name="sentiment-test-tiny")
    with pytest.raises(ValueError, match="did you mean 'sentiment-test-tiny'"):
        seqapps.load("sentiment-test-tiyn")
    with pytest.raises(ValueError, match="unknown model 'zzz'; see seqapps.list_models"):
        get_entry("zzz")


def test_list_models_filters(tiny_preset, temporary_entries):
    temporary_entries(tiny_preset, name="aaa-test-one")
    temporary_entries(tiny_preset, name="aaa-test-two")
    assert list_models("aaa-test-*") == ["aaa-test-one", "aaa-test-two"]
    assert list_models("*-two", task="text-classification") == ["aaa-test-two"]
    assert list_models("aaa-*", task="translation") == []
    assert seqapps.describe("aaa-test-one")["name"] == "aaa-test-one"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_weights_are_refused(tiny_preset, temporary_entries, tmp_path, damage):
    copy = tmp_path / "tiny.keras"
    shutil.copy(tiny_preset, copy)
    temporary_entries(copy)
    data = bytearray(copy.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="refusing to load 'test-tiny'"):
        seqapps.load("test-tiny")


def test_missing_weights_without_url_say_so(tmp_path, tiny_preset, temporary_entries):
    copy = tmp_path / "gone.keras"
    shutil.copy(tiny_preset, copy)
    temporary_entries(copy)
    copy.unlink()
    with pytest.raises(FileNotFoundError, match="names no URL"):
        seqapps.load("test-tiny")


def test_url_entries_download_verify_and_cache(
    tiny_preset, temporary_entries, tmp_path, monkeypatch
):
    monkeypatch.setenv("SEQAPPS_CACHE", str(tmp_path / "cache"))
    temporary_entries(tiny_preset, file=None, url=tiny_preset.as_uri())
    model = seqapps.load("test-tiny")
    assert isinstance(model, TextClassifier)
    assert len(list((tmp_path / "cache" / "weights").glob("test-tiny-*.keras"))) == 1


def test_url_entries_with_a_wrong_hash_are_refused(
    tiny_preset, temporary_entries, tmp_path, monkeypatch
):
    monkeypatch.setenv("SEQAPPS_CACHE", str(tmp_path / "cache"))
    temporary_entries(tiny_preset, file=None, url=tiny_preset.as_uri(), sha256="0" * 64)
    with pytest.raises(WeightsDownloadError, match="its sha256 is .* nothing was kept"):
        seqapps.load("test-tiny")
    assert not list((tmp_path / "cache" / "weights").iterdir())


def test_a_server_that_never_answers_times_out_with_a_clear_error(
    tiny_preset, temporary_entries, tmp_path, monkeypatch
):
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections (the kernel does) and never answers
    monkeypatch.setenv("SEQAPPS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQAPPS_DOWNLOAD_TIMEOUT", "1")
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/tiny.keras"
    temporary_entries(tiny_preset, file=None, url=url)
    start = time.monotonic()
    with pytest.raises(WeightsDownloadError, match="could not download .*timeout 1 s"):
        seqapps.load("test-tiny")
    assert time.monotonic() - start < 30
    silent.close()
    assert main(["info", "test-tiny"]) == 0  # the card is still there to read


def test_an_unwritable_cache_is_refused_naming_the_variable(
    tiny_preset, temporary_entries, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("SEQAPPS_CACHE", str(blocker))
    temporary_entries(tiny_preset, file=None, url=tiny_preset.as_uri())
    with pytest.raises(WeightsDownloadError, match="point SEQAPPS_CACHE at a writable folder"):
        seqapps.load("test-tiny")


def test_wrong_task_is_refused(tiny_preset, temporary_entries):
    entry = temporary_entries(tiny_preset)
    registry._REGISTRY["test-tiny"] = dataclasses.replace(entry, task="speech-recognition")
    with pytest.raises(ValueError, match="task 'speech-recognition'"):
        seqapps.load("test-tiny")
    registry._REGISTRY["test-tiny"] = dataclasses.replace(entry, task="translation")
    with pytest.raises(ValueError, match="holds a TextClassifier"):
        seqapps.load("test-tiny")


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    bogus = tmp_path / "bogus.keras"
    bogus.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="could not load the model file"):
        seqapps.load(str(bogus))
    with pytest.raises(FileNotFoundError, match="no preset file"):
        seqapps.load(str(tmp_path / "missing.keras"))


def test_cards_need_every_field():
    with pytest.raises(ValueError, match=r"missing fields \['architecture'"):
        ZooEntry.from_card({"name": "x", "task": "t", "description": ""})


def test_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, seqapps; seqapps.list_models(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'pandas', 'tensorflow_datasets', 'matplotlib') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    # Submodules load on first use, without importing them by hand.
    code = (
        "import seqapps; print(seqapps.plots.attention_heatmap.__name__, seqapps.inspect.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["attention_heatmap", "seqapps.inspect"]


CARDS_ON_FIRST_USE = """
import pathlib, sys
read = []
original = pathlib.Path.read_text
pathlib.Path.read_text = lambda self, *a, **k: read.append(self.name) or original(self, *a, **k)
import seqapps
from seqapps.zoo import ZooEntry, register
print(len(read))
card = seqapps.describe("sentiment-lstm")  # the first use reads every card, once
print(len(read), len(seqapps.list_models()), len(read))
try:
    register(ZooEntry.from_card(dict(card)))
except ValueError as error:
    print(error)
"""


def test_the_cards_are_read_on_first_use_not_at_import():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CARDS_ON_FIRST_USE], capture_output=True, text=True, check=True
    )
    before, after, *_ = done.stdout.splitlines()
    cards = len(list(registry.CARDS_DIR.glob("*.json")))
    assert before == "0" and after == f"{cards} {cards} {cards}"
    assert "a zoo entry named 'sentiment-lstm' is already registered" in done.stdout


@pytest.mark.parametrize("bad", [None, 3, ["sentiment-lstm"]])
def test_load_names_a_bad_argument(bad):
    with pytest.raises(TypeError, match="load takes an entry name"):
        seqapps.load(bad)
