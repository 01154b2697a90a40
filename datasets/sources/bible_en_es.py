"""Build the bundled ``bible_en_es`` dataset (English → Spanish verse pairs).

Usage::

    python datasets/sources/bible_en_es.py [--out datasets/bible_en_es] [--unpacked DIR]

(``--unpacked`` reuses a folder where both .deb files were already unpacked with ``dpkg-deb -x``.)

Fetches the Debian packages ``sword-text-web`` (World English Bible, SWORD module
``engWEB2015eb``) and ``sword-text-sparv`` (Reina-Valera 1909, module ``spaRV1909eb``) with
``apt-get download`` into a temporary directory, unpacks them with ``dpkg-deb -x``, reads the
SWORD zText files directly (stdlib ``struct`` + ``zlib``), strips the OSIS markup and aligns the
two texts verse by verse. Writes ``data.jsonl.gz`` and ``info.json``; running it twice gives
byte-identical files.

Alignment, in short (details in the dataset card):

* Both modules index every verse slot of their versification (WEB: NRSVA, RV1909: KJV). The two
  schemes agree on all 66 protocanonical books except 3 John 1 (NRSVA 15 verses, KJV 14) and
  Revelation 12 (18 vs 17); both modules leave the extra slots empty, so slot (book, chapter,
  verse) names the same verse number on both sides.
* The texts themselves do not always put a verse in the slot of that number: RV1909 numbers some
  chapters the Hebrew way (e.g. Num 13, 1 Sam 24, Jonah 2) and merges a few verse pairs, and the
  WEB moves Romans 16:25-27 to the end of Romans 14. Each book is therefore aligned with a
  length-based dynamic programme (Gale & Church 1993) over the non-empty verses, with a small
  penalty for pairing slots of different numbers. Only one-to-one links are kept; the record is
  named after the English verse. Links that pair different slot numbers are "realigned" and
  listed per chapter in ``info.json`` notes; merged verses (2-1 / 1-2 links) and verses present
  on one side only are dropped and counted, and so are one-to-one links far off the length model
  (MAX_LINK_DEVIATION). Job 39-40, where the RV1909 packs five verses into one slot, are left out.
* Psalm superscriptions: the WEB marks them as ``<title>`` (removed with the markup); the RV1909
  has them as plain text at the start of verse 1 (and the Hebrew letter headings of Psalm 119 at
  the start of each stanza), so that prefix is cut off the Spanish side where the English verse
  carried a title. Where it cannot be found, the pair is dropped.
"""

from __future__ import annotations

import html
import math
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

try:  # imported as seqapps.datasets.sources.bible_en_es
    from ._common import SPLITS, check_sha256, dataset_parser, listed_split, write_dataset
except ImportError:  # run as a script: python datasets/sources/bible_en_es.py
    from _common import SPLITS, check_sha256, dataset_parser, listed_split, write_dataset

NAME = "bible_en_es"
DEBIAN_RELEASE = "bookworm"
PACKAGES = {
    "en": {"package": "sword-text-web", "version": "426.0-1", "module": "engWEB2015eb"},
    "es": {"package": "sword-text-sparv", "version": "2.60-1", "module": "spaRV1909eb"},
}
MODULE_DIR = "usr/share/sword/modules/texts/ztext"
CONF_DIR = "usr/share/sword/mods.d"

VALIDATION_BOOKS = ("Joel", "Titus", "Jude")
# The RV1909 follows the Hebrew division of Job 39-41: KJV 40:1-5 are Hebrew 39:31-35, which
# the module packs into the single slot 39:30, and chapter 40 runs five verses behind. A
# five-to-one merge is beyond the aligner's two-to-one links, so both chapters are left out.
EXCLUDED_CHAPTERS = {("Job", 39), ("Job", 40)}
TEST_BOOKS = ("Ruth", "Jonah", "Mark", "Jas")

