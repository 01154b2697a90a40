"""The HTTP application: TensorFlow Serving's REST API, the verbs, their streams and the page.

Routes:

- `GET /v1/models/NAME[/versions/1]`: the model's status; `.../metadata`: its signatures.
- `POST /v1/models/NAME[/versions/1]:predict`: TF Serving's predict, row or columnar.
- `POST /v1/models/NAME:answer`: the task's verb on `{"inputs": [...], "options": {...}}`,
  answered `{"answers": [...]}` as `seqapps VERB --json` prints them (an empty text is
  answered, as in Python, where the command line leaves a blank line blank).
- `POST /v1/models/NAME:stream`: the answer of a generating verb as server-sent events.
- `GET /seqapps/models`: the models, verbs and options, for the page at `/`.

Every error is `{"error": "..."}` with a 4xx status, 503 when busy (`Busy`), or 500 without a
traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.exceptions import HTTPException

from seqapps.serve.batching import Batcher
from seqapps.serve.limits import Busy, Limits
from seqapps.serve.rest import RequestError, encode_outputs, parse_predict, signature_json
from seqapps.serve.servable import Servable

log = logging.getLogger("seqapps.serve")

_TARGET = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?::(?P<method>\w+))?$")
#: Every model has one version: TF Serving's clients may name it.
VERSION = "1"
_STATIC = ("index.html", "page.js", "page.css")
_ROUTES = (
    "this server answers GET /v1/models/NAME[/metadata], POST /v1/models/NAME:predict, "
    ":answer and :stream, and shows its models at /"
)


def create_app(
    models: dict,
    *,
    limits: Limits | None = None,
    batching: bool = True,
    batch_timeout_micros: int = 2000,
):
    """The FastAPI application serving `models` (`{name: seqapps task model}`).

    Args:
        limits: what one request may ask (`Limits`).
        batching: group concurrent requests into one model call (`Batcher`);
            False answers them one at a time.
        batch_timeout_micros: how long a request waits for others to join its batch.
    """
    limits = limits or Limits()
    servables = {name: Servable(name, model, limits) for name, model in models.items()}
    batchers: dict[str, Batcher] = {}

    def batcher(servable: Servable, kind: str, run) -> Batcher:
        key = f"{servable.name}:{kind}"
        if key not in batchers:
            batchers[key] = Batcher(
                run,
                servable.worker,
                max_batch_size=limits.max_batch_size if batching else 1,
                batch_timeout_micros=batch_timeout_micros if batching else 0,
            )
        return batchers[key]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        for each in batchers.values():
            await each.close()
        for servable in servables.values():
            servable.worker.shutdown(wait=True)

    app = FastAPI(title="seqapps serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.lifespan_context = lifespan
    app.state.servables = servables
    app.add_middleware(Busy, limit=limits.max_connections, state=app.state)

    def route(path: str, method: str):
        def add(endpoint):
            app.add_route(path, endpoint, methods=[method])
            return endpoint

        return add

    def error(status: int, message: str):
        return _json({"error": message}, status)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        if exc.status_code == 404:
            return error(404, f"no such resource: {request.url.path}; {_ROUTES}")
        return error(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}")

    def servable_of(name: str, version: str | None) -> Servable:
        if name not in servables:
            raise RequestError(
                f"Servable not found for request: Latest({name}); this server has "
                f"{sorted(servables)}",
                status=404,
            )
        if version not in (None, VERSION):
            raise RequestError(
                f"Servable not found for request: Specific({name}, {version}); "
                f"the one version is {VERSION}",
                status=404,
            )
        return servables[name]

    async def in_worker(servable: Servable, function, *args):
        return await asyncio.get_running_loop().run_in_executor(servable.worker, function, *args)

    def guarded(handler):
        """Answers a `RequestError` with its status and anything else with a 500, no traceback."""

        async def run(request: Request):
            try:
                return await handler(request, request.path_params["target"])
            except RequestError as refused:
                return error(refused.status, str(refused))
            except (ValueError, TypeError) as refused:  # the model refused an input or option
                return error(400, str(refused))
            except Exception as failed:  # noqa: BLE001 (a server answers, whatever happened)
                if type(failed).__name__ == "InvalidArgumentError":
                    return error(400, _op_reason(getattr(failed, "message", str(failed))))
                log.exception("request to %s failed", request.url.path)
                return error(500, f"internal error ({type(failed).__name__}); see the server log")

        return run

    async def read_json(request: Request):
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limits.max_body_bytes:
            raise RequestError(_too_large(int(length), limits), status=413)
        chunks, size = [], 0

        async def read():
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise RequestError(_too_large(size, limits), status=413)
                chunks.append(chunk)

        try:
            await asyncio.wait_for(read(), limits.read_timeout)
        except asyncio.TimeoutError:
            raise RequestError(
                f"the request body took over {limits.read_timeout:g} s to arrive", status=408
            ) from None
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, RecursionError) as bad:
            raise RequestError(f"malformed JSON: {bad}") from None

    # -- TF Serving's API ----------------------------------------------------------

    # Plain Starlette routes: FastAPI's per-request parameter solving costs more than a
    # small model's answer, and these handlers read the request themselves.
    @route("/v1/models/{target:path}", "GET")
    @guarded
    async def model_get(request: Request, target: str):
        metadata = target.endswith("/metadata")
        found = _TARGET.match(target[: -len("/metadata")] if metadata else target)
        if not found or found["method"]:
            raise RequestError(f"no such resource: {request.url.path}; {_ROUTES}", status=404)
        servable = servable_of(found["name"], found["version"])
        if not metadata:
            status = {"error_code": "OK", "error_message": ""}
            versions = [{"version": VERSION, "state": "AVAILABLE", "status": status}]
            return _json({"model_version_status": versions})
        signatures = {}
        for name in servable.signature_names:
            signature = await in_worker(servable, servable.signature, name)
            signatures[name] = signature_json(name, signature.inputs, signature.outputs)
        return _json(
            {
                "model_spec": {"name": servable.name, "signature_name": "", "version": VERSION},
                "metadata": {"signature_def": {"signature_def": signatures}},
            }
        )

    @route("/v1/models/{target:path}", "POST")
    @guarded
    async def model_post(request: Request, target: str):
        found = _TARGET.match(target)
        if not found or not found["method"]:
            raise RequestError(f"no such resource: {request.url.path}; {_ROUTES}", status=404)
        servable = servable_of(found["name"], found["version"])
        methods = {"predict": predict, "answer": answer, "stream": stream}
        if found["method"] not in methods:
            raise RequestError(
                f"this server has no method :{found['method']}; it answers :predict (TF Serving's), "
                f":answer and :stream",
                status=404,
            )
        return await methods[found["method"]](servable, await read_json(request))

    async def predict(servable: Servable, body):
        name = body.get("signature_name") if isinstance(body, dict) else None
        if name is not None and not isinstance(name, str):
            raise RequestError(f"'signature_name' must be a string, got {type(name).__name__}")
        signature = servable.traced(name) or await in_worker(servable, servable.signature, name)
        arrays, form = parse_predict(body, signature.inputs, limits.max_batch_size)
        servable.check_lengths(arrays)
        if not signature.batched:
            (outputs,) = await in_worker(servable, servable.predict, signature, [arrays])
        else:
            rows = len(next(iter(arrays.values())))
            # Only requests of the same signature and inner shapes share a call.
            key = (name or "serving_default", *(a.shape[1:] for a in arrays.values()))
            run = lambda key, payloads: servable.predict(servable.signature(key[0]), payloads)  # noqa: E731
            outputs = await batcher(servable, "predict", run).submit(key, arrays, max(rows, 1))
        return _json(encode_outputs(outputs, form))

    async def answer(servable: Servable, body):
        inputs, options = servable.request_of(body)
        key = json.dumps(options, sort_keys=True)
        if servable.interface.inputs is None:  # the options are the whole input: nothing to batch
            (answers,) = await in_worker(servable, servable.answer, key, [inputs])
        else:
            answers = await batcher(servable, "answer", servable.answer).submit(
                key, inputs, len(inputs)
            )
        return _json({"answers": answers})

    async def stream(servable: Servable, body):
        if not servable.streams:
            raise RequestError(
                f"{servable.interface.verb} does not stream; POST to /v1/models/"
                f"{servable.name}:answer",
                status=404,
            )
        inputs, options = servable.request_of(body, stream=True)
        pieces = await in_worker(servable, servable.start_stream, inputs, options)
        first = await in_worker(servable, next, pieces, None)  # errors before any event: a 4xx
        return StreamingResponse(
            _events(servable, pieces, first, limits.stream_timeout),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # -- the page ------------------------------------------------------------------

    @route("/seqapps/models", "GET")
    async def described(request: Request):
        return _json({"models": [servable.describe() for servable in servables.values()]})

    @route("/", "GET")
    async def page(request: Request):
        return _static("index.html")

    @route("/static/{file}", "GET")
    async def static(request: Request):
        return _static(request.path_params["file"])

    def _static(file: str):
        if file not in _STATIC:
            return error(404, f"no such file: {file}")
        types = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
        data = resources.files("seqapps.serve").joinpath("static", file).read_bytes()
        media = types[file.rsplit(".", 1)[1]] + "; charset=utf-8"
        return Response(data, media_type=media)

    return app


async def _events(servable: Servable, pieces, first, timeout: float):
    """Server-sent events: `data: {"piece": ...}` per piece, then `event: end`.

    A piece is the stream's string, or its dict as it is (e.g. `{"piece": "a",
    "probability": 0.42}` for a generation asked for its probabilities).

    Each piece is made in the worker on its own, so a stream shares the worker with
    other requests; a client that goes away cancels this generator and the pieces stop.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    piece = first
    try:
        while piece is not None:
            data = piece if isinstance(piece, dict) else {"piece": piece}
            yield f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
            if loop.time() > deadline:
                yield _event("error", {"error": f"the stream ran over {timeout:g} s and was ended"})
                return
            piece = await loop.run_in_executor(servable.worker, next, pieces, None)
        yield _event("end", {})
    except (ValueError, TypeError) as refused:
        yield _event("error", {"error": str(refused)})
    except Exception as failed:  # noqa: BLE001
        log.exception("stream of %s failed", servable.name)
        yield _event("error", {"error": f"internal error ({type(failed).__name__})"})


def _json(content, status: int = 200) -> Response:
    """JSON as TF Serving writes it: NaN and Infinity allowed, UTF-8 as it is."""
    body = json.dumps(content, ensure_ascii=False, allow_nan=True)
    return Response(body, status_code=status, media_type="application/json")


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _too_large(size: int, limits: Limits) -> str:
    return (
        f"the request body has over {size:,} bytes; this server takes at most "
        f"{limits.max_body_bytes:,} (--max-body-bytes)"
    )


def _op_reason(message: str) -> str:
    """The reason in a TensorFlow op error: a traced function's message opens with "Graph
    execution error:" and the traceback of the op, and ends with the op's own words."""
    lines = [line for line in message.splitlines() if line.strip()]
    reasons = [line for line in lines if not line[0].isspace() and "{{node" not in line]
    return reasons[-1] if reasons else "invalid argument"
