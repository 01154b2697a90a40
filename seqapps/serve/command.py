"""The `seqapps serve` command's arguments, checked before TensorFlow is imported."""

from __future__ import annotations

import argparse
import importlib.util

from seqapps.serve.limits import Limits

# The request limits the command line sets (`--max-batch-size` ...), each a positive integer
# whose default is Limits' own.
LIMIT_HELP = {
    "max_batch_size": "most rows per request and per batched model call",
    "max_length": "most tokens a generating request may ask for",
    "max_text_chars": "most characters of one text or prompt",
    "max_body_bytes": "largest request body; larger ones get 413",
    "max_connections": "most requests in flight and connections open at once; more get 503",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument(
        "names", nargs="+", help="entries or presets (.keras, or folders holding one) to serve"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0: every "
        "interface, so anyone who reaches the machine can use the models)",
    )
    parser.add_argument("--port", type=_port, default=8501, help="TCP port (default: 8501)")
    for name, text in LIMIT_HELP.items():
        default = getattr(defaults, name)
        flag = "--" + name.replace("_", "-")
        parser.add_argument(
            flag, type=_positive, default=default, help=f"{text} (default: {default})"
        )
    parser.add_argument(
        "--batch-timeout-micros",
        type=_natural,
        default=2000,
        help="how long a request waits for others to share its model call (default: 2000)",
    )
    parser.add_argument("--no-batching", action="store_true", help="answer requests one at a time")


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

    limits = Limits(**{name: getattr(args, name) for name in LIMIT_HELP})
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