# Verses per chapter, KJV versification (libsword 1.9 canon.h): "Book n1 n2 ...", OT then NT.
KJV_TABLE = """\
Gen 31 25 24 26 32 22 24 22 29 32 32 20 18 24 21 16 27 33 38 18 34 24 20 67 34 35 46 22 35 43 55 32 20 31 29 43 36 30 23 23 57 38 34 34 28 34 31 22 33 26
Exod 22 25 22 31 23 30 25 32 35 29 10 51 22 31 27 36 16 27 25 26 36 31 33 18 40 37 21 43 46 38 18 35 23 35 35 38 29 31 43 38
Lev 17 16 17 35 19 30 38 36 24 20 47 8 59 57 33 34 16 30 37 27 24 33 44 23 55 46 34
Num 54 34 51 49 31 27 89 26 23 36 35 16 33 45 41 50 13 32 22 29 35 41 30 25 18 65 23 31 40 16 54 42 56 29 34 13
Deut 46 37 29 49 33 25 26 20 29 22 32 32 18 29 23 22 20 22 21 20 23 30 25 22 19 19 26 68 29 20 30 52 29 12
Josh 18 24 17 24 15 27 26 35 27 43 23 24 33 15 63 10 18 28 51 9 45 34 16 33
Judg 36 23 31 24 31 40 25 35 57 18 40 15 25 20 20 31 13 31 30 48 25
Ruth 22 23 18 22
1Sam 28 36 21 22 12 21 17 22 27 27 15 25 23 52 35 23 58 30 24 42 15 23 29 22 44 25 12 25 11 31 13
2Sam 27 32 39 12 25 23 29 18 13 19 27 31 39 33 37 23 29 33 43 26 22 51 39 25
1Kgs 53 46 28 34 18 38 51 66 28 29 43 33 34 31 34 34 24 46 21 43 29 53
2Kgs 18 25 27 44 27 33 20 29 37 36 21 21 25 29 38 20 41 37 37 21 26 20 37 20 30
1Chr 54 55 24 43 26 81 40 40 44 14 47 40 14 17 29 43 27 17 19 8 30 19 32 31 31 32 34 21 30
2Chr 17 18 17 22 14 42 22 18 31 19 23 16 22 15 19 14 19 34 11 37 20 12 21 27 28 23 9 27 36 27 21 33 25 33 27 23
Ezra 11 70 13 24 17 22 28 36 15 44
Neh 11 20 32 23 19 19 73 18 38 39 36 47 31
Esth 22 23 15 17 14 14 10 17 32 3
Job 22 13 26 21 27 30 21 22 35 22 20 25 28 22 35 22 16 21 29 29 34 30 17 25 6 14 23 28 25 31 40 22 33 37 16 33 24 41 30 24 34 17
Ps 6 12 8 8 12 10 17 9 20 18 7 8 6 7 5 11 15 50 14 9 13 31 6 10 22 12 14 9 11 12 24 11 22 22 28 12 40 22 13 17 13 11 5 26 17 11 9 14 20 23 19 9 6 7 23 13 11 11 17 12 8 12 11 10 13 20 7 35 36 5 24 20 28 23 10 12 20 72 13 19 16 8 18 12 13 17 7 18 52 17 16 15 5 23 11 13 12 9 9 5 8 28 22 35 45 48 43 13 31 7 10 10 9 8 18 19 2 29 176 7 8 9 4 8 5 6 5 6 8 8 3 18 3 3 21 26 9 8 24 13 10 7 12 15 21 10 20 14 9 6
Prov 33 22 35 27 23 35 27 36 18 32 31 28 25 35 33 33 28 24 29 30 31 29 35 34 28 28 27 28 27 33 31
Eccl 18 26 22 16 20 12 29 17 18 20 10 14
Song 17 17 11 16 16 13 13 14
Isa 31 22 26 6 30 13 25 22 21 34 16 6 22 32 9 14 14 7 25 6 17 25 18 23 12 21 13 29 24 33 9 20 24 17 10 22 38 22 8 31 29 25 28 28 25 13 15 22 26 11 23 15 12 17 13 12 21 14 21 22 11 12 19 12 25 24
Jer 19 37 25 31 31 30 34 22 26 25 23 17 27 22 21 21 27 23 15 18 14 30 40 10 38 24 22 17 32 24 40 44 26 22 19 32 21 28 18 16 18 22 13 30 5 28 7 47 39 46 64 34
Lam 22 22 66 22 22
Ezek 28 10 27 17 17 14 27 18 11 22 25 28 23 23 8 63 24 32 14 49 32 31 49 27 17 21 36 26 21 26 18 32 33 31 15 38 28 23 29 49 26 20 27 31 25 24 23 35
Dan 21 49 30 37 31 28 28 27 27 21 45 13
Hos 11 23 5 19 15 11 16 14 17 15 12 14 16 9
Joel 20 32 21
Amos 15 16 15 13 27 14 17 14 15
Obad 21
Jonah 17 10 10 11
Mic 16 13 12 13 15 16 20
Nah 15 13 19
Hab 17 20 19
Zeph 18 15 20
Hag 15 23
Zech 21 13 10 14 11 15 14 23 17 12 17 14 9 21
Mal 14 17 18 6
Matt 25 23 17 25 48 34 29 34 38 42 30 50 58 36 39 28 27 35 30 34 46 46 39 51 46 75 66 20
Mark 45 28 35 41 43 56 37 38 50 52 33 44 37 72 47 20
Luke 80 52 38 44 39 49 50 56 62 42 54 59 35 35 32 31 37 43 48 47 38 71 56 53
John 51 25 36 54 47 71 53 59 41 42 57 50 38 31 27 33 26 40 42 31 25
Acts 26 47 26 37 42 15 60 40 43 48 30 25 52 28 41 40 34 28 41 38 40 30 35 27 27 32 44 31
Rom 32 29 31 25 21 23 25 39 33 21 36 21 14 23 33 27
1Cor 31 16 23 21 13 20 40 13 27 33 34 31 13 40 58 24
2Cor 24 17 18 18 21 18 16 24 15 18 33 21 14
Gal 24 21 29 31 26 18
Eph 23 22 21 32 33 24
Phil 30 30 21 23
Col 29 23 25 18
1Thess 10 20 13 18 28
2Thess 12 17 18
1Tim 20 15 16 16 25 21
2Tim 18 26 17 22
Titus 16 15 15
Phlm 25
Heb 14 18 19 16 14 20 28 13 28 39 40 29 25
Jas 27 26 18 17 20
1Pet 25 25 22 19 14
2Pet 21 22 18
1John 10 29 24 21 21
2John 13
3John 14
Jude 25
Rev 20 29 22 11 14 17 17 13 21 11 19 17 18 20 8 21 18 24 21 15 27 21
"""
# NRSVA (libsword 1.9 canon_nrsva.h) = the 39 KJV Old Testament books, then these deuterocanonical
# books (still part of the Old Testament index), then the KJV New Testament with two chapters
# one verse longer.
NRSVA_DEUTEROCANON_TABLE = """\
Tob 22 14 17 21 22 18 16 21 6 13 18 22 17 15
Jdt 16 28 10 15 24 21 32 36 14 23 23 20 20 19 14 25
EsthGr 22 23 15 17 14 14 10 17 32 13 12 6 18 19 16 24
Wis 16 24 19 20 23 25 30 21 18 21 26 27 19 31 19 29 21 25 22
Sir 30 18 31 31 15 37 36 19 18 31 34 18 26 27 20 30 32 33 30 31 28 27 27 34 26 29 30 26 28 25 31 24 33 31 26 31 31 34 35 30 22 25 33 23 26 20 25 25 16 29 30
Bar 22 35 37 37 9 73
PrAzar 68
Sus 64
Bel 42
1Macc 64 70 60 61 68 63 50 32 73 89 74 53 53 49 41 24
2Macc 36 32 40 50 27 31 42 36 29 38 38 45 26 46 39
1Esd 58 30 24 63 73 34 15 96 55
PrMan 15
AddPs 7
3Macc 29 33 30 21 51 41 23
2Esd 40 48 36 52 56 59 140 63 47 59 46 51 58 48 63 78
4Macc 35 24 21 26 38 35 23 29 32 21 27 19 27 20 32 25 24 24
"""
NRSVA_LONGER_CHAPTERS = {("3John", 1): 15, ("Rev", 12): 18}
FIRST_NT_BOOK = "Matt"


