"""Hostile input to the tasks, bounded: presets that fetch, options out of range, odd batches."""

import json
import zipfile

import keras
import numpy as np
import pytest

from seqapps import inspect
from seqapps.tasks import ImageCaptioner, SequenceTagger, Task, TextClassifier, Translator
from seqapps.text import train_subword_model


def test_a_preset_whose_config_asks_for_imagenet_weights_fetches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    model = ImageCaptioner(
        train_subword_model(["a red square", "a blue circle"] * 10, 20),
        encoder="MobileNetV3Small",
        image_size=(32, 32),
        units=4,
        embedding_dim=4,
    )
    path = model.save_preset(tmp_path / "captioner.keras")
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                config["config"]["encoder_weights"] = "imagenet"
                data = json.dumps(config).encode()
            target.writestr(info, data)
    with pytest.raises(ValueError, match="a preset never fetches anything its card did not pin"):
        Task.from_preset(hostile)
    assert not (tmp_path / "keras_home").exists()
    Task.from_preset(path)  # a preset seqapps wrote loads as ever


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    sources = ["the cat sees the dog", "the dog eats the fish"] * 3
    targets = ["el gato ve el perro", "el perro come el pez"] * 3
    return {
        "classifier": TextClassifier(
            ["good", "bad"], ["negative", "positive"], units=4, embedding_dim=4
        ),
        "translator": Translator(
            train_subword_model(sources * 5, 30),
            train_subword_model(targets * 5, 30),
            units=4,
            embedding_dim=4,
        ),
        "tagger": SequenceTagger(["a", "b"], list("ab"), ["X", "Y"], units=4, embedding_dim=4),
        "captioner": ImageCaptioner(
            train_subword_model(["a red square", "a blue circle"] * 10, 20),
            image_size=(32, 32),
            units=4,
            embedding_dim=4,
        ),
        "pairs": (sources, targets),
    }


def test_numpy_scalars_are_options_like_python_numbers(models):
    classifier, translator = models["classifier"], models["translator"]
    assert isinstance(translator.translate("the cat", beam_size=np.int64(3)), str)
    history = classifier.finetune(
        ["good", "bad"] * 4,
        [1, 0] * 4,
        epochs=np.int64(2),
        batch_size=np.int32(4),
        learning_rate=np.float32(1e-3),
        validation_fraction=np.float64(0.25),
        verbose=0,
    )
    assert history.epoch == [0, 1]


def test_beam_sizes_past_the_cap_are_refused_before_any_allocation(models):
    """beam_size=10**6 segfaulted, 100000 ran out of memory."""
    image = np.zeros((8, 8, 3), np.uint8)
    for beam_size in (10**6, 100_000, 65):
        with pytest.raises(
            ValueError, match=rf"beam_size must be an integer in 1\.\.64, got {beam_size}"
        ):
            models["translator"].translate("the cat", beam_size=beam_size)
        with pytest.raises(
            ValueError, match=rf"beam_size must be an integer in 1\.\.64, got {beam_size}"
        ):
            models["captioner"].caption(image, beam_size=beam_size)
    with pytest.raises(ValueError, match=r"beam_size must be an integer in 1\.\.64, got True"):
        models["translator"].translate("the cat", beam_size=True)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"validation_fraction": -1}, r"validation_fraction must be a number in \(0, 1\), got -1"),
        (
            {"validation_fraction": 1.0},
            r"validation_fraction must be a number in \(0, 1\), got 1.0",
        ),
        ({"learning_rate": float("inf")}, "learning_rate must be a positive number, got inf"),
        ({"epochs": 2.5}, "epochs must be a positive integer, got 2.5"),
        ({"patience": -1}, r"patience must be an integer >= 0, got -1"),
        ({"freeze": ["nope"]}, r"freeze names 'nope', which is no layer; choose among \["),
    ],
)
def test_fine_tuning_options_out_of_range_are_refused_naming_option_value_and_range(
    models, options, message
):
    with pytest.raises(ValueError, match=message):
        models["classifier"].finetune(["good", "bad"] * 4, [1, 0] * 4, verbose=0, **options)


def test_a_layer_name_given_as_a_string_freezes_that_layer(models):
    """freeze="encoder" said "No such layer: e." (it was read a character at a time)."""
    translator = models["translator"]
    translator.finetune(*models["pairs"], freeze="encoder", epochs=1, verbose=0)
    assert not translator.get_layer("encoder").trainable
    translator.get_layer("encoder").trainable = True


def test_a_string_where_a_list_is_expected_is_refused(models):
    """Translator.finetune("Jesus wept.", "Y lloró Jes") trained on eleven one-character pairs."""
    with pytest.raises(
        TypeError, match=r"sources must be a list of texts, got a single str \('Jesus wept.'\)"
    ):
        models["translator"].finetune("Jesus wept.", "Y lloró Jes", epochs=1)
    with pytest.raises(TypeError, match="x must be a list of inputs, got a single str"):
        models["classifier"].finetune("good bad", [1, 0], epochs=1)
    for look in (inspect.trace, inspect.gradient_flow):
        with pytest.raises(
            TypeError, match=r"inputs must be a list .*, got a single str \('good bad'\)"
        ):
            look(models["classifier"], "good bad")


