"""The part-of-speech entries, re-measured on the held-out test files, and served by their exports."""

import json

import pytest

import seqapps
from harness import load_export_without_seqapps
from seqapps.cli import main
from seqapps.zoo.recipes.tagging import sentences

pytestmark = pytest.mark.zoo

ENTRIES = seqapps.list_models("pos-brown-*")  # one per cell, same recipe and budget


@pytest.fixture(scope="module", params=ENTRIES)
def entry(request):
    return request.param, seqapps.load(request.param)


@pytest.mark.slow
def test_card_accuracy_is_reproduced_on_the_test_files_and_meets_the_bar(entry):
    name, model = entry
    train, _, _ = sentences("train")
    test, tags, _ = sentences("test")
    claimed = seqapps.describe(name)["metrics"]["test"]
    measured = model.score(test, tags, known_words={t for row in train for t in row})
    assert measured["accuracy"] == pytest.approx(claimed["accuracy"], abs=5e-4)
    assert measured["accuracy_unseen"] == pytest.approx(claimed["accuracy_unseen"], abs=5e-4)
    assert measured["accuracy"] >= 0.97  # issue 13's bar


@pytest.mark.slow
def test_the_lecture_sentence_and_the_export_agree(entry, tmp_path, capsys):
    name, model = entry
    texts = ["The old man the boats.", "She didn't see the 3 dogs in Boston yesterday!", ""]
    expected = model.tag(texts, is_split_into_words=False)
    tags = dict(expected[1])
    assert tags["She"] == "PRON" and tags["dogs"] == "NOUN" and tags["3"] == "NUM"
    assert expected[2] == []
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", texts)
    width = max(served["lengths"])
    assert served["lengths"] == [len(row) for row in expected]
    assert served["tags"] == [
        t for row in expected for t in [g for _, g in row] + [""] * (width - len(row))
    ]

    assert main(["tag", name, texts[0], "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert list(zip(row["tokens"], row["tags"])) == [tuple(p) for p in expected[0]]
