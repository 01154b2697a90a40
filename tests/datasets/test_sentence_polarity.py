"""The bundled sentence_polarity dataset, read through the public loader."""

from __future__ import annotations

from collections import Counter

import pytest

from seqapps import datasets

NAME = "sentence_polarity"
EXPECTED_COUNTS = {"train": 18834, "validation": 2229, "test": 2257}
EXPECTED_DOMAIN_COUNTS = {
    "train": {"movie": 8501, "tweets": 3383, "amazon": 2900, "nyt": 4050},
    "validation": {"movie": 1025, "tweets": 425, "amazon": 340, "nyt": 439},
    "test": {"movie": 1042, "tweets": 388, "amazon": 370, "nyt": 457},
}
NEGATIVE, POSITIVE = 0, 1


def _as_python(example: dict) -> dict:
    return {
        "id": example["id"].decode("utf-8"),
        "text": example["text"].decode("utf-8"),
        "label": int(example["label"]),
        "rating": float(example["rating"]),
        "domain": example["domain"].decode("utf-8"),
    }


def _load(split: str) -> list[dict]:
    dataset = datasets.load(NAME, split=split, as_supervised=False)
    return [_as_python(example) for example in dataset.as_numpy_iterator()]


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {split: _load(split) for split in EXPECTED_COUNTS}


def _find(records: list[dict], domain: str, example_id: str) -> dict:
    matches = [r for r in records if r["domain"] == domain and r["id"] == example_id]
    assert len(matches) == 1, f"{domain}/{example_id}: {len(matches)} matches"
    return matches[0]


def test_element_spec_matches_schema():
    spec = datasets.load(NAME, split="test", as_supervised=False).element_spec
    assert set(spec) == {"id", "text", "label", "rating", "domain"}
    assert spec["text"].dtype.name == "string"
    assert spec["label"].dtype.name == "int64"
    assert spec["rating"].dtype.name == "float32"
    assert all(spec[key].shape.rank == 0 for key in spec)


@pytest.mark.parametrize("split", list(EXPECTED_COUNTS))
def test_split_sizes_overall_and_per_domain(splits, split):
    records = splits[split]
    assert len(records) == EXPECTED_COUNTS[split]
    assert Counter(r["domain"] for r in records) == EXPECTED_DOMAIN_COUNTS[split]


def test_splits_are_disjoint_by_text(splits):
    texts = {split: {r["text"].strip() for r in records} for split, records in splits.items()}
    assert not texts["train"] & texts["validation"]
    assert not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]


def test_loading_twice_gives_the_same_order():
    first = [r["text"] for r in _load("validation")]
    second = [r["text"] for r in _load("validation")]
    assert first == second


def test_label_is_the_sign_of_the_rating(splits):
    for records in splits.values():
        for r in records:
            assert r["rating"] != 0.0, r
            assert r["label"] == (POSITIVE if r["rating"] > 0 else NEGATIVE), r
            assert -4.0 <= r["rating"] <= 4.0, r


def test_known_examples(splits):
    test = splits["test"]
    tepid = _find(test, "movie", "3")
    assert tepid["text"] == "Effective but too tepid biopic"
    assert tepid["label"] == NEGATIVE
    assert tepid["rating"] == pytest.approx(-0.6)

    tweet = _find(test, "tweets", "30")
    assert tweet["text"] == "Yeah, my head hurts. Gravity is such a damn bitch."
    assert tweet["rating"] == pytest.approx(-1.642105263)

    wisegirls = _find(splits["validation"], "movie", "12")
    assert wisegirls["text"].startswith("What really surprises about Wisegirls")
    assert wisegirls["label"] == POSITIVE
    assert wisegirls["rating"] == pytest.approx(1.66666666667)

    # Non-ASCII text must come through decoded as UTF-8, not mangled.
    hubac = _find(splits["train"], "movie", "233")
    assert hubac["text"].startswith("Jirí Hubac's script is a gem.")
    assert hubac["label"] == POSITIVE


def test_first_record_of_each_split_follows_source_order(splits):
    assert splits["train"][0]["text"].startswith("The Rock is destined to be the 21st Century's")
    assert splits["validation"][0]["id"] == "12"
    assert splits["test"][0]["id"] == "3"
    assert splits["test"][-1]["domain"] == "nyt"
    assert splits["test"][-1]["id"] == "500_7"


def test_label_balance(splits):
    labels = {split: Counter(r["label"] for r in records) for split, records in splits.items()}
    assert labels["train"] == {NEGATIVE: 8750, POSITIVE: 10084}
    assert labels["validation"] == {NEGATIVE: 1051, POSITIVE: 1178}
    assert labels["test"] == {NEGATIVE: 1048, POSITIVE: 1209}


def test_supervised_pairs_are_text_and_label():
    dataset = datasets.load(NAME, split="test", as_supervised=True)
    text, label = next(iter(dataset))
    assert text.numpy().decode("utf-8") == "Effective but too tepid biopic"
    assert int(label) == NEGATIVE