def parse_table(table: str) -> dict[str, list[int]]:
    """Turn "Book n1 n2 ..." lines into {book: [verses in chapter 1, ...]}, keeping order."""
    books: dict[str, list[int]] = {}
    for line in table.splitlines():
        book, *counts = line.split()
        books[book] = [int(n) for n in counts]
    return books


def versifications() -> dict[str, dict[str, list[int]]]:
    """Return {"KJV": ..., "NRSVA": ...}, each {book: verses per chapter} in index order."""
    kjv = parse_table(KJV_TABLE)
    books = list(kjv)
    first_nt = books.index(FIRST_NT_BOOK)
    nrsva = {b: kjv[b] for b in books[:first_nt]}
    nrsva.update(parse_table(NRSVA_DEUTEROCANON_TABLE))
    nrsva.update({b: list(kjv[b]) for b in books[first_nt:]})
    for (book, chapter), verses in NRSVA_LONGER_CHAPTERS.items():
        nrsva[book][chapter - 1] = verses
    return {"KJV": kjv, "NRSVA": nrsva}


def fetch_packages(workdir: Path) -> Path:
    """Download both .deb files with apt-get and unpack them into ``workdir/root``."""
    names = [p["package"] for p in PACKAGES.values()]
    subprocess.run(["apt-get", "download", *names], cwd=workdir, check=True)
    root = workdir / "root"
    for spec in PACKAGES.values():
        debs = sorted(workdir.glob(f"{spec['package']}_*.deb"))
        if len(debs) != 1:
            sys.exit(f"expected one {spec['package']} .deb in {workdir}, found {debs}")
        version = debs[0].name.split("_")[1]
        if version != spec["version"]:
            # A newer package may renumber or retranslate verses; the card and tests pin this one.
            sys.exit(
                f"apt-get gave {spec['package']} {version}, but this script was written for "
                f"{spec['version']}; check the output by hand and update PACKAGES"
            )
        check_sha256(
            debs[0], DEB_SHA256[spec["package"]], f"fetch it again with `{DOWNLOAD_COMMAND}`"
        )
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    return root


