"""The text generation recipe's accelerator path: ids out, training under plain Keras, entry in."""

import json

import numpy as np
import pytest

from seqapps.layers import RecurrentStack
from seqapps.tasks import TextGenerator
from seqapps.zoo.recipes import textgen, textgen_ids


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by `textgen_ids` on the first 20,000 ids of `shakespeare` train."""
    folder = tmp_path_factory.mktemp("ids")
    textgen.train(
        textgen.parser().parse_args(
            ["--name", "unused", "--write-ids", str(folder), "--train-chars", "20000"]
        )
    )
    args = textgen_ids.parser().parse_args(
        [str(folder), "--out", str(folder / "weights.npz"), "--units", "16", "--embedding-dim", "8"]
        + ["--num-layers", "2", "--steps", "4", "--steps-per-epoch", "2", "--seed", "3"]
    )
    result = textgen_ids.train(args)
    return folder, args, result


def test_write_ids_holds_the_vocabulary_and_the_streams(trained):
    folder, _, _ = trained
    ids = np.load(folder / "ids.npz")
    vocabulary = [str(token) for token in ids["vocabulary"]]
    model = TextGenerator(vocabulary, units=8, embedding_dim=8)
    hamlet = textgen.load_works("validation")["hamlet"]
    assert len(ids["train"]) == 20_000
    np.testing.assert_array_equal(ids["validation"], model.token_stream([hamlet]))


def test_trained_weights_become_an_entry_that_reads_text_the_same_way(trained, tmp_path):
    folder, args, result = trained
    assert [row["epoch"] for row in result["history"]] == [1, 2]
    saved = np.load(folder / "weights.npz")
    assert json.loads(str(saved["settings"]))["steps"] == 4
    assert json.loads(str(saved["history"])) == result["history"]

    train_works = textgen.load_works("train")
    preset = tmp_path / "entry.keras"
    cli = textgen.parser().parse_args(
        ["--name", "x", "--trained-weights", str(folder / "weights.npz")]
    )
    history, provenance = textgen.load_trained_weights(cli, train_works, preset)
    assert history == result["history"]
    assert "textgen_ids" in provenance["command"] and "--steps 4" in provenance["command"]

    # The entry scores hamlet's opening as the plain-Keras network did.
    model = TextGenerator.from_preset(preset)
    reader = textgen_ids.build_reader(len(model.vocabulary) + 2, args)
    reader.set_weights([saved[f"weight_{i}"] for i in range(len(model.weights))])
    ids = np.load(folder / "ids.npz")["validation"][:1001].astype("int32")
    expected = textgen_ids.validation_bpc(reader, ids, segments=1, units=16)
    opening = textgen.load_works("validation")["hamlet"][:1000]
    # float16 storage moves the figure in the fourth decimal at most
    assert model.score(opening)["bits_per_char"] == pytest.approx(expected, abs=2e-3)


def test_weights_for_another_vocabulary_are_refused(trained, tmp_path):
    folder, _, _ = trained
    saved = dict(np.load(folder / "weights.npz"))
    saved["vocabulary"] = saved["vocabulary"][::-1]
    np.savez(tmp_path / "other.npz", **saved)
    cli = textgen.parser().parse_args(
        ["--name", "x", "--trained-weights", str(tmp_path / "other.npz")]
    )
    with pytest.raises(ValueError, match="another vocabulary"):
        textgen.load_trained_weights(cli, textgen.load_works("train"), tmp_path / "entry.keras")


def test_stateful_batches_continue_each_row_in_the_next_batch():
    stream = np.arange(10_000)
    args = textgen_ids.parser().parse_args(
        ["ids", "--out", "x.npz", "--stateful", "--batch-size", "4", "--window", "10"]
    )
    batches = textgen_ids.stateful_batches(stream, args, np.random.default_rng(0))
    (first, targets), (second, _) = next(batches), next(batches)
    np.testing.assert_array_equal(targets, first + 1)
    np.testing.assert_array_equal(second[:, 0], first[:, -1] + 1)
    assert len(set(first[:, 0] // 2500)) == 4  # one row per quarter of the stream


def test_a_stateful_run_trains_and_resets_the_state_every_pass(trained, tmp_path, monkeypatch):
    folder, _, _ = trained
    resets = []
    reset_state = RecurrentStack.reset_state
    monkeypatch.setattr(
        RecurrentStack, "reset_state", lambda self: resets.append(1) or reset_state(self)
    )
    args = textgen_ids.parser().parse_args(
        [str(folder), "--out", str(tmp_path / "w.npz"), "--units", "8", "--embedding-dim", "4"]
        + ["--stateful", "--batch-size", "50", "--steps", "6", "--steps-per-epoch", "3"]
    )
    assert textgen_ids.batches_per_pass(np.zeros(20_000), args) == 2
    result = textgen_ids.train(args)
    assert len(result["history"]) == 2
    assert np.isfinite(result["best"])
    assert len(resets) == 3  # 6 batches, 2 per pass


def test_the_ids_stage_does_not_import_the_tensorflow_recipe():
    """`textgen_ids` runs where only Keras is installed: it must not pull in `textgen`."""
    import subprocess
    import sys

    code = (
        "import sys, seqapps.zoo.recipes.textgen_ids; "
        "print('seqapps.zoo.recipes.textgen' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_weight_averaging_validates_and_saves_the_average(trained, tmp_path, capsys):
    folder, _, _ = trained
    common = [str(folder), "--units", "8", "--embedding-dim", "4", "--steps", "4"]
    common += ["--steps-per-epoch", "2", "--validation-segments", "2"]
    runs = {}
    for momentum in ("0", "0.5"):
        out = tmp_path / f"ema{momentum}.npz"
        args = textgen_ids.parser().parse_args(
            [*common, "--out", str(out), "--ema-momentum", momentum]
        )
        runs[momentum] = (args, textgen_ids.train(args), np.load(out))
    plain, averaged = runs["0"][2], runs["0.5"][2]
    weights = [key for key in plain.files if key.startswith("weight_")]
    assert any(not np.array_equal(plain[key], averaged[key]) for key in weights)
    # The file holds the weights that were validated: its bits per character are the best recorded.
    args, result, saved = runs["0.5"]
    reader = textgen_ids.build_reader(len(saved["vocabulary"]) + 2, args)
    reader.set_weights([saved[key] for key in sorted(weights, key=lambda k: int(k[7:]))])
    ids = np.load(folder / "ids.npz")["validation"].astype("int32")
    assert textgen_ids.validation_bpc(reader, ids, 2, 8) == pytest.approx(result["best"], rel=1e-5)
    assert "--ema-momentum 0.5" in textgen.ids_command(json.loads(str(saved["settings"])), "w.npz")

    with pytest.raises(SystemExit):
        textgen_ids.parser().parse_args([*common, "--out", "x.npz", "--ema-momentum", "1"])
    assert "--ema-momentum: must be a number in [0, 1)" in capsys.readouterr().err


def test_the_recurrent_gain_starts_the_ids_stage_network():
    args = textgen_ids.parser().parse_args(
        ["ids", "--out", "x.npz", "--cell", "rnn", "--units", "8", "--recurrent-gain", "0.5"]
    )
    network = textgen_ids.build(12, args)
    kernel = next(
        w.numpy() for w in network.get_layer("decoder").weights if "recurrent_kernel" in w.path
    )
    np.testing.assert_allclose(kernel @ kernel.T, 0.25 * np.eye(8), atol=1e-5)


def test_a_missing_ids_folder_says_how_to_write_it(tmp_path):
    args = textgen_ids.parser().parse_args(
        [str(tmp_path / "ids"), "--out", str(tmp_path / "w.npz")]
    )
    with pytest.raises(FileNotFoundError, match="--write-ids"):
        textgen_ids.train(args)
    assert not (tmp_path / "w.npz").exists()


def test_an_out_path_that_is_a_folder_is_refused_before_training(trained, tmp_path):
    folder, _, _ = trained
    (tmp_path / "keep.txt").write_text("someone's file")
    args = textgen_ids.parser().parse_args([str(folder), "--out", str(tmp_path)])
    with pytest.raises(IsADirectoryError, match="weights.npz"):
        textgen_ids.train(args)
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]


def test_the_fitted_temperature_is_the_one_the_targets_were_drawn_at():
    from seqapps.zoo.recipes._calibration import fitted_temperature, mean_nats

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20_000, 12))
    probabilities = np.exp(logits / 1.5)
    probabilities /= probabilities.sum(-1, keepdims=True)
    targets = np.array([rng.choice(12, p=row) for row in probabilities])
    temperature = fitted_temperature(logits, targets)
    assert temperature == pytest.approx(1.5, abs=0.05)
    for other in (1.0, temperature * 0.9, temperature * 1.1):
        assert mean_nats(logits, targets, temperature) < mean_nats(logits, targets, other)


def test_calibration_lowers_the_validation_loss_keeps_greedy_writing_and_is_a_card_stage(
    trained, tmp_path, monkeypatch
):
    from seqapps.zoo.recipes import _calibration, _cards, _textgen_card

    folder, _, _ = trained
    cli = textgen.parser().parse_args(
        ["--name", "x", "--trained-weights", str(folder / "weights.npz")]
    )
    weights = tmp_path / "weights" / "x.keras"
    textgen.load_trained_weights(cli, textgen.load_works("train"), weights)
    text = textgen.load_works("validation")["hamlet"][:3000]
    before = TextGenerator.from_preset(weights)
    found = _calibration.calibrate(weights, text)
    after = TextGenerator.from_preset(weights)
    assert found["temperature"] != pytest.approx(1.0, abs=0.01)
    assert found["validation_bpc_after"] < found["validation_bpc_before"]
    measured = after.score(text)["bits_per_char"]
    assert measured == pytest.approx(found["validation_bpc_after"], abs=2e-3)
    assert measured < before.score(text)["bits_per_char"]
    assert after.generate("KING.", max_length=40) == before.generate("KING.", max_length=40)

    # On a stored entry (--card-only --calibrate), the card's recipe gains the stage and its notes
    # the temperature; measuring the file again (--card-only) keeps both; a second calibration
    # is refused.
    (tmp_path / "cards").mkdir()
    monkeypatch.setattr(_textgen_card, "ZOO_DIR", tmp_path)
    monkeypatch.setattr(_cards, "ZOO_DIR", tmp_path)
    previous = {"recipe": "python -m train", "notes": "trained once", "metrics": {"training": []}}
    (tmp_path / "cards" / "x.json").write_text(json.dumps(previous), encoding="utf-8")
    measured = {"validation": {"pooled": 2.0}, "test": {"pooled": 2.1}, "history": []}
    stage = "python -m seqapps.zoo.recipes.textgen --name x --card-only --calibrate"
    for flags, calibration in ((["--calibrate"], found), ([], None)):
        card_only = textgen.parser().parse_args(["--name", "x", "--card-only", *flags])
        _textgen_card.write_card(
            card_only, textgen.parser, after, weights, measured, 1, None, calibration
        )
        card = json.loads((tmp_path / "cards" / "x.json").read_text(encoding="utf-8"))
        assert card["recipe"] == f"python -m train && {stage}"
        assert card["notes"].startswith("trained once; logits divided by a temperature of ")
    with pytest.raises(ValueError, match="x is calibrated already"):
        _calibration.refuse_a_second_calibration("x")
