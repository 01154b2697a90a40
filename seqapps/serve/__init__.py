"""`seqapps serve`: zoo entries behind TensorFlow Serving's REST API, with a page to try them.

>>> from seqapps import serve
>>> serve.run(["sentiment-lstm", "pos-brown-lstm"], port=8501)  # doctest: +SKIP

`curl -d '{"instances": ["a gorgeous, witty, seductive movie."]}'
localhost:8501/v1/models/sentiment-lstm:predict` then answers as TensorFlow
Serving answers for `seqapps export sentiment-lstm ...`'s folder. Needs the
`serve` extra: `pip install seqapps[serve]` (FastAPI and uvicorn).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from seqapps.serve.limits import Limits


def create_app(models, **settings):
    """The ASGI application for `models`: names or `.keras` paths, or `{name: task model}`.

    `settings` are `seqapps.serve.app.create_app`'s (`limits`, `batching`,
    `batch_timeout_micros`).
    """
    from seqapps.serve.app import create_app as build

    return build(load_models(models), **settings)


def load_models(models) -> dict:
    """`{name: task model}` from names, `.keras` paths and folders holding `model.keras` (a
    preset is named after its file or folder)."""
    if isinstance(models, dict):
        return dict(models)
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    import seqapps
    from seqapps.zoo.registry import preset_file

    loaded = {}
    for model in models:
        path = os.fspath(model)
        name = path  # an entry's name; a file or folder is served by its own name
        if preset_file(path) is not None:
            name = os.path.basename(os.path.abspath(path)).removesuffix(".keras")
        if name in loaded:
            raise ValueError(f"two models would be served as {name!r}; rename one of the files")
        loaded[name] = seqapps.load(path)
    return loaded


def run(
    models: Sequence[str] | dict,
    host: str = "127.0.0.1",
    port: int = 8501,
    *,
    limits: Limits | None = None,
    batching: bool = True,
    batch_timeout_micros: int = 2000,
    warm: bool = True,
    log_level: str = "info",
) -> None:
    """Serves `models` until SIGINT or SIGTERM; in-flight requests are finished first.

    Binds to localhost unless `host` says otherwise (`"0.0.0.0"`: every
    interface). `warm` traces every signature before the first request.
    """
    from seqapps.serve.app import create_app as build

    app = build(
        load_models(models),
        limits=limits,
        batching=batching,
        batch_timeout_micros=batch_timeout_micros,
    )
    if warm:
        for servable in app.state.servables.values():
            for name in servable.signature_names:
                servable.signature(name)
    server(app, host, port, log_level=log_level).run()


def server(app, host: str = "127.0.0.1", port: int = 8501, *, log_level: str = "info"):
    """A `uvicorn.Server` for `app` (a `create_app` application), set up as `run` serves it.

    Its `run()` serves until SIGINT or SIGTERM (in the main thread); the app's
    `Busy` limit counts the server's open connections.
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # a line per request costs more than a small model's answer
        timeout_keep_alive=5,  # an idle connection is closed after 5 s
        timeout_graceful_shutdown=30,  # SIGTERM: in-flight requests get up to 30 s
        # No limit_concurrency: its 503 is plain text; the app's `Busy` answers JSON instead.
        h11_max_incomplete_event_size=64 * 1024,  # request line and headers
        server_header=False,
        proxy_headers=False,  # nothing stands between: the client's address is its own
    )
    built = uvicorn.Server(config)
    app.state.connections = built.server_state.connections
    return built