def module_versification(root: Path, module: str) -> str:
    conf = (root / CONF_DIR / f"{module}.conf").read_text(encoding="utf-8")
    match = re.search(r"^Versification=(\S+)", conf, re.M)
    if not match:
        # SWORD itself would fall back to KJV; this script only knows the two schemes it checks.
        sys.exit(f"{module}.conf names no Versification=; expected NRSVA (WEB) or KJV (RV1909)")
    return match.group(1)


def read_ztext(module_dir: Path, testament: str) -> list[bytes]:
    """Return every index entry of one testament of a SWORD zText module, in index order.

    ``.bzs`` holds (offset, size, uncompressed size) of each zlib block in ``.bzz``; ``.bzv``
    holds (block, offset, size) of each entry inside its uncompressed block.
    """
    bzs = (module_dir / f"{testament}.bzs").read_bytes()
    bzv = (module_dir / f"{testament}.bzv").read_bytes()
    bzz = (module_dir / f"{testament}.bzz").read_bytes()
    blocks = []
    for offset, size, unpacked_size in struct.iter_unpack("<III", bzs):
        block = zlib.decompress(bzz[offset : offset + size])
        if len(block) != unpacked_size:
            sys.exit(
                f"{module_dir}/{testament}.bzz: block at {offset} unpacks to {len(block)} bytes, index says {unpacked_size}"
            )
        blocks.append(block)
    return [
        blocks[b][start : start + size] if size else b""
        for b, start, size in struct.iter_unpack("<IIH", bzv)
    ]


def read_module(module_dir: Path, scheme: dict[str, list[int]]) -> dict[tuple[str, int, int], str]:
    """Map (book, chapter, verse) → raw OSIS text for every verse slot of the module.

    Each testament's index starts with a module heading and a testament heading slot; each book
    has a book heading slot, and each chapter a chapter heading slot (verse 0) before its verses.
    """
    books = list(scheme)
    first_nt = books.index(FIRST_NT_BOOK)
    verses: dict[tuple[str, int, int], str] = {}
    for testament, testament_books in (("ot", books[:first_nt]), ("nt", books[first_nt:])):
        entries = read_ztext(module_dir, testament)
        expected = 2 + sum(1 + len(scheme[b]) + sum(scheme[b]) for b in testament_books)
        if len(entries) != expected:
            sys.exit(
                f"{module_dir}/{testament}.bzv has {len(entries)} entries; the versification needs {expected}"
            )
        index = 2
        for book in testament_books:
            index += 1
            for chapter, count in enumerate(scheme[book], start=1):
                index += 1
                for verse in range(1, count + 1):
                    verses[(book, chapter, verse)] = entries[index].decode("utf-8")
                    index += 1
    return verses


# Markup removal. Whole elements whose content is not verse text: footnotes, cross-references,
# psalm superscriptions (the RV1909 keeps them as plain text, handled separately) and the WEB's
# speaker labels in the Song of Songs.
DROPPED_ELEMENTS = re.compile(r"<(note|title|speaker)\b[^>]*>.*?</\1>|<note\b[^>]*/>", re.S)
TAG = re.compile(r"<(/?)([A-Za-z]+)\b[^>]*>")
# Tags that sit inside running text; removing them must not add a space ("<w>cielos</w>,").
INLINE_TAGS = {"w", "name", "seg", "hi", "foreign", "rdg", "catchWord", "reference", "divineName"}
# Tags that may stand between two words with no space in the source (the RV1909 marks added
# words with <transChange> glued to the word before: "allí</w><transChange>también").
SOFT_TAGS = {"transChange", "q"}
SOFT = "\x00"
SOFT_TO_SPACE = re.compile(r"(?<=[^\s(\[“‘¡¿\x00])\x00+(?=[^\s,.;:!?)\]’”\x00])")
# ...except an added enclitic pronoun, which belongs to the verb before it ("oyéndo"+"lo").
ENCLITIC = re.compile(r"(?:me|te|se|nos|os|lo|la|los|las|le|les)(?=\s|<|$)")
NOT_VERBS = {"como", "cuánto", "dios", "ellos", "gentes", "jehová", "josué", "no", "os", "que", "y"}


