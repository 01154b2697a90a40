"""What one request may ask of `seqapps serve`, and how many may come at once (no TensorFlow
here: the command line checks them)."""

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may ask.

    Args:
        max_batch_size: most rows (texts, images) per request, and per batched model call.
        max_length: most tokens a generating request may ask for (`max_length`).
        max_body_bytes: most bytes of a request body (larger: 413).
        max_text_chars: most characters of one text (a text, a prompt, a string option): a
            tagger pads every sentence of a call to the longest, so one long text costs
            every row of its batch.
        read_timeout: seconds a client may take to send its body (slower: 408).
        stream_timeout: seconds one streamed answer may run before it is ended.
        max_connections: most requests in flight and connections open at once; a request
            over it is answered 503 at once (`Busy`).
    """

    max_batch_size: int = 64
    max_length: int = 512
    max_body_bytes: int = 4 * 1024 * 1024
    max_text_chars: int = 20_000
    read_timeout: float = 10.0
    stream_timeout: float = 300.0
    max_connections: int = 1024

    def __post_init__(self):
        for name in (
            "max_batch_size",
            "max_length",
            "max_body_bytes",
            "max_text_chars",
            "max_connections",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("read_timeout", "stream_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


class Busy:
    """ASGI middleware: a request over `limit` requests in flight, or `limit` connections open,
    is answered `503 {"error": ...}` at once, as every other error of the server.

    It takes the place of uvicorn's own `limit_concurrency`, whose 503 is plain
    text. `connections` is the server's set of open connections
    (`uvicorn.Server.server_state.connections`), read when a request comes; the
    server sets it as `state.connections` (None: requests in flight only).
    """

    def __init__(self, app, limit: int, state):
        self.app = app
        self.limit = limit
        self.state = state
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        connections = getattr(self.state, "connections", None) or ()
        if self.in_flight >= self.limit or len(connections) > self.limit:
            message = (
                f"the server is busy: it serves at most {self.limit} requests and connections "
                f"at once (--max-connections); try again shortly"
            )
            body = json.dumps({"error": message}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"retry-after", b"1"),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            return await send({"type": "http.response.body", "body": body})
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
