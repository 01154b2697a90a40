"""The bundled shakespeare dataset, read through the public loader."""

from __future__ import annotations

import pytest

from seqapps import datasets

NAME = "shakespeare"
EXPECTED_WORKS = {"train": 38, "validation": 1, "test": 3}
EXPECTED_CHARACTERS = {"train": 4_585_662, "validation": 173_942, "test": 297_594}


def _load(split: str) -> dict[str, str]:
    """Return ``{work: text}`` for one split, in the loader's order."""
    dataset = datasets.load(NAME, split=split, as_supervised=False)
    return {
        example["work"].decode("utf-8"): example["text"].decode("utf-8")
        for example in dataset.as_numpy_iterator()
    }


@pytest.fixture(scope="module")
def splits() -> dict[str, dict[str, str]]:
    return {split: _load(split) for split in EXPECTED_WORKS}


def test_element_spec_matches_schema():
    spec = datasets.load(NAME, split="validation", as_supervised=False).element_spec
    assert set(spec) == {"work", "text"}
    assert spec["work"].dtype.name == "string"
    assert spec["text"].dtype.name == "string"


@pytest.mark.parametrize("split", list(EXPECTED_WORKS))
def test_works_and_characters_per_split(splits, split):
    works = splits[split]
    assert len(works) == EXPECTED_WORKS[split]
    assert sum(len(text) for text in works.values()) == EXPECTED_CHARACTERS[split]


def test_held_out_works(splits):
    assert list(splits["validation"]) == ["hamlet"]
    assert list(splits["test"]) == ["macbeth", "sonnets", "tempest"]
    assert {"lear", "othello", "romeo_and_juliet", "henry_iv_part_1"} <= set(splits["train"])


def test_splits_are_disjoint_by_work(splits):
    train, validation, test = (set(splits[s]) for s in ("train", "validation", "test"))
    assert not train & validation
    assert not train & test
    assert not validation & test
    assert len(train | validation | test) == 42


def test_loading_twice_gives_the_same_order_and_text():
    first = _load("train")
    second = _load("train")
    assert list(first) == list(second)
    assert list(first) == sorted(first)
    assert first == second


def test_known_passages(splits):
    macbeth = splits["test"]["macbeth"]
    assert macbeth.split("\n", 1)[0] == "MACBETH"
    assert len(macbeth) == 103_427
    witches = "FIRST WITCH.\nWhen shall we three meet again?\nIn thunder, lightning, or in rain?"
    assert witches in macbeth

    hamlet = splits["validation"]["hamlet"]
    assert hamlet.startswith("HAMLET, PRINCE OF DENMARK\n\nby William Shakespeare\n")
    assert "To be, or not to be,--that is the question:--" in hamlet

    sonnets = splits["test"]["sonnets"]
    assert "XVIII\n\nShall I compare thee to a summer's day?\n" in sonnets

    assert splits["train"]["phoenix_and_the_turtle"].endswith("these dead birds sigh a prayer.")


def test_text_uses_unix_line_endings_only(splits):
    for works in splits.values():
        for work, text in works.items():
            assert "\r" not in text, work


def test_supervised_view_is_the_text_alone():
    dataset = datasets.load(NAME, split="test", as_supervised=True)
    first = next(iter(dataset))
    assert first.dtype.name == "string"
    assert first.numpy().decode("utf-8").startswith("MACBETH\n\nby William Shakespeare\n")
