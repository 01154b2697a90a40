"""Writing model files without ever destroying what is not ours.

Every file or folder seqapps writes (`Task.save_preset`, `Task.export`, the
CLI's `--out`) goes through here, with two rules:

* **Nothing is replaced unless asked.** An existing path is replaced only with
  `overwrite=True` (the Keras convention; `--overwrite` on the command line),
  and then only if it holds what we would write there: a `.keras` archive for
  a preset, a folder carrying `EXPORT_MARKER` for an export. A folder of the
  user's files, the working directory or a preset is never turned into an
  export. An empty folder holds nothing to lose and is written into.
* **Nothing is half-written.** The new file or folder is written beside its
  destination and moved into place; a failed write leaves the previous one
  intact, and no staging or backup copies are left behind.

Two processes writing the same path are serialised by an advisory lock on the
parent folder, so the second sees the first's result and follows the rules
above.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

#: Written at the top of every export; only a folder carrying it may be replaced by another export.
EXPORT_MARKER = "seqapps_export.json"


def check_file_target(path: Path, *, overwrite: bool) -> None:
    """Raises unless a `.keras` preset may be written at `path` (see the module rules)."""
    if path.is_symlink() or path.is_dir():
        raise FileExistsError(
            f"{str(path)!r} is a folder or a link, not a .keras file; refusing to write over "
            f"it. Choose a file name ending in .keras"
        )
    folder = next((p for p in path.parents if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise FileExistsError(
            f"{str(folder)!r} is a file, so {str(path)!r} cannot be written under it; "
            f"choose a file name ending in .keras, or a folder"
        )
    if not path.exists():
        return
    if not _is_keras_archive(path):
        raise FileExistsError(
            f"{str(path)!r} exists and is not a .keras preset; refusing to write over it. "
            f"Choose another path"
        )
    if not overwrite:
        raise FileExistsError(
            f"{str(path)!r} already exists; pass overwrite=True (--overwrite on the command "
            f"line) to replace it"
        )


def _is_working_directory_or_above(path: Path) -> bool:
    resolved, here = path.resolve(), Path.cwd().resolve()
    return resolved == here or resolved in here.parents


def check_directory_target(path: Path, *, overwrite: bool) -> None:
    """Raises unless an export may be written at the folder `path` (see the module rules)."""
    if _is_working_directory_or_above(path):
        raise FileExistsError(
            f"{str(path) or '.'!r} is the working directory or one of its parents; refusing "
            f"to write an export over it. Name a new folder, e.g. exports/model/1"
        )
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise FileExistsError(
            f"{str(path)!r} exists and is not a folder; refusing to write an export over it. "
            f"Name a new folder"
        )
    if not path.exists() or not any(path.iterdir()):
        return
    if not (path / EXPORT_MARKER).is_file():
        raise FileExistsError(
            f"{str(path)!r} is a folder that holds files and is not a seqapps export; "
            f"refusing to write over it. Name a new or empty folder"
        )
    if not overwrite:
        raise FileExistsError(
            f"{str(path)!r} holds an earlier export; pass overwrite=True (--overwrite on the "
            f"command line) to replace it"
        )
    foreign = _files_the_export_did_not_write(path)
    if foreign:
        raise FileExistsError(
            f"{str(path)!r} holds an earlier export and also {', '.join(foreign[:3])}"
            f"{f' and {len(foreign) - 3} more' if len(foreign) > 3 else ''}, which the export did "
            f"not write; refusing to remove {'them' if len(foreign) > 1 else 'it'} with the "
            f"export. Move {'them' if len(foreign) > 1 else 'it'} out first, or name another folder"
        )


def _files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not p.is_dir() or p.is_symlink()
    )


def _files_the_export_did_not_write(path: Path) -> list[str]:
    """Files in an earlier export that its marker does not list (or, for a marker without a
    list, that are not part of a SavedModel)."""
    try:
        written = json.loads((path / EXPORT_MARKER).read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        written = None
    if written is None:
        layout = ("saved_model.pb", "fingerprint.pb", "keras_metadata.pb", "variables/", "assets/")
        return [f for f in _files(path) if f != EXPORT_MARKER and not f.startswith(layout)]
    return [f for f in _files(path) if f != EXPORT_MARKER and f not in set(written)]


def write_file(path: Path, write: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Calls `write(staging_path)`, then moves the result to `path` under the module's rules."""
    path = Path(path)
    check_file_target(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial{path.suffix}")
    try:
        write(staging)
        with _locked(path.parent):
            check_file_target(path, overwrite=overwrite)
            os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path


def write_directory(
    path: Path, write: Callable[[Path], None], *, overwrite: bool = False, marker: dict
) -> Path:
    """Calls `write(staging_folder)`, adds `EXPORT_MARKER`, then moves it to `path`."""
    path = Path(path).absolute()
    check_directory_target(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging_root = Path(
        tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    )
    try:
        staging = staging_root / "new"
        write(staging)
        marker = {**marker, "files": _files(staging)}  # what a later overwrite may remove
        (staging / EXPORT_MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        with _locked(path.parent):
            check_directory_target(path, overwrite=overwrite)
            if path.exists():
                # Swap: the old export goes into our own staging folder, which is removed below.
                os.replace(path, staging_root / "old")
            os.replace(staging, path)
    finally:
        _remove_tree(staging_root)
    return path


def _is_keras_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _remove_tree(path: Path) -> None:
    """Removes `path` even where the files in it were made read-only."""

    def make_writable_and_retry(function, name, _):
        os.chmod(os.path.dirname(name), stat.S_IRWXU)
        if os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, stat.S_IRWXU)
        function(name)

    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=make_writable_and_retry)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on `folder` (no lock file is created); a no-op where flock is missing."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


#: What `keras.callbacks.BackupAndRestore` writes into its folder.
KERAS_BACKUP_FILES = frozenset(
    {"latest.weights.h5", "training_metadata.json"}
    | {f"{name}.bkp" for name in ("latest.weights.h5", "training_metadata.json")}
)


def backup_and_restore(folder, *, also=(), early_stopping=None, data=None):
    """A training backup (`seqapps.tasks.resume.ExactBackup`) on `folder`: new, empty or a backup.

    Keras removes its backup folder, contents and all, when training ends, so a
    folder holding anything but a training backup (the files Keras writes and
    the names in `also`) is refused before training starts, as are the working
    directory and its parents.
    """
    path = Path(os.fspath(folder))
    if _is_working_directory_or_above(path):
        raise FileExistsError(
            f"backup_dir {str(path) or '.'!r} is the working directory or one of its parents; "
            f"it is removed when training ends. Name a new folder, e.g. backups/run1"
        )
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"backup_dir {str(path)!r} exists and is not a folder")
    if path.is_dir():
        others = sorted(
            p.name
            for p in path.iterdir()
            if p.name not in KERAS_BACKUP_FILES | set(also) | {"training_metadata.json.tmp"}
            and not re.match(r"^(state-\d+|\.staging)$", p.name)
        )
        if others:
            raise FileExistsError(
                f"backup_dir {str(path)!r} holds {', '.join(others[:3])}"
                f"{' and more' if len(others) > 3 else ''}, which is not a training backup; it "
                f"is removed when training ends. Name a new or empty folder"
            )
    from seqapps.tasks.resume import ExactBackup

    return ExactBackup(path, early_stopping=early_stopping, data=data)
