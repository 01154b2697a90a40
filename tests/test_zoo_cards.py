"""Every committed zoo entry matches its card: schema, weights, parameter count, recipe."""

import dataclasses
from pathlib import Path

import pytest

import seqapps
from seqapps import datasets
from seqapps.tasks import TASKS
from seqapps.zoo import ZooEntry, describe, list_models, registry, sha256_of

pytestmark = pytest.mark.zoo

NAMES = list_models()
REQUIRED_METRIC_SPLITS = {"test", "validation"}


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
def test_weights_match_the_card(name):
    card = describe(name)
    path = registry.ZOO_DIR / card["weights"]["file"]
    assert path.stat().st_size == card["weights"]["size_bytes"]
    assert sha256_of(path) == card["weights"]["sha256"]
    # Entries stay small (a few MB; a translation entry's two vocabularies up to ~25 MB):
    # every commit of a weight file stays in history.
    assert path.stat().st_size < (26_000_000 if card["task"] == "translation" else 8_000_000)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_and_architecture_are_recomputed(name):
    card = describe(name)
    model = seqapps.load(name)
    assert model.count_params() == card["num_parameters"]
    config = model.get_config()
    for key, value in card["architecture"].items():
        if key in config:
            assert config[key] == value, key


def test_weight_files_are_packaged():
    setup = (Path(registry.ZOO_DIR).parent / "setup.cfg").read_text()
    assert "weights/*.keras" in setup and "cards/*.json" in setup