def test_float_tag_ids_are_refused_rather_than_truncated(models):
    """[[5.7, 0.2, 1.9]] trained on 5, 0, 1."""
    with pytest.raises(
        ValueError, match=r"sentence 0's tag id must be an integer in 0\.\.1, got 1.7"
    ):
        models["tagger"].finetune([["a", "b", "a"]] * 4, [[1.7, 0.2, 1.9]] * 4, epochs=1)
    sentences, ids = [["a", "b", "a"], ["b", "a"]] * 2, [np.array([1, 0, 1]), np.array([0, 1])] * 2
    models["tagger"].finetune(sentences, ids, epochs=1, verbose=0)


def test_empty_and_out_of_range_requests_get_clear_errors(models, tmp_path):
    with pytest.raises(ValueError, match="inputs is empty; pass at least one input"):
        inspect.gradient_flow(models["classifier"], [])
    with pytest.raises(
        ValueError, match=r"layer \(the stack has 1 layers\) must be an integer in -1\.\.0, got 5"
    ):
        inspect.find_units(models["classifier"], "good bad", layer=5)
    with pytest.raises(ValueError, match="score needs one reference per source, at least one"):
        models["translator"].score([], [])
    with pytest.raises(ValueError, match="score needs at least one image"):
        models["captioner"].score([], [])
    with pytest.raises(ValueError, match="score needs at least one sentence"):
        models["tagger"].score([], [])
    with pytest.raises(ValueError, match=r"/\.keras' has no name before \.keras; name the file"):
        models["classifier"].save_preset(tmp_path / ".keras")
    sources, targets = models["pairs"]
    with pytest.raises(ValueError, match=r"sources\[0, 1\] are empty; every pair needs a source"):
        models["translator"].finetune(["", " "] + sources[2:], targets, epochs=1)


def test_overwriting_an_export_refuses_files_the_export_did_not_write(tmp_path):
    """`export(path, overwrite=True)` deleted a user's file put inside an earlier export."""
    from seqapps import safe_write

    def write(staging):
        (staging / "variables").mkdir(parents=True)
        (staging / "saved_model.pb").write_text("graph")
        (staging / "variables" / "variables.index").write_text("weights")

    target = tmp_path / "export"
    safe_write.write_directory(target, write, marker={})
    safe_write.write_directory(target, write, overwrite=True, marker={})  # its own files only
    for mine in ("notes.txt", "variables/my-copy.txt"):
        (target / mine).write_text("keep me")
        with pytest.raises(FileExistsError, match=f"also {mine}, which the export did not write"):
            safe_write.write_directory(target, write, overwrite=True, marker={})
        assert (target / mine).read_text() == "keep me"
        (target / mine).unlink()
    # An export written before the marker listed its files: anything beside the SavedModel.
    (target / "seqapps_export.json").write_text('{"exported_by": "seqapps"}')
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="also notes.txt, which the export did not write"):
        safe_write.write_directory(target, write, overwrite=True, marker={})
    (target / "notes.txt").unlink()
    safe_write.write_directory(target, write, overwrite=True, marker={})
    assert sorted(p.name for p in target.iterdir()) == [
        "saved_model.pb",
        "seqapps_export.json",
        "variables",
    ]


def test_command_line_and_file_errors_name_the_file_and_line(models, tmp_path, capsys):
    from seqapps import datasets
    from seqapps.cli import main

    conll = tmp_path / "train.conll"
    conll.write_text("The\tO\nNew York\tB-LOC\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"train\.conll line 2: the token 'New York' holds whitespace"
    ):
        datasets.from_conll(conll)
    preset = models["classifier"].save_preset(tmp_path / "tiny.keras")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("good\nniño\n".encode("latin-1"))
    assert main(["predict", str(preset), "--file", str(latin)]) == 1  # bad data, not usage
    assert "latin1.txt line 2 is not UTF-8 (byte 0xf1 at column 3)" in capsys.readouterr().err
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    texts = tmp_path / "texts.csv"
    texts.write_text("text,label\ngood,positive\nbad,negative\n" * 3)
    # Refused before training (which would take the whole --epochs), not after.
    assert main(["finetune", str(preset), "--data", str(texts), "--out", str(notes)]) == 2
    assert "notes.txt' is a file, so" in capsys.readouterr().err
    assert notes.read_text() == "keep"


def test_a_full_disk_during_a_command_line_export_is_an_error_not_a_traceback(
    models, tmp_path, capsys, monkeypatch
):
    import tensorflow as tf

    from seqapps.cli import main

    preset = models["classifier"].save_preset(tmp_path / "tiny.keras")

    def full_disk(self, *args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(Task, "export", full_disk)
    assert (
        main(["export", str(preset), str(tmp_path / "export")]) == 1
    )  # the work failed: not a usage error
    assert "could not write the export to" in capsys.readouterr().err
    assert not (tmp_path / "export").exists()
