"""`seqapps serve` through FastAPI's test client: TF Serving's request/response shapes, the verbs,
the stream, and a clear 4xx for every bad request (tiny untrained models, no zoo entry)."""

import asyncio
import base64
import json
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette's notice that httpx2 will replace httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import serve_models  # noqa: E402

from seqapps.serve import Limits, create_app  # noqa: E402

TEXTS = serve_models.TEXTS
LIMITS = Limits(
    max_batch_size=8, max_length=50, max_body_bytes=20_000, max_text_chars=1000, read_timeout=0.5
)


@pytest.fixture(scope="module")
def models():
    return {
        "clf": serve_models.classifier(),
        "tag": serve_models.tagger(),
        "gen": serve_models.generator(),
        "cap": serve_models.captioner(),
    }


@pytest.fixture(scope="module")
def client(models):
    with TestClient(create_app(models, limits=LIMITS)) as client:
        yield client


# -- TF Serving's shapes (https://www.tensorflow.org/tfx/serving/api_rest) -------------------


def test_status_is_tf_servings_model_version_status(client):
    expected = {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    assert client.get("/v1/models/clf").json() == expected
    assert client.get("/v1/models/clf/versions/1").json() == expected
    missing = client.get("/v1/models/clf/versions/2")
    assert missing.status_code == 404 and "clf" in missing.json()["error"]


def test_metadata_names_the_exports_signatures_inputs_and_outputs(client, models):
    answer = client.get("/v1/models/clf/metadata").json()
    assert answer["model_spec"] == {"name": "clf", "signature_name": "", "version": "1"}
    signatures = answer["metadata"]["signature_def"]["signature_def"]
    # Task.export writes the first endpoint as serving_default and under its own name.
    assert list(signatures) == ["serving_default", *models["clf"].serving_endpoints()]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["texts"]["dtype"] == "DT_STRING"
    assert default["inputs"]["texts"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    assert sorted(default["outputs"]) == ["label_ids", "labels", "probabilities"]
    assert default["outputs"]["probabilities"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in default["outputs"]["probabilities"]["tensor_shape"]["dim"]] == [
        "-1",
        "2",
    ]


def test_predict_row_format_answers_predictions_one_object_per_instance(client, models):
    response = client.post("/v1/models/clf:predict", json={"instances": TEXTS})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    expected = models["clf"].classify(TEXTS, all_scores=True)
    assert len(predictions) == len(TEXTS)
    for prediction, want in zip(predictions, expected):
        assert set(prediction) == {"labels", "label_ids", "probabilities"}
        assert prediction["labels"] == want["label"]
        assert prediction["label_ids"] == models["clf"].labels.index(want["label"])
        np.testing.assert_allclose(
            prediction["probabilities"], list(want["scores"].values()), atol=1e-5
        )


def test_predict_columnar_format_answers_outputs_by_name(client):
    rows = client.post("/v1/models/clf:predict", json={"instances": TEXTS}).json()["predictions"]
    for body in (
        {"inputs": {"texts": TEXTS}},
        {"inputs": TEXTS},
        {"signature_name": "classify", "inputs": TEXTS},
    ):
        outputs = client.post("/v1/models/clf:predict", json=body).json()["outputs"]
        assert outputs["labels"] == [row["labels"] for row in rows]
        np.testing.assert_allclose(
            outputs["probabilities"], [row["probabilities"] for row in rows], atol=1e-6
        )


def test_binary_strings_come_as_b64_objects(client):
    plain = client.post("/v1/models/clf:predict", json={"instances": ["a good movie"]}).json()
    encoded = {"b64": base64.b64encode(b"a good movie").decode()}
    assert client.post("/v1/models/clf:predict", json={"instances": [encoded]}).json() == plain
    named = client.post("/v1/models/clf:predict", json={"instances": [{"texts": encoded}]}).json()
    assert named == plain


def test_an_empty_batch_gets_an_empty_answer(client):
    assert client.post("/v1/models/clf:predict", json={"instances": []}).json() == {
        "predictions": []
    }


def test_tagger_rows_are_padded_within_the_request_as_the_export_pads_them(client):
    predictions = client.post(
        "/v1/models/tag:predict", json={"instances": ["the dog", "dog"]}
    ).json()["predictions"]
    assert [p["tokens"] for p in predictions] == [["the", "dog"], ["dog", ""]]
    assert [p["lengths"] for p in predictions] == [2, 1]
    assert predictions[1]["tags"][1] == ""


@pytest.mark.slow  # traces the generation loop: seconds
def test_a_scalar_signature_takes_the_columnar_format_and_its_one_output_is_unnamed(client, models):
    inputs = {
        "prompt": "ab",
        "num_chars": 6,
        "temperature": 0.0,
        "top_k": 0,
        "top_p": 1.0,
        "seed": 1,
    }
    answer = client.post("/v1/models/gen:predict", json={"inputs": inputs}).json()
    assert answer == {"outputs": models["gen"].generate("ab", max_length=6)}
    refused = client.post("/v1/models/gen:predict", json={"instances": [inputs]})
    assert refused.status_code == 400 and "columnar" in refused.json()["error"]


def test_one_output_is_written_without_its_name_and_bytes_outputs_as_b64():
    from seqapps.serve.rest import encode_outputs

    captions = {"captions": np.array([b"red square", b"blue circle"], dtype=object)}
    assert encode_outputs(captions, "row") == {"predictions": ["red square", "blue circle"]}
    assert encode_outputs(captions, "columnar") == {"outputs": ["red square", "blue circle"]}
    raw = {"image_bytes": np.array([b"\x89PNG"], dtype=object), "n": np.array([1])}
    assert encode_outputs(raw, "row") == {
        "predictions": [{"image_bytes": {"b64": "iVBORw=="}, "n": 1}]
    }
    scalar = {"text": np.array(b"abc", dtype=object)}
    assert encode_outputs(scalar, "columnar") == {"outputs": "abc"}


# -- the verbs ------------------------------------------------------------------------


def test_answer_runs_the_verb_as_the_json_command_line_prints_it(client, models):
    body = {"inputs": TEXTS[:2], "options": {"all_scores": True}}
    answer = client.post("/v1/models/clf:answer", json=body).json()
    assert answer == {
        "answers": json.loads(json.dumps(models["clf"].answer(TEXTS[:2], all_scores=True)))
    }
    tags = client.post("/v1/models/tag:answer", json={"inputs": ["the dog"]}).json()["answers"]
    assert tags == [
        {
            "text": "the dog",
            **{k: v for k, v in models["tag"].answer(["the dog"])[0].items() if k != "text"},
        }
    ]


def test_stream_sends_the_pieces_as_server_sent_events(client, models):
    body = {"options": {"prompt": "ab", "max_length": 7}}
    with client.stream("POST", "/v1/models/gen:stream", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [e for e in response.read().decode().split("\n\n") if e]
    pieces = [json.loads(e[len("data: ") :])["piece"] for e in events[:-1]]
    assert events[-1] == "event: end\ndata: {}"
    assert len(pieces) == 7 and "".join(pieces) == models["gen"].generate("ab", max_length=7)


def test_the_page_lists_every_model_with_its_verb_and_options(client):
    page = client.get("/")
    assert page.status_code == 200 and "page.js" in page.text
    assert client.get("/static/page.js").headers["content-type"].startswith("text/javascript")
    described = {m["name"]: m for m in client.get("/seqapps/models").json()["models"]}
    assert {name: m["verb"] for name, m in described.items()} == {
        "clf": "classify",
        "tag": "tag",
        "gen": "generate",
        "cap": "caption",
    }
    assert described["gen"]["stream"] and not described["clf"]["stream"]
    assert "max_length" in [o["keyword"] for o in described["gen"]["options"]]


# -- the pictures: attention and probabilities, asked through the interface -----------------


def events_of(client, path, body):
    with client.stream("POST", path, json=body) as response:
        events = [e for e in response.read().decode().split("\n\n") if e]
    assert events[-1] == "event: end\ndata: {}"
    return [json.loads(e[len("data: ") :]) for e in events[:-1]]


def test_the_page_is_told_which_options_ask_for_pictures(client):
    described = {m["name"]: m for m in client.get("/seqapps/models").json()["models"]}
    drawn = {
        name: [o["keyword"] for o in m["options"] if o["drawn"]] for name, m in described.items()
    }
    assert drawn == {"clf": [], "tag": [], "gen": ["probabilities"], "cap": ["return_attention"]}


def test_a_caption_answers_its_attention_over_the_image_cells(client, models):
    image = serve_models.png((30, 30, 200))
    body = {"inputs": [{"b64": base64.b64encode(image).decode()}], "options": {"max_length": 3}}
    body["options"]["return_attention"] = True
    (answer,) = client.post("/v1/models/cap:answer", json=body).json()["answers"]
    caption, attention = models["cap"].caption(image, max_length=3, return_attention=True)
    assert answer["caption"] == caption
    assert answer["attention"]["pieces"] == attention["pieces"]
    weights = np.array(answer["attention"]["weights"])
    assert weights.shape == attention["weights"].shape  # [pieces, height, width]
    np.testing.assert_allclose(weights, attention["weights"], atol=1e-4)
    np.testing.assert_allclose(weights.sum(axis=(1, 2)), 1.0, atol=1e-3)  # each piece's looks
    plain = client.post("/v1/models/cap:answer", json={**body, "options": {"max_length": 3}})
    assert "attention" not in plain.json()["answers"][0]


def test_a_model_without_attention_does_not_offer_it(tmp_path, capsys):
    from seqapps.cli import main
    from seqapps.tasks import ImageCaptioner
    from seqapps.text import train_subword_model

    captioner = ImageCaptioner(
        train_subword_model(["red square", "blue circle"] * 10, 20),
        image_size=(16, 16),
        conditioning="init",
        units=4,
        embedding_dim=4,
    )
    with TestClient(create_app({"init": captioner}, limits=LIMITS)) as client:
        (described,) = client.get("/seqapps/models").json()["models"]
        assert "return_attention" not in [o["keyword"] for o in described["options"]]
        body = {"inputs": [{"b64": base64.b64encode(serve_models.png()).decode()}]}
        refused = client.post(
            "/v1/models/init:answer", json={**body, "options": {"return_attention": True}}
        )
    assert refused.status_code == 400 and "unknown option(s) ['return_attention']" in refused.text
    # The command line, whose --attention every captioner has, refuses it for this one.
    (tmp_path / "red.png").write_bytes(serve_models.png())
    preset = captioner.save_preset(tmp_path / "init.keras")
    assert main(["caption", str(preset), str(tmp_path / "red.png"), "--attention", "--json"]) == 2
    assert "does not take --attention" in capsys.readouterr().err


def test_generation_answers_and_streams_the_probability_of_each_character(client, models):
    options = {"prompt": "ab", "max_length": 9, "temperature": 1.0, "seed": 5}
    answer = client.post(
        "/v1/models/gen:answer", json={"options": {**options, "probabilities": True}}
    )
    (answer,) = answer.json()["answers"]
    assert answer["text"] == models["gen"].generate(**options)
    events = events_of(
        client, "/v1/models/gen:stream", {"options": {**options, "probabilities": True}}
    )
    assert "".join(e["piece"] for e in events) == answer["text"]
    assert [e["probability"] for e in events] == answer["probabilities"]
    # Each is the model's own probability of that character, read back in one call.
    model = models["gen"]
    ids = np.array([[model.start_id, *model.token_ids("ab" + answer["text"])]])
    logits, _ = model.read(ids[:, :-1], model.zero_state())
    chances = np.take_along_axis(
        tf_softmax(logits[0, 2:].numpy(), model), ids[0, 3:, None], axis=1
    )[:, 0]
    np.testing.assert_allclose(answer["probabilities"], chances, atol=2e-4)
    plain = events_of(client, "/v1/models/gen:stream", {"options": options})
    assert all(set(e) == {"piece"} for e in plain)


def tf_softmax(logits, model):
    """Softmax over the tokens the model may write (the others are never drawn)."""
    logits = logits.astype("float64")
    logits[:, list(model.output_tokenizer.never_written_ids)] = -np.inf
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


# -- every bad request: a clear 4xx, never a 500 -------------------------------------------

DAMAGED_PNG = b'{"instances": [{"b64": "%s"}]}' % base64.b64encode(serve_models.png()[:60])
BAD = [
    ("/v1/models/clf:predict", b"{", 400, "malformed JSON"),
    ("/v1/models/clf:predict", b"\xff\xfe", 400, "malformed JSON"),
    ("/v1/models/clf:predict", b"[" * 10_000 + b"]" * 10_000, 400, "malformed JSON"),
    ("/v1/models/clf:predict", b'["a"]', 400, "JSON object"),
    ("/v1/models/clf:predict", b"{}", 400, "'instances'"),
    ("/v1/models/clf:predict", b'{"instances": ["a"], "inputs": ["a"]}', 400, "not both"),
    ("/v1/models/clf:predict", b'{"instance": ["a"]}', 400, "unknown request field"),
    ("/v1/models/clf:predict", b'{"instances": "a"}', 400, "must be a list"),
    ("/v1/models/clf:predict", b'{"instances": [1]}', 400, "must hold strings"),
    ("/v1/models/clf:predict", b'{"instances": [["a"]]}', 400, "rank"),
    ("/v1/models/clf:predict", b'{"inputs": {"text": ["a"]}}', 400, "['texts']"),
    ("/v1/models/clf:predict", b'{"instances": [{"b64": "%%%"}]}', 400, "base64"),
    # An image that does not decode, and a file path where the image's bytes belong.
    ("/v1/models/cap:predict", b'{"instances": [{"b64": "aGVsbG8="}]}', 400, "holds no image"),
    ("/v1/models/cap:predict", b'{"instances": ["photos/red.png"]}', 400, "send the bytes of a"),
    # A PNG cut short: TensorFlow's own reason, not its "Graph execution error:".
    ("/v1/models/cap:predict", DAMAGED_PNG, 400, "Invalid PNG"),
    (
        "/v1/models/clf:predict",
        b'{"instances": ["a","a","a","a","a","a","a","a","a"]}',
        400,
        "at most 8",
    ),
    ("/v1/models/clf:predict", b'{"signature_name": 3, "instances": ["a"]}', 400, "signature_name"),
    (
        "/v1/models/clf:predict",
        b'{"signature_name": "nope", "instances": ["a"]}',
        404,
        "no signature 'nope'",
    ),
    ("/v1/models/nope:predict", b'{"instances": ["a"]}', 404, "Servable not found"),
    ("/v1/models/clf/versions/7:predict", b'{"instances": ["a"]}', 404, "Servable not found"),
    ("/v1/models/clf:classify", b'{"examples": []}', 404, ":predict"),
    ("/v1/models/clf", b"{}", 404, "no such resource"),
    ("/v1/models/clf:predict", b'{"inputs": [[["a"]], ["b"]]}', 400, "ragged"),
    ("/v1/models/clf:answer", b'{"inputs": [3]}', 400, "must be a string"),
    ("/v1/models/tag:predict", b'{"instances": ["' + b"a " * 501 + b'"]}', 400, "at most 1,000"),
    ("/v1/models/tag:answer", b'{"inputs": ["' + b"a " * 501 + b'"]}', 400, "at most 1,000"),
    ("/v1/models/gen:answer", b'{"options": {"prompt": "' + b"a" * 1001 + b'"}}', 400, "1,000"),
    ("/v1/models/clf:answer", b'{"inputs": []}', 400, "non-empty list"),
    ("/v1/models/clf:answer", b'{"inputs": ["a"], "options": {"beam": 2}}', 400, "unknown option"),
    (
        "/v1/models/clf:answer",
        b'{"inputs": ["a"], "options": {"all_scores": "yes"}}',
        400,
        "true or false",
    ),
    ("/v1/models/gen:answer", b'{"options": {"max_length": 51}}', 400, "limit of 50"),
    ("/v1/models/gen:answer", b'{"options": {"temperature": -1}}', 400, "temperature"),
    ("/v1/models/gen:answer", b'{"options": {"top_k": 0}}', 400, "positive integer"),
    ("/v1/models/gen:answer", b'{"inputs": ["a"]}', 400, "takes no inputs"),
    ("/v1/models/gen:stream", b'{"options": {"seed": "x"}}', 400, "integer"),
    ("/v1/models/clf:stream", b'{"inputs": ["a"]}', 404, "does not stream"),
    ("/v1/models/cap:answer", b'{"inputs": ["/etc/passwd"]}', 400, "reads no files"),
    ("/v1/models/cap:answer", b'{"inputs": [{"path": "/etc/passwd"}]}', 400, "reads no files"),
    ("/v1/models/clf:predict", b'{"instances": ["' + b"a" * 30_000 + b'"]}', 413, "at most 20,000"),
]


# The generation signature is traced before its inputs are read: seconds, so left to `-m slow`.
TRACING = {"marks": pytest.mark.slow}
BAD += [
    pytest.param("/v1/models/gen:predict", b'{"inputs": {"prompt": "a"}}', 400, "lacks", **TRACING),
    pytest.param(
        "/v1/models/gen:predict",
        b'{"inputs": {"prompt": "a", "num_chars": 51, "temperature": 0, "top_k": 0, "top_p": 1, '
        b'"seed": 1}}',
        400,
        "limit of 50",
        **TRACING,
    ),
    pytest.param(
        "/v1/models/gen:predict",
        b'{"inputs": {"prompt": "a", "num_chars": 1.5, "temperature": 0, "top_k": 0, "top_p": 1, '
        b'"seed": 1}}',
        400,
        "integers",
        **TRACING,
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"), BAD, ids=[f"{i}" for i in range(len(BAD))]
)
def test_a_bad_request_gets_a_clear_4xx_with_an_error_object(client, path, body, status, message):
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert message in error and "Traceback" not in error


def test_unknown_paths_and_methods_answer_json_errors(client):
    assert client.get("/nowhere").json()["error"].startswith("no such resource: /nowhere")
    wrong = client.put("/v1/models/clf:predict", content=b"{}")
    assert wrong.status_code == 405 and "PUT" in wrong.json()["error"]
    assert client.get("/static/../../setup.cfg").status_code == 404


def test_a_client_that_sends_its_body_too_slowly_gets_408(models):
    app = create_app({"clf": models["clf"]}, limits=LIMITS)
    sent = []

    async def receive():
        if not sent:
            sent.append(None)
            return {"type": "http.request", "body": b'{"instances"', "more_body": True}
        await asyncio.sleep(30)  # the rest never comes

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/models/clf:predict",
        "raw_path": b"/v1/models/clf:predict",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8501),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    assert sent[1]["status"] == 408
    assert "took over 0.5 s" in json.loads(sent[2]["body"])["error"]


def test_the_command_refuses_an_unknown_model_before_tensorflow_is_imported():
    import subprocess
    import sys

    code = (
        "import sys; from seqapps.cli import main; rc = main(['serve', 'sentiment-lstn']); "
        "print('tensorflow' in sys.modules, file=sys.stderr); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unknown model 'sentiment-lstn'" in done.stderr
    assert done.stderr.rstrip().endswith("False")


def test_the_command_refuses_bad_arguments_before_loading_anything(capsys):
    from seqapps.cli import main

    assert main(["serve", "sentiment-lstn"]) == 2
    assert "did you mean 'sentiment-lstm'" in capsys.readouterr().err
    assert main(["serve", "sentiment-lstm", "--port", "70000"]) == 2
    assert "port number" in capsys.readouterr().err
    assert main(["serve", "caption-emoji-gru", "--port", "70000"]) == 2  # an image entry too
    assert "port number" in capsys.readouterr().err
    assert main(["serve", "sentiment-lstm", "sentiment-lstm"]) == 2
    assert "named twice" in capsys.readouterr().err


def test_a_busy_server_answers_503_with_a_json_error(models):
    import http.client
    import socket
    import threading
    import time

    from seqapps.serve import server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limits = Limits(max_connections=1)
    running = server(
        create_app({"clf": models["clf"]}, limits=limits), port=port, log_level="error"
    )
    thread = threading.Thread(target=running.run, daemon=True)  # no signal handlers off main
    thread.start()
    deadline = time.time() + 30
    while not running.started and time.time() < deadline:
        time.sleep(0.05)

    def status():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/v1/models/clf")
        response = connection.getresponse()
        answer = (response.status, response.getheader("content-type"), response.read())
        connection.close()
        return answer

    try:
        assert status()[0] == 200
        with socket.create_connection(("127.0.0.1", port)):  # another client holds a connection
            time.sleep(0.2)
            code, kind, body = status()
        assert code == 503 and kind == "application/json"
        assert "busy" in json.loads(body)["error"] and "--max-connections" in body.decode()
        time.sleep(0.2)
        assert status()[0] == 200  # once it has gone
    finally:
        running.should_exit = True
        thread.join(timeout=30)