# The last verse of a book also holds whatever follows the book's end marker (the WEB's
# glossary after Revelation 22:21); that is back matter, not verse text.
BOOK_END = re.compile(r"<div\b[^>]*\beID=\"[^\"]*\"[^>]*\btype=\"book\"[^>]*/>")


def plain_text(osis: str) -> str:
    """Strip OSIS markup from one verse and normalise whitespace."""
    book_end = BOOK_END.search(osis)
    if book_end:
        osis = osis[: book_end.start()]
    osis = DROPPED_ELEMENTS.sub(SOFT, osis)
    pieces: list[str] = []
    position = 0
    for tag in TAG.finditer(osis):
        pieces.append(osis[position : tag.start()])
        position = tag.end()
        closing, name = tag.group(1), tag.group(2)
        if name == "transChange" and not closing:
            previous_word = re.search(r"(\w+)\x00*$", "".join(pieces[-3:]))
            if (
                previous_word
                and previous_word.group(1).lower() not in NOT_VERBS
                and ENCLITIC.match(osis, position)
            ):
                continue
        if name in SOFT_TAGS:
            pieces.append(SOFT)
        elif name not in INLINE_TAGS:
            pieces.append(" ")
    pieces.append(osis[position:])
    text = SOFT_TO_SPACE.sub(" ", "".join(pieces)).replace(SOFT, "")
    return " ".join(html.unescape(text).split())


CAPS_WORD = r"(?:[A-ZÁÉÍÓÚÑ] )?[¡¿“]?[A-ZÁÉÍÓÚÑÜ]{2,}\b"
# The RV1909 capitalises the first word of each psalm's text, so a superscription is the
# shortest prefix ending in punctuation and followed by an all-capitals word.
SPANISH_SUPERSCRIPTION = re.compile(r"^(?!" + CAPS_WORD + r")(.+?[.:?!])\s+(?=" + CAPS_WORD + ")")
# Psalm 119 stanza headings: "ALEPH. BIENAVENTURADOS ...", "BETH ¿Con qué ...".
SPANISH_LETTER_HEADING = re.compile(r"^[A-ZÁÉÍÓÚÑ]{2,}\.?\s+(?=[¡¿]?[A-ZÁÉÍÓÚÑ])")


# The RV1909 ends Romans to Hebrews with the Textus Receptus postscripts ("Fué escrita de
# Corinto á los Romanos, ..."), which the WEB does not have.
POSTSCRIPT_BOOKS = (
    "Rom",
    "1Cor",
    "2Cor",
    "Gal",
    "Eph",
    "Phil",
    "Col",
    "1Thess",
    "2Thess",
    "1Tim",
    "2Tim",
    "Titus",
    "Phlm",
    "Heb",
)
SPANISH_POSTSCRIPT = re.compile(r"(?<=Amén\.)\s+[^.]*\b(?:escrita|enviada)\b[^.]*\.$", re.I)


def strip_spanish_title(chapter: int, text: str) -> str | None:
    """Remove a psalm superscription from the Spanish verse; None when none is found."""
    pattern = SPANISH_LETTER_HEADING if chapter == 119 else SPANISH_SUPERSCRIPTION
    match = pattern.match(text)
    return text[match.end() :] if match else None


Slot = tuple[int, int]  # (chapter, verse)

# Gale & Church (1993) bead priors, with one-to-one made more likely than in their prose
# corpus because verse numbers already agree almost everywhere.
BEAD_PRIORS = {(1, 1): 0.97, (1, 0): 0.005, (0, 1): 0.005, (2, 1): 0.01, (1, 2): 0.01}
RENUMBERING_PENALTY = 1.0  # extra cost of linking verses with different (chapter, verse) slots
# Extra cost of beads that change the verse count, so that a textual difference inside one verse
# (a Textus Receptus addition in the RV1909, say) stays a one-to-one link.
SKIP_PENALTY = 6.0
MERGE_PENALTY = 4.0
MAX_LENGTH_COST = 10.0  # beyond this a length mismatch says "different wording", not "misaligned"
# One-to-one links still this far from the length model are dropped: a look at them shows
# different verse boundaries or Textus Receptus additions (1 John 5:7), not translations.
MAX_LINK_DEVIATION = 4.0
BAND = 8  # how far (in verses) the alignment may stray from the book's diagonal


