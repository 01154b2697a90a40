"""Exports, presets and the CLI's --out never destroy what is not theirs, and never half-write."""

import json
import os
import stat
import subprocess
import sys

import pytest

from seqapps import safe_write
from seqapps.cli import main
from seqapps.tasks import TextClassifier


def fake_export(content):
    def write(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_text(content)

    return write


def write_export(path, content="v1", overwrite=False):
    return safe_write.write_directory(
        path, fake_export(content), overwrite=overwrite, marker={"exported_by": "seqapps"}
    )


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_folder_of_user_files_is_never_replaced(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="not a seqapps export"):
            write_export(target, overwrite=overwrite)
    assert (target / "thesis.tex").read_text() == "years of work"
    assert listing(tmp_path) == ["mine"]  # no staging leftovers


@pytest.mark.parametrize("name", [".", "", ".."])
def test_the_working_directory_and_its_parents_are_refused(tmp_path, monkeypatch, name):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("keep")
    monkeypatch.chdir(work)
    with pytest.raises(FileExistsError, match="working directory"):
        write_export(name, overwrite=True)
    assert (work / "notes.txt").read_text() == "keep"
    assert listing(tmp_path) == ["work"]


def test_a_file_or_preset_is_never_turned_into_an_export(tmp_path):
    for name in ("notes.txt", "model.keras"):
        target = tmp_path / name
        target.write_text("data")
        with pytest.raises(FileExistsError, match="not a folder"):
            write_export(target, overwrite=True)
        assert target.read_text() == "data"


def test_an_earlier_export_is_replaced_only_when_asked(tmp_path):
    target = write_export(tmp_path / "export", "v1")
    assert json.loads((target / safe_write.EXPORT_MARKER).read_text())["exported_by"] == "seqapps"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_export(target, "v2")
    assert (target / "saved_model.pb").read_text() == "v1"
    write_export(target, "v2", overwrite=True)
    assert (target / "saved_model.pb").read_text() == "v2"
    assert listing(tmp_path) == ["export"]


def test_an_empty_folder_is_written_into(tmp_path):
    (tmp_path / "empty").mkdir()
    write_export(tmp_path / "empty")
    assert (tmp_path / "empty" / "saved_model.pb").exists()


def test_a_read_only_earlier_export_is_replaced_without_leftovers(tmp_path):
    target = write_export(tmp_path / "export", "v1")
    for path in [*target.iterdir(), target]:
        path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    write_export(target, "v2", overwrite=True)
    assert (target / "saved_model.pb").read_text() == "v2"
    assert listing(tmp_path) == ["export"]


def test_a_failed_write_leaves_the_earlier_export(tmp_path):
    target = write_export(tmp_path / "export", "v1")

    def fail(folder):
        folder.mkdir()
        (folder / "half").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        safe_write.write_directory(target, fail, overwrite=True, marker={})
    assert (target / "saved_model.pb").read_text() == "v1"
    assert listing(tmp_path) == ["export"]


CONCURRENT_EXPORT = """
import sys, time
from pathlib import Path
from seqapps import safe_write
def write(folder):
    folder.mkdir()
    time.sleep(0.5)  # both processes are staging at the same time
    (folder / "saved_model.pb").write_text(sys.argv[2])
safe_write.write_directory(Path(sys.argv[1]), write, overwrite=True, marker={})
"""


def test_two_processes_exporting_to_one_path_leave_one_whole_export(tmp_path):
    target = write_export(tmp_path / "export", "v0")
    script = tmp_path.parent / f"{tmp_path.name}_export.py"
    script.write_text(CONCURRENT_EXPORT)
    runs = [
        subprocess.Popen([sys.executable, str(script), str(target), name], stderr=subprocess.PIPE)
        for name in ("a", "b", "c")
    ]
    for run in runs:
        assert run.wait(timeout=60) == 0, run.stderr.read().decode()
    assert (target / "saved_model.pb").read_text() in ("a", "b", "c")
    assert listing(target) == sorted(["saved_model.pb", safe_write.EXPORT_MARKER])
    assert listing(tmp_path) == ["export"]


# -- presets ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return TextClassifier(["good", "bad"], ["negative", "positive"], units=4, embedding_dim=4)


def test_save_preset_replaces_a_preset_only_when_asked(model, tmp_path):
    path = model.save_preset(tmp_path / "p.keras")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save_preset(path)
    assert path.read_bytes() == before
    model.save_preset(path, overwrite=True)
    assert listing(tmp_path) == ["p.keras"]


def test_save_preset_never_writes_over_other_files_or_folders(model, tmp_path):
    other = tmp_path / "data.keras"
    other.write_text("not a model")
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    for target in (other, folder):
        with pytest.raises(FileExistsError, match="refusing"):
            model.save_preset(target, overwrite=True)
    assert other.read_text() == "not a model" and folder.is_dir()
    assert listing(tmp_path) == ["data.keras", "folder.keras"]


def test_model_export_refuses_user_folders_and_replaces_its_own(model, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    with pytest.raises(FileExistsError, match=str(mine)):
        model.export(mine, overwrite=True)
    assert listing(mine) == ["keep.txt"]

    export = model.export(tmp_path / "export")
    assert (export / "saved_model.pb").exists()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.export(export)
    model.export(export, overwrite=True)
    assert listing(tmp_path) == ["export", "mine"]


# -- the command line ------------------------------------------------------------


@pytest.fixture()
def preset(model, tmp_path):
    return model.save_preset(tmp_path / "tiny.keras")


def test_cli_export_refuses_a_user_folder_and_overwrites_only_with_the_flag(
    preset, tmp_path, capsys
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    assert main(["export", str(preset), str(mine), "--overwrite"]) == 2
    assert "not a seqapps export" in capsys.readouterr().err
    assert listing(mine) == ["keep.txt"]

    target = str(tmp_path / "export")
    assert main(["export", str(preset), target]) == 0
    assert main(["export", str(preset), target]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(preset), target, "--overwrite"]) == 0


def test_cli_finetune_refuses_an_existing_out_before_training(preset, tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("text,label\ngood,positive\nbad,negative\n" * 3)
    out = tmp_path / "out.keras"
    out.write_bytes(preset.read_bytes())
    before = out.read_bytes()
    assert main(["finetune", str(preset), "--data", str(data), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before


@pytest.mark.parametrize("flag", ["--epochs", "--batch-size"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_cli_finetune_refuses_non_positive_counts(preset, tmp_path, capsys, flag, value):
    assert main(["finetune", str(preset), "--data", "x.csv", "--out", "o.keras", flag, value]) == 2
    assert "must be a positive integer" in capsys.readouterr().err


def test_the_staging_never_lands_in_the_users_folder(tmp_path):
    # The staging folder is a sibling of the target, hidden, and gone afterwards.
    write_export(tmp_path / "a" / "b" / "export")
    assert listing(tmp_path / "a" / "b") == ["export"]
    assert not [p for p in os.listdir(tmp_path / "a") if p.startswith(".")]


def test_a_backup_folder_holding_user_files_is_refused_before_training(tmp_path, monkeypatch):
    """Keras removes its backup folder when training ends: only a new, empty or backup folder."""
    model = TextClassifier(["good", "bad"], ["negative", "positive"], units=2, embedding_dim=2)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="holds notes.txt, which is not a training backup"):
        model.finetune(["good", "bad"] * 4, [1, 0] * 4, epochs=1, backup_dir=folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    monkeypatch.chdir(folder)
    with pytest.raises(FileExistsError, match="working directory or one of its parents"):
        model.finetune(["good", "bad"] * 4, [1, 0] * 4, epochs=1, backup_dir=".")
    assert (folder / "notes.txt").read_text() == "keep me"
    backup = tmp_path / "backup"  # a new folder is used and removed at the end
    model.finetune(["good", "bad"] * 4, [1, 0] * 4, epochs=1, backup_dir=backup, verbose=0)
    assert not backup.exists()
