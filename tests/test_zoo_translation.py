"""The translation entries, re-measured on the held-out test books, and served by their exports."""

import json

import pytest

import seqapps
from harness import load_export_without_seqapps
from seqapps.cli import main
from seqapps.zoo.recipes.translation import pairs

pytestmark = pytest.mark.zoo

NAME = "translate-en-es-gru"  # the first entry, held to issue 11's bar
ENTRIES = seqapps.list_models("translate-en-es-*")  # one per cell, same recipe and budget


@pytest.fixture(scope="module", params=ENTRIES)
def entry(request):
    return request.param, seqapps.load(request.param)


@pytest.fixture(scope="module")
def test_books():
    return pairs("test")


@pytest.mark.slow
def test_card_greedy_scores_are_reproduced_on_the_test_books(entry, test_books):
    name, model = entry
    claimed = seqapps.describe(name)["metrics"]["test"]["greedy"]
    measured = model.score(*test_books)
    assert measured["bleu"] == pytest.approx(claimed["bleu"], abs=0.05)
    assert measured["chrf"] == pytest.approx(claimed["chrf"], abs=0.05)


@pytest.mark.parametrize("name", ENTRIES)
def test_beam_search_beats_greedy_on_the_card(name):
    metrics = seqapps.describe(name)["metrics"]["test"]
    beam = next(value for key, value in metrics.items() if key.startswith("beam_"))
    assert beam["bleu"] > metrics["greedy"]["bleu"]


def test_entry_meets_the_quality_bar():
    # issue 11's bar, on the card's test figures (re-measured above).
    metrics = seqapps.describe(NAME)["metrics"]["test"]
    beam = next(value for key, value in metrics.items() if key.startswith("beam_"))
    assert metrics["greedy"]["bleu"] >= 15
    assert beam["bleu"] >= 17
    # ... and 3 BLEU above the TF tutorial's model trained as long in the same run.
    card = seqapps.describe(NAME)
    reference = card["metrics"]["test_reference"]["tf_nmt_tutorial"]
    budget = float(card["recipe"].split("--minutes")[1].split()[0])
    assert reference["minutes"] >= budget
    assert metrics["greedy"]["bleu"] >= reference["bleu"] + 3


@pytest.mark.slow
def test_export_translates_like_python_and_the_cli(entry, test_books, tmp_path, capsys):
    name, model = entry
    sources = test_books[0][:6] + ["", "Jesus wept."]
    expected = model.translate(sources)
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", sources, imports=("tensorflow_text",))
    assert served["translations"] == expected

    assert main(["translate", name, *sources[:2], "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["translation"] for row in rows] == expected[:2]