def align_book(
    english: list[tuple[Slot, str]], spanish: list[tuple[Slot, str]], ratio: float, variance: float
) -> list[tuple[list[int], list[int]]]:
    """Length-based monotone alignment of one book's verses; returns beads of item indices."""
    n, m = len(english), len(spanish)
    en_len = [len(text) for _, text in english]
    es_len = [len(text) for _, text in spanish]
    en_slots = {slot for slot, _ in english}
    es_slots = {slot for slot, _ in spanish}

    def bead_cost(i: int, j: int, di: int, dj: int) -> float:
        l1 = sum(en_len[i - di : i])
        l2 = sum(es_len[j - dj : j])
        cost = -math.log(BEAD_PRIORS[(di, dj)])
        if di and dj:
            mean = (l1 + l2 / ratio) / 2
            delta = (l2 - l1 * ratio) / math.sqrt(mean * variance)
            cost += min(
                -math.log(max(math.erfc(abs(delta) / math.sqrt(2)), 1e-300)), MAX_LENGTH_COST
            )
            if di == dj == 1:
                cost += RENUMBERING_PENALTY if english[i - 1][0] != spanish[j - 1][0] else 0.0
            else:
                cost += MERGE_PENALTY
        elif (di and english[i - 1][0] in es_slots) or (dj and spanish[j - 1][0] in en_slots):
            # Skipping a verse whose slot is empty on the other side needs no extra evidence:
            # that is where a verse one translation omits (Acts 8:37 in the WEB) sits.
            cost += SKIP_PENALTY
        return cost

    best: dict[tuple[int, int], tuple[float, tuple[int, int]]] = {(0, 0): (0.0, (0, 0))}
    for i in range(n + 1):
        centre = round(i * m / n) if n else 0
        for j in range(max(0, centre - BAND), min(m, centre + BAND) + 1):
            if (i, j) == (0, 0):
                continue
            options = []
            for di, dj in BEAD_PRIORS:
                previous = best.get((i - di, j - dj))
                if previous is not None and i >= di and j >= dj:
                    options.append((previous[0] + bead_cost(i, j, di, dj), (di, dj)))
            if options:
                best[(i, j)] = min(options)
    if (n, m) not in best:
        sys.exit(f"alignment left the band of {BAND} verses ({n} English, {m} Spanish); widen BAND")
    beads = []
    i, j = n, m
    while (i, j) != (0, 0):
        di, dj = best[(i, j)][1]
        beads.append((list(range(i - di, i)), list(range(j - dj, j))))
        i, j = i - di, j - dj
    return beads[::-1]


def split_of(book: str) -> str:
    return listed_split(book, VALIDATION_BOOKS, TEST_BOOKS)


