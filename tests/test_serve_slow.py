"""`seqapps serve` against its own export and as a real process (`-m slow`: tracing, exports and
a server started in another Python take tens of seconds)."""

import base64
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import serve_models
import tensorflow as tf

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from seqapps.serve import Limits, create_app  # noqa: E402
from seqapps.serve.rest import DATA_TYPES  # noqa: E402

pytestmark = pytest.mark.slow


def predict_inputs(name):
    """Per model: a request body and the same inputs as tensors for the SavedModel."""
    if name == "clf" or name == "tag":
        return {"instances": serve_models.TEXTS}, {"texts": tf.constant(serve_models.TEXTS)}
    if name == "cap":
        images = [serve_models.png((200, 30, 30)), serve_models.png((30, 30, 200))]
        body = {"instances": [{"b64": base64.b64encode(i).decode()} for i in images]}
        return body, {"images": tf.constant(images)}
    inputs = {
        "prompt": "ab",
        "num_chars": 5,
        "temperature": 0.0,
        "top_k": 0,
        "top_p": 1.0,
        "seed": 3,
    }
    kinds = {"prompt": tf.string, "num_chars": tf.int32, "top_k": tf.int32, "seed": tf.int64}
    tensors = {k: tf.constant(v, kinds.get(k, tf.float32)) for k, v in inputs.items()}
    return {"inputs": inputs}, tensors


def described(tensors):
    return {
        key: (
            info["dtype"],
            [None if int(d["size"]) < 0 else int(d["size"]) for d in info["tensor_shape"]["dim"]],
        )
        for key, info in tensors.items()
    }


@pytest.mark.parametrize("name", ["clf", "tag", "gen", "cap"])
def test_a_client_sees_the_same_signatures_and_answers_as_from_the_savedmodel(name, tmp_path):
    """What TF Serving would serve from `seqapps export`'s folder: the same signature, input and
    output names, dtypes and shapes in the metadata, the same answer to the same request."""
    model = getattr(
        serve_models,
        {"clf": "classifier", "tag": "tagger", "gen": "generator", "cap": "captioner"}[name],
    )()
    loaded = tf.saved_model.load(str(model.export(tmp_path / "export")))
    with TestClient(create_app({name: model})) as client:
        served = client.get(f"/v1/models/{name}/metadata").json()["metadata"]["signature_def"][
            "signature_def"
        ]
        assert sorted(served) == sorted(loaded.signatures)
        for signature, function in loaded.signatures.items():
            exported = {
                key: (DATA_TYPES[spec.dtype.name], spec.shape.as_list())
                for key, spec in function.structured_input_signature[1].items()
            }
            assert exported == described(served[signature]["inputs"])
            outputs = function.structured_outputs
            exported = {
                key: (DATA_TYPES[t.dtype.name], t.shape.as_list()) for key, t in outputs.items()
            }
            assert exported == described(served[signature]["outputs"])
        body, tensors = predict_inputs(name)
        answer = client.post(f"/v1/models/{name}:predict", json=body).json()
    expected = {k: v.numpy() for k, v in loaded.signatures["serving_default"](**tensors).items()}
    if "predictions" in answer:
        rows = answer["predictions"]
        rows = [r if isinstance(r, dict) else {next(iter(expected)): r} for r in rows]
        got = {k: [r[k] for r in rows] for k in expected}
    else:
        outputs = answer["outputs"]
        got = outputs if isinstance(outputs, dict) else {next(iter(expected)): outputs}
    for key, want in expected.items():
        want = np.asarray(want)
        if want.dtype.kind in "OS":
            want = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(want)
            assert np.asarray(got[key], dtype=object).tolist() == want.tolist(), key
        else:
            np.testing.assert_allclose(np.asarray(got[key]), want, atol=1e-5, err_msg=key)


def test_a_bad_image_in_a_batch_fails_only_its_own_request():
    model = serve_models.captioner()
    app = create_app({"cap": model}, limits=Limits(), batch_timeout_micros=300_000)
    calls = []
    servable = app.state.servables["cap"]
    predict = servable.predict
    servable.predict = lambda s, p: calls.append(len(p)) or predict(s, p)
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    # A PNG cut short passes the check before batching and fails inside the batched call.
    images = [serve_models.png(c) for c in colours] + [serve_models.png()[:60]]
    bodies = [{"instances": [{"b64": base64.b64encode(i).decode()}]} for i in images]
    with TestClient(app) as client:

        def ask(body):
            return client.post("/v1/models/cap:predict", json=body)

        alone = [ask(body).json() for body in bodies[:3]]
        calls.clear()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            together = list(pool.map(ask, bodies))
        still = ask(bodies[0]).json()
    assert (
        [r.json() for r in together[:3]]
        == alone
        == [{"predictions": [c]} for c in model.caption(images[:3])]
    )
    assert together[3].status_code == 400 and "error" in together[3].json()
    assert calls[:5] == [4, 1, 1, 1, 1]  # the batch, then each request alone
    assert still == alone[0]


# -- a real server process -------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(port, method, path, body=None, timeout=60):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request(method, path, body=None if body is None else json.dumps(body))
    response = connection.getresponse()
    return response.status, response.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    preset = serve_models.generator().save_preset(tmp_path_factory.mktemp("serve") / "gen.keras")
    port = free_port()
    log = tmp_path_factory.mktemp("log") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "seqapps.cli", "serve", str(preset), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if http(port, "GET", "/v1/models/gen", timeout=2)[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
    yield process, port, log
    if process.poll() is None:
        process.kill()


def stream_events(port, options, on_first=None, close_after=None):
    """The events of a `:stream` request, read line by line from a raw socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        body = json.dumps({"options": options}).encode()
        connection.sendall(
            b"POST /v1/models/gen:stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        reader = connection.makefile("rb")
        events = []
        for line in reader:
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
                if len(events) == 1 and on_first:
                    on_first()
                if close_after and len(events) >= close_after:
                    return events
        return events


def test_a_client_leaving_mid_stream_does_not_disturb_the_server(server):
    process, port, log = server
    assert len(stream_events(port, {"prompt": "ab", "max_length": 400}, close_after=3)) == 3
    status, body = http(
        port, "POST", "/v1/models/gen:answer", {"options": {"prompt": "a", "max_length": 4}}
    )
    assert status == 200 and len(json.loads(body)["answers"][0]["text"]) == 4
    assert "Traceback" not in log.read_text()


def test_sigterm_finishes_the_request_in_flight_then_exits(server):
    process, port, log = server
    events = stream_events(
        port,
        {"prompt": "ab", "max_length": 300},
        on_first=lambda: process.send_signal(signal.SIGTERM),
    )
    assert len(events) == 301 and events[-1] == {}  # every piece, then the end event
    # uvicorn shuts down, then raises the signal again: the exit status says SIGTERM ended it.
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert "Finished server process" in log.read_text()
    with pytest.raises(OSError):
        http(port, "GET", "/v1/models/gen", timeout=2)
    assert "Traceback" not in log.read_text()
