"""Every committed zoo entry matches its card: schema, usage, weights, parameter count, recipe."""

import dataclasses
import functools
from pathlib import Path

import pytest

import seqapps
from seqapps import datasets
from seqapps.tasks import TASKS
from seqapps.zoo import ZooEntry, describe, format_card, list_models, registry, sha256_of
from seqapps.zoo.model_card import run_example, same_output, usage_problems
from seqapps.zoo.recipes.card_examples import sample_metrics

pytestmark = pytest.mark.zoo

NAMES = list_models()
REQUIRED_METRIC_SPLITS = {"test", "validation"}
ROOT = registry.ZOO_DIR.parent


@functools.cache
def loaded(name):
    return seqapps.load(name)


def test_the_zoo_is_not_empty():
    assert "sentiment-lstm" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_card_schema(name):
    card = describe(name)
    assert set(card) == {f.name for f in dataclasses.fields(ZooEntry)}
    assert card["task"] in TASKS
    assert card["description"] and card["license"]
    assert REQUIRED_METRIC_SPLITS <= set(card["metrics"])
    assert card["dataset"]["name"] in datasets.list_datasets()
    weights = card["weights"]
    assert weights["file"] or weights["url"]
    assert len(weights["sha256"]) == 64
    recipe_module = card["recipe"].split()[2]  # python -m seqapps.zoo.recipes.<name> ...
    recipe_file = registry.ZOO_DIR / "recipes" / (recipe_module.rsplit(".", 1)[1] + ".py")
    assert recipe_module.startswith("seqapps.zoo.recipes.") and recipe_file.exists()


@pytest.mark.parametrize("name", NAMES)
def test_card_says_what_the_entry_is_for_and_where_it_fails(name):
    card = describe(name)
    assert usage_problems(card["usage"]) == []
    usage = card["usage"]
    if card["task"] != "image-captioning":  # an image model's empty input is a blank image
        assert usage["empty_input"]["input"] == ""
    text = str(card)  # what `seqapps info` and print(seqapps.describe(name)) show
    for title in ("Intended use", "Training data", "Limitations", "Empty input", "Known failures"):
        assert f"\n{title}" in text
    assert text == format_card(card) and usage["limitations"][0][:40] in text.replace("\n  ", " ")


def test_the_translation_card_says_plainly_it_knows_the_bible_only():
    usage = describe("translate-en-es-gru")["usage"]
    assert "Bible" in usage["intended_use"] and "not a general-purpose" in usage["intended_use"]
    assert usage["training_data"].startswith("Bible-domain only")
    inputs = [example["input"] for example in usage["failure_examples"]]
    assert "Good morning, how are you? I would like a coffee, please." in inputs


@pytest.mark.parametrize("name", NAMES)
def test_card_examples_are_what_the_weights_give(name):
    """The outputs a card shows (empty input, failures) are the committed weights' own."""
    usage = describe(name)["usage"]
    for example in [usage["empty_input"], *usage["failure_examples"]]:
        measured = run_example(loaded(name), example, ROOT)
        assert same_output(example["output"], measured), (example["input"], measured)


@pytest.mark.parametrize("name", NAMES)
def test_every_entry_is_re_measured_on_a_fixed_test_sample(name):
    """The default run's re-measurement: a fixed sample of the test split (`SAMPLES` in
    `seqapps.zoo.recipes.card_examples`) against the figures recorded from the committed
    weights; the whole test split, against the recipe's numbers, is `-m slow`."""
    recorded = describe(name)["metrics"]["test_sample"]
    measured = sample_metrics(loaded(name))
    assert measured["sample"] == recorded["sample"]
    assert measured.keys() == recorded.keys()
    for key in set(recorded) - {"sample"}:
        tolerance = 0.05 if "bleu" in key or "chrf" in key else 5e-4  # BLEU/chrF in points
        assert measured[key] == pytest.approx(recorded[key], abs=tolerance), key


def test_repr_names_the_entry():
    size = describe("sentiment-lstm")["num_parameters"]
    assert repr(loaded("sentiment-lstm")) == (
        f"<TextClassifier 'sentiment-lstm': text-classification, {size:,} parameters>"
    )


@pytest.mark.parametrize("name", NAMES)
def test_weights_match_the_card(name):
    card = describe(name)
    path = registry.ZOO_DIR / card["weights"]["file"]
    assert path.stat().st_size == card["weights"]["size_bytes"]
    assert sha256_of(path) == card["weights"]["sha256"]
    # Entries stay small (a few MB; a translation entry's two vocabularies up to ~25 MB; an
    # entry that keeps pretrained vectors for words its training data lacks, e.g. 100,000 GloVe
    # rows of 50 float16, up to 16 MB): every commit of a weight file stays in history.
    limit = 8_000_000
    if card["task"] == "translation":
        limit = 26_000_000
    elif "vectors_coverage" in card["dataset"]:
        limit = 16_000_000
    assert path.stat().st_size < limit


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_and_architecture_are_recomputed(name):
    card = describe(name)
    model = loaded(name)
    assert model.count_params() == card["num_parameters"]
    config = model.get_config()
    for key, value in card["architecture"].items():
        if key in config:
            assert config[key] == value, key


def test_weight_files_are_packaged():
    setup = (Path(registry.ZOO_DIR).parent / "setup.cfg").read_text()
    assert "weights/*.keras" in setup and "cards/*.json" in setup
