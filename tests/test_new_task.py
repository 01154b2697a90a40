"""A task written here alone, with no edit to seqapps, gets what every task gets.

Presets, its command (the verb, --json, stdin), fine-tuning from a tf.data
dataset in Python and on the command line, inspect and export: the shared code
knows the task only through its `Interface` and the `Task` hooks.
"""

import io
import json
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqapps
from seqapps.cli import main
from seqapps.interface import Interface, Option
from seqapps.layers import RecurrentStack
from seqapps.tasks import Task
from seqapps.tasks.task import string_signature


@keras.saving.register_keras_serializable(package="test_new_task")
class CaseFeatures(keras.layers.Layer):
    """Raw strings → per character `[is upper case, is lower case]`, padded with zeros."""

    def call(self, texts):
        codes = tf.strings.unicode_decode(texts, "UTF-8").to_tensor()
        upper = (codes >= ord("A")) & (codes <= ord("Z"))
        lower = (codes >= ord("a")) & (codes <= ord("z"))
        return tf.cast(tf.stack([upper, lower], axis=-1), "float32")


@keras.saving.register_keras_serializable(package="test_new_task")
class Shouter(Task):
    """Whether each text is shouted: a toy many-to-one task over characters."""

    task_name = "shout-detection"
    interface = Interface(
        "shout",
        "say whether texts are shouted",
        output="shouted",
        plain="{shouted}\t{text}",
        options=(Option("--threshold", "threshold", "probability cut", "float", 0.5),),
        finetune=(Option("--data", "path", "a CSV of texts and labels", "path", required=True),),
    )

    def __init__(self, units=4, **kwargs):
        texts = keras.Input(shape=(), dtype="string", name="texts")
        features = CaseFeatures(name="features")(texts)
        state = RecurrentStack("gru", units, name="encoder")(features)
        probability = keras.layers.Dense(1, activation="sigmoid", name="head")(state)
        super().__init__(inputs=texts, outputs=probability, **kwargs)
        self.units = units
        self.compile(loss="binary_crossentropy")

    def get_config(self):
        return {"units": self.units}

    def shout(self, texts, threshold=0.5):
        probabilities = self.call_in_batches(np.asarray(texts, dtype=object))[:, 0]
        return [bool(p > threshold) for p in probabilities]

    def finetune_data(self, path):
        from seqapps import datasets

        dataset, _ = datasets.from_csv(path, label_names=["quiet", "shouted"])
        pairs = dataset.batch(4)
        return self, (pairs,), {"validation_data": pairs}

    def inspect_inputs(self, texts):
        return np.asarray(texts, dtype=object), [list(text) for text in texts]

    def serving_endpoints(self):
        def shout(texts):
            return {"probability": self(texts, training=False)[:, 0]}

        return {"shout": (shout, string_signature("texts"))}


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    keras.utils.set_random_seed(0)
    return str(Shouter().save_preset(tmp_path_factory.mktemp("shout") / "shout.keras"))


def test_presets_round_trip(preset):
    model = seqapps.load(preset)
    assert isinstance(model, Shouter)
    again = Shouter.from_config(model.get_config())
    again.set_weights(model.get_weights())
    texts = ["HEY YOU", "hey you"]
    np.testing.assert_allclose(model.predict(texts, verbose=0), again.predict(texts, verbose=0))


def test_its_command_takes_arguments_options_json_and_stdin(preset, capsys, monkeypatch):
    assert main(["shout", preset, "--threshold", "0", "HEY", "--json", "hey"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"text": "HEY", "shouted": True}, {"text": "hey", "shouted": True}]
    monkeypatch.setattr(sys, "stdin", io.StringIO("HEY\n\nhey\n"))
    assert main(["shout", preset, "--threshold", "1"]) == 0
    assert capsys.readouterr().out == "False\tHEY\n\nFalse\they\n"
    assert main(["shout", preset, "--threshold", "x", "HEY"]) == 2
    assert "argument --threshold: must be a finite number, got 'x'" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "say whether texts are shouted" in capsys.readouterr().out


def test_finetune_from_a_dataset_and_from_the_command_line(preset, capsys, tmp_path):
    texts = ["HEY THERE", "STOP IT", "NO WAY", "hello there", "stop it", "no way"] * 4
    labels = [1, 1, 1, 0, 0, 0] * 4
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(6)
    model = seqapps.load(preset)
    history = model.finetune(dataset, validation_data=dataset, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2

    data = tmp_path / "shouts.csv"
    rows = ["text,label"] + [f"{t},{'shouted' if y else 'quiet'}" for t, y in zip(texts, labels)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "tuned.keras"
    run = ["finetune", preset, "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet"]
    assert main(run) == 0, capsys.readouterr().err
    assert "best validation loss" in capsys.readouterr().out
    assert isinstance(seqapps.load(str(out)), Shouter)
    assert main([*run, "--text-file", str(data), "--overwrite"]) == 2
    assert "--text-file is not an option for shout-detection entries" in capsys.readouterr().err


def test_inspect_and_export(preset, capsys, tmp_path):
    report = tmp_path / "report"
    assert main(["inspect", preset, "--text", "Hi THERE", "--out", str(report)]) == 0
    assert (report / "1-shout-update_gate.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["export", preset, str(tmp_path / "export")]) == 0
    served = tf.saved_model.load(str(tmp_path / "export"))
    expected = seqapps.load(preset).predict(["HEY"], verbose=0)[0, 0]
    probability = served.signatures["shout"](texts=tf.constant(["HEY"]))["probability"]
    np.testing.assert_allclose(probability.numpy()[0], expected, rtol=1e-5)
