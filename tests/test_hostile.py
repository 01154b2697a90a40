"""Hostile input to the tasks, bounded: presets that fetch, options out of range, odd batches."""

import json
import zipfile

import pytest

from seqapps.tasks import ImageCaptioner, Task
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
