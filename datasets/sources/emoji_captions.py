"""Rebuild the bundled ``emoji_captions`` dataset from the npm package ``emoji-datasource-twitter``.

Usage::

    python datasets/sources/emoji_captions.py [--out datasets/emoji_captions] [--tarball PATH]

Without ``--tarball`` the script runs ``npm pack emoji-datasource-twitter@16.0.0`` in a temporary
directory. Either way the tarball's sha256 is checked against the one pinned below, so a rebuilt
``data.jsonl.gz``, ``images.uint8.gz`` and ``info.json`` are byte-for-byte identical to the
committed ones. Needs Python 3.10+, numpy and Pillow.

One record per base emoji (skin-tone variants are left out), in ``emoji.json`` order. The image is
the 64x64 Twemoji PNG composited onto white and stored as RGB row ``image`` of ``images.uint8.gz``.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

try:  # imported as seqapps.datasets.sources.emoji_captions
    from ._common import SPLITS, NpmTarball, dataset_parser, md5_split, write_dataset, write_gzip
except ImportError:  # run as a script: python datasets/sources/emoji_captions.py
    from _common import SPLITS, NpmTarball, dataset_parser, md5_split, write_dataset, write_gzip

NAME = "emoji_captions"
PACKAGE = "emoji-datasource-twitter"
VERSION = "16.0.0"
TARBALL = NpmTarball(
    PACKAGE, VERSION, "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877"
)
EMOJI_JSON = "package/emoji.json"
IMAGE_DIR = "package/img/twitter/64/"
IMAGE_SIZE = 64
IMAGES_FILE = "images.uint8.gz"
SPLIT_RULE = (
    'h = int(hashlib.md5(unified.encode("utf-8")).hexdigest(), 16) % 10; '
    "h == 0 -> test, h == 1 -> validation, otherwise train"
)
ATTRIBUTION = (
    "Emoji images: Twemoji (https://github.com/jdecked/twemoji, v16.0.1 as packaged), "
    "\u00a9 Twitter, Inc and other contributors, licensed under CC-BY 4.0 "
    '(https://creativecommons.org/licenses/by/4.0/); the package states: "Twitter images are '
    'available under the Creative Commons Attribution 4.0 license". Changes made here: '
    "composited onto white and converted to RGB. Emoji data (names, short names, categories): "
    "emoji-data by Cal Henderson (https://github.com/iamcal/emoji-data), "
    "Copyright (c) 2013 Cal Henderson, MIT License."
)


def read_member(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise ValueError(f"{name} is not a regular file in {archive.name}")
    return member.read()


def caption_of(entry: dict) -> tuple[str, bool]:
    """Returns the caption and whether the fallback rule was needed.

    The caption is the lower-cased Unicode ``name``; where it is missing or empty, the first short
    name with ``_`` read as a space stands in.
    """
    name = (entry.get("name") or "").strip()
    if name:
        return name.lower(), False
    return entry["short_names"][0].replace("_", " "), True


def references_of(caption: str, short_names: list[str]) -> list[str]:
    """Returns the caption followed by the short names (``_`` -> space), deduplicated in order."""
    candidates = [caption] + [short.replace("_", " ") for short in short_names]
    return list(dict.fromkeys(candidates))


def white_rgb(png: bytes, source: str) -> np.ndarray:
    """Composites a PNG onto white and returns it as a uint8 [64, 64, 3] array."""
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{source} is {image.size}, expected {IMAGE_SIZE}x{IMAGE_SIZE}")
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(background, image).convert("RGB"), dtype=np.uint8)


def build(tarball: Path) -> tuple[list[dict], np.ndarray, dict]:
    """Parses the package into records, the image array and a summary of what was skipped."""
    with tarfile.open(tarball, "r:gz") as archive:
        pngs = {
            member.name[len(IMAGE_DIR) :]: member.name
            for member in archive.getmembers()
            if member.isfile() and member.name.startswith(IMAGE_DIR)
        }
        entries = json.loads(read_member(archive, EMOJI_JSON))
        records: list[dict] = []
        images: list[np.ndarray] = []
        missing_image: list[str] = []
        fallback_captions: list[str] = []
        skin_variants = 0
        for entry in entries:
            # Skin-tone variants live inside their base entry; only the base emoji is kept.
            skin_variants += len(entry.get("skin_variations") or {})
            unified = entry["unified"]
            if not entry.get("has_img_twitter") or entry["image"] not in pngs:
                missing_image.append(unified)
                continue
            caption, used_fallback = caption_of(entry)
            if used_fallback:
                fallback_captions.append(unified)
            png_path = pngs[entry["image"]]
            images.append(white_rgb(read_member(archive, png_path), png_path))
            records.append(
                {
                    "unified": unified,
                    "caption": caption,
                    "references": references_of(caption, entry["short_names"]),
                    "category": entry["category"],
                    "subcategory": entry["subcategory"],
                    "image": len(records),
                    "split": md5_split(unified),
                }
            )
    summary = {
        "entries": len(entries),
        "missing_image": missing_image,
        "fallback_captions": fallback_captions,
        "skin_variants": skin_variants,
    }
    return records, np.stack(images), summary


def info_of(records: list[dict], images: np.ndarray, summary: dict) -> dict:
    splits = {name: sum(r["split"] == name for r in records) for name in SPLITS}
    return {
        "name": NAME,
        "task": "image-captioning",
        "description": (
            "Twemoji 64x64 emoji images (composited onto white, RGB) paired with their lower-cased "
            "Unicode names as captions and their Slack/GitHub-style short names as extra "
            "references; one example per base emoji (no skin-tone variants)."
        ),
        "version": "1.0.0",
        "source": TARBALL.source_info(
            [EMOJI_JSON, IMAGE_DIR + "*.png"], f"datasets/sources/{NAME}.py"
        ),
        "license": "Images CC-BY-4.0 (Twemoji), names and categories MIT.",
        "attribution": ATTRIBUTION,
        "citation": "",
        "homepage": "https://github.com/iamcal/emoji-data",
        "split_rule": SPLIT_RULE,
        "splits": splits,
        "features": {
            "unified": {"dtype": "string"},
            "caption": {"dtype": "string"},
            "references": {"dtype": "string", "sequence": True},
            "category": {"dtype": "string"},
            "subcategory": {"dtype": "string"},
            "image": {
                "dtype": "image",
                "shape": [IMAGE_SIZE, IMAGE_SIZE, 3],
                "file": IMAGES_FILE,
            },
        },
        "supervised_keys": ["image", "caption"],
        "notes": {
            "order": (
                "emoji.json order as published (roughly by code point); image row i is record i"
            ),
            "base_emoji_in_emoji_json": summary["entries"],
            "skin_tone_variants_skipped": summary["skin_variants"],
            "dropped_without_twitter_image": len(summary["missing_image"]),
            "captions_from_fallback_rule": len(summary["fallback_captions"]),
            "caption_rule": (
                "lower-cased `name`; if missing or empty, the first short name with '_' -> ' ' "
                "(counted above)"
            ),
            "references_rule": (
                "[caption] + short_names with '_' -> ' ', duplicates removed, first occurrence kept"
            ),
            "image_rule": (
                "img/twitter/64/<image>.png converted to RGBA, alpha-composited onto opaque white "
                "with Pillow, converted to RGB uint8"
            ),
            "images_file": (
                f"{IMAGES_FILE}: gzip of a C-order uint8 array of shape {list(images.shape)}"
            ),
        },
    }


def main(argv: list[str] | None = None) -> None:
    args = dataset_parser(__doc__, NAME, TARBALL).parse_args(argv)
    with TARBALL.obtained(args.tarball) as tarball:
        records, images, summary = build(tarball)

    info = info_of(records, images, summary)
    write_dataset(args.out, records, info)
    write_gzip(args.out / IMAGES_FILE, np.ascontiguousarray(images).tobytes())
    print(f"wrote {len(records)} records to {args.out}: {info['splits']}")


if __name__ == "__main__":
    main()
