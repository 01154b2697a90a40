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
loaded = tf.saved_model.load({str(export_dir)!r})
outputs = loaded.signatures[{signature!r}](tf.constant({list(inputs)!r}))
result = {{k: v.numpy().tolist() if v.dtype != tf.string else [s.decode() for s in v.numpy().ravel()]
          for k, v in outputs.items()}}
"""
    return run_without_seqapps(code, imports)


#: The serving client: a Python where `import seqapps` raises ImportError, with TensorFlow and
#: the client's `imports` only. It runs each snippet sent to it (which sets `result`) in a fresh
#: namespace and answers one JSON line, so the TensorFlow start-up is paid once per set of imports.
_CLIENT = """
import json, sys, traceback
sys.modules["seqapps"] = None  # any attempt to import seqapps now raises ImportError
import numpy as np, tensorflow as tf
for name in sys.argv[1:]:
    __import__(name)
answers = sys.stdout
sys.stdout = sys.stderr  # whatever a snippet prints stays off the answers
for line in sys.stdin:
    namespace = {"np": np, "tf": tf, "json": json}
    try:
        exec(json.loads(line), namespace)
        answer = {"result": namespace["result"]}
    except BaseException:
        answer = {"error": traceback.format_exc()}
    answers.write(json.dumps(answer) + "\\n")
    answers.flush()
"""
_CLIENTS = {}


def run_without_seqapps(code, imports=(), timeout=300):
    """Runs `code` (with `np`, `tf` and `json` at hand; it sets `result`, a JSON value) in a
    Python where `import seqapps` fails and only TensorFlow and `imports` were imported, as a
    serving client would; returns `result`. One such Python per set of imports serves a session.
    """
    import atexit
    import json
    import select
    import tempfile

    imports = tuple(sorted(imports))
    client = _CLIENTS.get(imports)
    if client is None or client.poll() is not None:
        log = tempfile.TemporaryFile(mode="w+")  # a file: a chatty stderr cannot block the pipe
        client = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, *imports],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        client.log = log
        _CLIENTS[imports] = client
        atexit.register(_close, client)
    client.stdin.write(json.dumps(code) + "\n")
    client.stdin.flush()
    ready = select.select([client.stdout], [], [], timeout)[0]
    line = client.stdout.readline() if ready else ""
    if not line:  # it died or hangs: the next call starts a fresh one
        client.kill()
        client.log.seek(0)
        raise AssertionError(f"the client gave no answer:\n{client.log.read()[-3000:]}")
    answer = json.loads(line)
    assert "error" not in answer, answer.get("error", "")[-3000:]
    return answer["result"]


def _close(client):
    client.stdin.close()
    client.wait(timeout=60)


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
