"""The bundled emoji_captions dataset, read through the public loader."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from seqapps import datasets

NAME = "emoji_captions"
EXPECTED_COUNTS = {"train": 1519, "validation": 186, "test": 206}
EXPECTED_CATEGORY_COUNTS = {
    "train": {
        "Activities": 69,
        "Animals & Nature": 122,
        "Component": 5,
        "Flags": 215,
        "Food & Drink": 103,
        "Objects": 217,
        "People & Body": 313,
        "Smileys & Emotion": 128,
        "Symbols": 182,
        "Travel & Places": 165,
    },
    "validation": {
        "Activities": 6,
        "Animals & Nature": 22,
        "Flags": 23,
        "Food & Drink": 12,
        "Objects": 20,
        "People & Body": 35,
        "Smileys & Emotion": 22,
        "Symbols": 21,
        "Travel & Places": 25,
    },
    "test": {
        "Activities": 10,
        "Animals & Nature": 15,
        "Flags": 32,
        "Food & Drink": 16,
        "Objects": 27,
        "People & Body": 38,
        "Smileys & Emotion": 19,
        "Symbols": 21,
        "Travel & Places": 28,
    },
}
WHITE = [255, 255, 255]


def _as_python(example: dict) -> dict:
    return {
        "unified": example["unified"].decode("utf-8"),
        "caption": example["caption"].decode("utf-8"),
        "references": [ref.decode("utf-8") for ref in example["references"]],
        "category": example["category"].decode("utf-8"),
        "subcategory": example["subcategory"].decode("utf-8"),
        "image": example["image"],
    }


def _load(split: str) -> list[dict]:
    dataset = datasets.load(NAME, split=split, as_supervised=False)
    return [_as_python(example) for example in dataset.as_numpy_iterator()]


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {split: _load(split) for split in EXPECTED_COUNTS}


def _find(records: list[dict], unified: str) -> dict:
    matches = [r for r in records if r["unified"] == unified]
    assert len(matches) == 1, f"{unified}: {len(matches)} matches"
    return matches[0]


def test_element_spec_matches_schema():
    spec = datasets.load(NAME, split="validation", as_supervised=False).element_spec
    assert set(spec) == {"unified", "caption", "references", "category", "subcategory", "image"}
    for field in ("unified", "caption", "category", "subcategory"):
        assert spec[field].dtype.name == "string"
        assert spec[field].shape.rank == 0
    assert spec["references"].dtype.name == "string"
    assert spec["references"].shape.rank == 1
    assert spec["image"].dtype.name == "uint8"
    assert spec["image"].shape.as_list() == [64, 64, 3]


@pytest.mark.parametrize("split", list(EXPECTED_COUNTS))
def test_split_sizes_overall_and_per_category(splits, split):
    records = splits[split]
    assert len(records) == EXPECTED_COUNTS[split]
    assert Counter(r["category"] for r in records) == EXPECTED_CATEGORY_COUNTS[split]


def test_splits_are_disjoint_by_unified(splits):
    ids = {split: {r["unified"] for r in records} for split, records in splits.items()}
    assert not ids["train"] & ids["validation"]
    assert not ids["train"] & ids["test"]
    assert not ids["validation"] & ids["test"]
    assert len(ids["train"] | ids["validation"] | ids["test"]) == 1911


def test_no_skin_tone_variants(splits):
    # A variant's code sequence carries a modifier after the base; the five modifiers
    # themselves (category Component) are emoji in their own right and stay.
    modifiers = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")
    for records in splits.values():
        for r in records:
            assert not any(m in r["unified"].split("-")[1:] for m in modifiers), r["unified"]


def test_loading_twice_gives_the_same_order_and_images():
    first = _load("validation")
    second = _load("validation")
    assert [r["unified"] for r in first] == [r["unified"] for r in second]
    assert all(np.array_equal(a["image"], b["image"]) for a, b in zip(first, second, strict=True))


def test_source_order(splits):
    assert [r["unified"] for r in splits["train"][:3]] == [
        "0023-FE0F-20E3",
        "002A-FE0F-20E3",
        "0030-FE0F-20E3",
    ]
    assert splits["train"][-1]["unified"] == "3299-FE0F"
    assert splits["validation"][0]["unified"] == "0031-FE0F-20E3"
    assert splits["validation"][-1]["unified"] == "2B1B"
    assert splits["test"][0]["unified"] == "00AE-FE0F"
    assert splits["test"][-1]["unified"] == "2797"


def test_dog_face(splits):
    dog = _find(splits["test"], "1F436")
    assert dog["caption"] == "dog face"
    assert dog["references"] == ["dog face", "dog"]
    assert dog["category"] == "Animals & Nature"
    assert dog["subcategory"] == "animal-mammal"
    image = dog["image"]
    # The transparent corners were composited onto white; the middle is the dog's fur.
    for row, col in ((0, 0), (0, 63), (63, 0), (63, 63)):
        assert image[row, col].tolist() == WHITE
    assert image[32, 32].tolist() == [217, 158, 130]
    assert int(image.astype(np.int64).sum()) == 2099471


def test_known_examples(splits):
    grinning = _find(splits["train"], "1F600")
    assert grinning["caption"] == "grinning face"
    assert grinning["category"] == "Smileys & Emotion"
    assert grinning["image"][32, 32].tolist() == [255, 204, 77]

    thumbs = _find(splits["train"], "1F44D")
    assert thumbs["caption"] == "thumbs up sign"
    assert thumbs["references"] == ["thumbs up sign", "+1", "thumbsup"]

    heart = _find(splits["validation"], "2764-FE0F")
    assert heart["caption"] == "heavy black heart"
    assert heart["image"][32, 32].tolist() == [221, 46, 68]

    # Non-ASCII names must come through decoded as UTF-8.
    ivory_coast = _find(splits["train"], "1F1E8-1F1EE")
    assert ivory_coast["caption"] == "côte d’ivoire flag"
    assert ivory_coast["references"] == ["côte d’ivoire flag", "flag-ci"]
    assert ivory_coast["subcategory"] == "country-flag"


def test_captions_lead_their_references(splits):
    for records in splits.values():
        for r in records:
            assert r["caption"], r["unified"]
            assert r["caption"] == r["caption"].lower()
            assert r["references"][0] == r["caption"]
            assert len(set(r["references"])) == len(r["references"])
            assert not any("_" in ref for ref in r["references"])


def test_supervised_pairs_are_image_and_caption(splits):
    dataset = datasets.load(NAME, split="test", as_supervised=True)
    image, caption = next(iter(dataset.as_numpy_iterator()))
    first = splits["test"][0]
    assert np.array_equal(image, first["image"])
    assert caption.decode("utf-8") == first["caption"] == "registered sign"