def fit_length_model(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """Spanish/English character ratio and Gale-Church variance from same-slot verse pairs."""
    ratio = sum(len(es) for _, es in pairs) / sum(len(en) for en, _ in pairs)
    # Median, not mean: the misnumbered chapters this alignment exists for would inflate a mean.
    squares = sorted((len(es) - ratio * len(en)) ** 2 / len(en) for en, es in pairs)
    variance = squares[len(squares) // 2] / 0.455  # median of chi-square(1) is 0.455
    return ratio, variance


def build(root: Path) -> tuple[list[dict], dict]:
    """Read both modules, clean and align them; return (records in source order, statistics)."""
    schemes = versifications()
    raw = {}
    for lang, spec in PACKAGES.items():
        scheme_name = module_versification(root, spec["module"])
        raw[lang] = read_module(root / MODULE_DIR / spec["module"], schemes[scheme_name])
    books = list(schemes["KJV"])
    stats: Counter = Counter()
    dropped_titles: list[str] = []
    sequences: dict[str, tuple[list[tuple[Slot, str]], list[tuple[Slot, str]]]] = {}
    for book in books:
        english: list[tuple[Slot, str]] = []
        spanish: list[tuple[Slot, str]] = []
        chapters = max(len(schemes["KJV"][book]), len(schemes["NRSVA"][book]))
        for chapter in range(1, chapters + 1):
            if (book, chapter) in EXCLUDED_CHAPTERS:
                stats["excluded_verses_en"] += schemes["NRSVA"][book][chapter - 1]
                continue
            verses = max(schemes["KJV"][book][chapter - 1], schemes["NRSVA"][book][chapter - 1])
            for verse in range(1, verses + 1):
                slot = (book, chapter, verse)
                en_raw = raw["en"].get(slot, "")
                en, es = plain_text(en_raw), plain_text(raw["es"].get(slot, ""))
                if book == "Ps" and "<title" in en_raw and es:
                    stats["psalm_superscriptions"] += 1
                    es = strip_spanish_title(chapter, es)
                    if es is None:
                        dropped_titles.append(f"Ps.{chapter}.{verse}")
                        continue
                if en:
                    english.append(((chapter, verse), en))
                if es:
                    spanish.append(((chapter, verse), es))
                stats["slots_empty_en"] += not en
                stats["slots_empty_es"] += not es
        if book in POSTSCRIPT_BOOKS:
            slot, text = spanish[-1]
            spanish[-1] = (slot, SPANISH_POSTSCRIPT.sub("", text))
            stats["postscripts"] += spanish[-1][1] != text
        sequences[book] = (english, spanish)

    same_slot = []
    for english, spanish in sequences.values():
        es_by_slot = dict(spanish)
        same_slot += [(en, es_by_slot[slot]) for slot, en in english if slot in es_by_slot]
    ratio, variance = fit_length_model(same_slot)

    records = []
    realigned: dict[str, int] = {}
    dropped: dict[str, list[str]] = {
        "merged": [],
        "english_only": [],
        "spanish_only": [],
        "length_outlier": [],
    }
    for book in books:
        english, spanish = sequences[book]
        for en_items, es_items in align_book(english, spanish, ratio, variance):
            en_refs = [f"{book}.{c}.{v}" for (c, v), _ in (english[i] for i in en_items)]
            es_refs = [f"{book}.{c}.{v}" for (c, v), _ in (spanish[j] for j in es_items)]
            if len(en_items) == 1 and len(es_items) == 1:
                (en_slot, en), (es_slot, es) = english[en_items[0]], spanish[es_items[0]]
                deviation = (len(es) - ratio * len(en)) / math.sqrt(
                    (len(en) + len(es) / ratio) / 2 * variance
                )
                if abs(deviation) > MAX_LINK_DEVIATION:
                    dropped["length_outlier"].append(f"{en_refs[0]} ~ {es_refs[0]}")
                    continue
                if en_slot != es_slot:
                    key = f"{book}.{en_slot[0]}"
                    realigned[key] = realigned.get(key, 0) + 1
                records.append(
                    {"ref": en_refs[0], "book": book, "en": en, "es": es, "split": split_of(book)}
                )
            elif not es_items:
                dropped["english_only"] += en_refs
            elif not en_items:
                dropped["spanish_only"] += es_refs
            else:
                dropped["merged"].append("+".join(en_refs) + " ~ " + "+".join(es_refs))
    stats.update(
        ratio=round(ratio, 4),
        variance=round(variance, 3),
        pairs=len(records),
        titles_not_found=len(dropped_titles),
    )
    return records, {
        "stats": stats,
        "realigned": realigned,
        "dropped": dropped,
        "titles_not_found": dropped_titles,
    }


DEB_SHA256 = {
    "sword-text-web": "930b23670b352f0829a306501de4bebb5e654a2df02cde2cbe86b802177868e1",
    "sword-text-sparv": "5c87f9b2bc97457e8a872f5bae7ea7ce59cb3de1dcee73e4d4740451863694cf",
}
DOWNLOAD_COMMAND = "apt-get update && apt-get download sword-text-web sword-text-sparv"


def make_info(records: list[dict], report: dict) -> dict:
    splits = Counter(record["split"] for record in records)
    stats = report["stats"]
    return {
        "name": NAME,
        "task": "translation",
        "description": (
            "English → Spanish Bible verse pairs: the World English Bible (WEB) aligned with the "
            "Reina-Valera 1909 (RV1909) by book, chapter and verse over the 66 books of the "
            "Protestant canon. One record per verse pair, named by its OSIS reference."
        ),
        "version": "1.0.0",
        "source": {
            "registry": f"Debian ({DEBIAN_RELEASE}, main)",
            "packages": [
                {
                    "package": spec["package"],
                    "version": spec["version"],
                    "sha256": DEB_SHA256[spec["package"]],
                    "module": spec["module"],
                    "path": f"/{MODULE_DIR}/{spec['module']}/{{ot,nt}}.{{bzs,bzv,bzz}}",
                    "conf": f"/{CONF_DIR}/{spec['module']}.conf",
                }
                for spec in PACKAGES.values()
            ],
            "download_command": DOWNLOAD_COMMAND,
        },
        "license": (
            "Public domain, both texts. engWEB2015eb.conf: 'DistributionLicense=Public Domain' "
            "('World English Bible' is a trademark of eBible.org: changed text may not be called "
            "the World English Bible); spaRV1909eb.conf: 'DistributionLicense=Public Domain'."
        ),
        "attribution": (
            "English: World English Bible (2020 stable text), SWORD module engWEB2015eb 426.0, "
            "eBible.org / Michael Paul Johnson, https://ebible.org/web/. Spanish: Santa Biblia "
            "Reina-Valera 1909 (revision by the Sociedades Bíblicas of the translation by "
            "Casiodoro de Reina, 1569, and Cipriano de Valera, 1602), SWORD module spaRV1909eb "
            "2.60 from eBible.org. Debian packages by the CrossWire packaging team."
        ),
        "citation": "",
        "homepage": "https://ebible.org/web/",
        "split_rule": (
            "by book: validation = Joel, Titus, Jude; test = Ruth, Jonah, Mark, James (Jas); "
            "train = the other 59 books"
        ),
        "splits": {name: splits[name] for name in SPLITS},
        "features": {
            "ref": {"dtype": "string"},
            "book": {"dtype": "string"},
            "en": {"dtype": "string"},
            "es": {"dtype": "string"},
        },
        "supervised_keys": ["en", "es"],
        "notes": {
            "order": "canonical (KJV) book order, then chapter, then verse of the English text",
            "ref": "OSIS reference of the English (WEB) verse; book ids as in SWORD (Jas, Phlm, ...)",
            "books": "the 39 + 27 books of the Protestant canon; the WEB deuterocanon is not used",
            "versification": "WEB module: NRSVA; RV1909 module: KJV (from each module's .conf)",
            "markup": (
                "OSIS tags removed; <note> (footnotes, cross-references), <title> (psalm "
                "superscriptions, Psalm 119 letter headings) and <speaker> (Song of Songs labels) "
                "removed with their content; text after a book's end marker (the WEB glossary) "
                "removed; RV1909 <transChange> added words kept, separated by a space except "
                "enclitic pronouns joined to the verb before them; whitespace collapsed"
            ),
            "psalm_superscriptions": (
                f"{stats['psalm_superscriptions']} English verses carried a superscription or "
                "stanza heading; the matching Spanish prefix (the text before the first "
                "all-capitals word, or the Hebrew letter name in Psalm 119) was cut; "
                f"{stats['titles_not_found']} could not be cut and were dropped"
            ),
            "postscripts": (
                f"Textus Receptus postscripts cut from the last Spanish verse of "
                f"{stats['postscripts']} epistles (Romans to Hebrews)"
            ),
            "alignment": (
                "per book, a Gale-Church length-based dynamic programme over the non-empty verses "
                f"(Spanish/English character ratio {stats['ratio']}, variance {stats['variance']}), "
                "preferring same-numbered one-to-one links; only one-to-one links are kept and "
                f"then only if within {MAX_LINK_DEVIATION} standard deviations of the length model"
            ),
            "excluded_chapters": (
                f"{', '.join(f'{b} {c}' for b, c in sorted(EXCLUDED_CHAPTERS))}: the RV1909 "
                "follows the Hebrew division there (KJV 40:1-5 packed into the slot 39:30); "
                f"{stats['excluded_verses_en']} English verses left out"
            ),
            "empty_slots": {"en": stats["slots_empty_en"], "es": stats["slots_empty_es"]},
            "realigned_pairs_per_chapter": report["realigned"],
            "realigned_pairs": sum(report["realigned"].values()),
            "dropped_counts": {key: len(value) for key, value in report["dropped"].items()},
            "dropped": report["dropped"],
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = dataset_parser(__doc__, NAME)
    parser.add_argument(
        "--unpacked",
        type=Path,
        help="use this folder of already unpacked .deb files instead of downloading",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.unpacked:
            root = args.unpacked
        else:
            root = fetch_packages(Path(tmp))
        records, report = build(root)
    info = make_info(records, report)
    write_dataset(args.out, records, info)
    print(f"wrote {len(records)} pairs to {args.out}: {info['splits']}")


if __name__ == "__main__":
    main()
