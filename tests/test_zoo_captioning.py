"""The emoji captioning entries, re-measured on the 206 unseen test emoji against the baselines."""

import io
import json

import pytest
from PIL import Image

import seqapps
from harness import load_export_without_seqapps
from seqapps.cli import main
from seqapps.zoo.recipes.captioning import evaluate, nearest_captions, pixel_vectors, scores, split

pytestmark = pytest.mark.zoo

ENTRIES = seqapps.list_models("caption-emoji-*")  # one per cell, same recipe and budget


@pytest.fixture(scope="module", params=ENTRIES)
def entry(request):
    return request.param, seqapps.load(request.param)


@pytest.fixture(scope="module")
def data():
    return split("train"), split("test")


@pytest.mark.slow
def test_card_scores_are_reproduced_and_beat_both_baselines(entry, data):
    name, model = entry
    train, test = data
    card = seqapps.describe(name)["metrics"]
    measured = evaluate(model, test, train[1])
    assert measured == pytest.approx(card["test"]["greedy"], abs=0.01)
    # The pixel baseline, recomputed here; the encoder-feature one is on the card from the same run.
    mean = train[0].astype("float64").mean(axis=0)
    pixels = scores(
        nearest_captions(pixel_vectors(train[0], mean), train[1], pixel_vectors(test[0], mean)),
        test,
    )
    assert pixels == pytest.approx(card["test_baselines"]["nearest_pixels"], abs=0.01)
    # The first entry's bar (its siblings of other cells are compared with it, not held to it):
    # above the better baseline on BLEU-4 and BLEU-1, against the name and all references, and
    # mostly not a verbatim training caption.
    if name != "caption-emoji-gru":
        assert measured["bleu4"] > max(b["bleu4"] for b in card["test_baselines"].values())
        return
    for key in ("bleu4", "bleu1", "bleu4_name_only", "bleu1_name_only"):
        best_baseline = max(baseline[key] for baseline in card["test_baselines"].values())
        assert measured[key] > best_baseline, key
    assert measured["copies_of_training_captions"] < 0.5
    assert measured["distinct"] > 100


@pytest.mark.slow
def test_the_export_and_the_cli_caption_like_python(entry, data, tmp_path, capsys):
    name, model = entry
    images = data[1][0][:8]
    expected = model.caption(images)
    encoded = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", encoded, imports=("tensorflow_text",))
    assert served["captions"] == expected

    (tmp_path / "one.png").write_bytes(encoded[0])
    assert main(["caption", name, str(tmp_path / "one.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["caption"] == expected[0]
