"""The `seqapps serve` command's arguments, checked before TensorFlow is imported."""

from __future__ import annotations

import argparse
import importlib.util

from seqapps.serve.limits import Limits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument("names", nargs="+", help="entries or .keras presets to serve")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0: every "
        "interface, so anyone who reaches the machine can use the models)",
    )
    parser.add_argument("--port", type=_port, default=8501, help="TCP port (default: 8501)")
    parser.add_argument(
        "--max-batch-size",
        type=_positive,
        default=defaults.max_batch_size,
        help=f"most rows per request and per batched model call (default: {defaults.max_batch_size})",
    )
    parser.add_argument(
        "--batch-timeout-micros",
        type=_natural,
        default=2000,
        help="how long a request waits for others to share its model call (default: 2000)",
    )
    parser.add_argument("--no-batching", action="store_true", help="answer requests one at a time")
    parser.add_argument(
        "--max-length",
        type=_positive,
        default=defaults.max_length,
        help=f"most tokens a generating request may ask for (default: {defaults.max_length})",
    )
    parser.add_argument(
        "--max-text-chars",
        type=_positive,
        default=defaults.max_text_chars,
        help=f"most characters of one text or prompt (default: {defaults.max_text_chars})",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive,
        default=defaults.max_connections,
        help="most requests in flight and connections open at once; more get 503 "
        f"(default: {defaults.max_connections})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive,
        default=defaults.max_body_bytes,
        help=f"largest request body; larger ones get 413 (default: {defaults.max_body_bytes})",
    )


def problem(args: argparse.Namespace) -> str | None:
    """What keeps the command from running, found before any model loads; None: nothing."""
    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        return f"serving needs {' and '.join(missing)}: pip install 'seqapps[serve]'"
    if len(set(args.names)) != len(args.names):
        return f"a model is named twice in {args.names}"
    return None


def run(args: argparse.Namespace) -> None:
    from seqapps.serve import run as serve

    limits = Limits(
        max_batch_size=args.max_batch_size,
        max_length=args.max_length,
        max_body_bytes=args.max_body_bytes,
        max_text_chars=args.max_text_chars,
        max_connections=args.max_connections,
    )
    serve(
        args.names,
        host=args.host,
        port=args.port,
        limits=limits,
        batching=not args.no_batching,
        batch_timeout_micros=args.batch_timeout_micros,
    )


def _port(value: str) -> int:
    number = int(value) if value.isdigit() else -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in 0..65535, got {value!r}")
    return number


def _positive(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return number


def _natural(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value!r}")
    return int(value)
