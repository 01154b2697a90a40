"""Model-agnostic checks every task model must pass (a thin test per task calls them)."""

import subprocess
import sys

import numpy as np
import tensorflow as tf

from seqapps.tasks import Task


def assert_config_round_trip(model):
    """`from_config(get_config())` rebuilds the same model: same config, same outputs."""
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    return clone


def assert_same_outputs(a, b, atol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)


def assert_batch_independent(model, inputs):
    """Each example's output is the same alone as in a padded batch of mixed lengths."""
    batched = model.predict(inputs, verbose=0)
    for index, item in enumerate(inputs):
        assert_same_outputs(model.predict([item], verbose=0)[0], batched[index])


def assert_predict_accepts_tf_data(model, inputs):
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(inputs)).batch(2)
    assert_same_outputs(model.predict(dataset, verbose=0), model.predict(inputs, verbose=0))


def assert_preset_round_trip(model, inputs, tmp_path):
    path = model.save_preset(tmp_path / "preset.keras")
    restored = Task.from_preset(path)
    assert type(restored) is type(model)
    assert restored.get_config() == model.get_config()
    assert_same_outputs(restored.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


def load_export_without_seqapps(export_dir, inputs, signature="serving_default", imports=()):
    """Runs an export's signature in a fresh Python where `import seqapps` fails.

    `imports` are the modules a serving client imports first (e.g. `tensorflow_text`
    for the ops of a subword tokenizer).
    """
    code = f"""
import sys, json
sys.modules["seqapps"] = None  # any attempt to import seqapps now raises ImportError
import numpy as np, tensorflow as tf
{"".join(f"import {name}; " for name in imports)}
loaded = tf.saved_model.load({str(export_dir)!r})
outputs = loaded.signatures[{signature!r}](tf.constant({list(inputs)!r}))
print(json.dumps({{k: v.numpy().tolist() if v.dtype != tf.string else [s.decode() for s in v.numpy().ravel()] for k, v in outputs.items()}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def zoo_entry_for(path, name, **fields):
    """A registrable text-classification `ZooEntry` for a preset file the test wrote."""
    from seqapps.zoo import ZooEntry, sha256_of

    weights = {"file": str(path), "url": None, "sha256": sha256_of(path)}
    weights["size_bytes"] = path.stat().st_size
    weights.update(fields.pop("weights", {}))
    card = {
        "name": name,
        "task": "text-classification",
        "description": "a tiny test entry",
        "architecture": {},
        "weights": weights,
        "num_parameters": 0,
        "dataset": {},
        "metrics": {},
        "license": "Apache-2.0",
        "recipe": "",
        **fields,
    }
    return ZooEntry(**card)
