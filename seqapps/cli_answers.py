"""The verb commands' inputs and answers: lines in, one answer line per input line, batch by batch.

`seqapps.cli` checks the command line and loads the model; this module reads
the inputs (arguments, `--file` or stdin, as they come), sends them to the
model a batch at a time and writes the answers after every batch. When a batch
fails on one input (an image that does not decode), the inputs before it are
still answered, and the error names the argument or line that failed.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
from collections.abc import Iterator


def read_inputs(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """`(where, input)` pairs: the arguments, else the lines of --file or stdin, read as they
    come; `where` names the input in errors ("argument 2", "photos.txt line 7")."""
    if args.inputs:
        for number, item in enumerate(args.inputs, start=1):
            yield f"argument {number}", item
        return
    from_stdin = args.file in (None, "-")
    name = "stdin" if from_stdin else args.file
    stream = getattr(sys.stdin, "buffer", sys.stdin) if from_stdin else open(args.file, "rb")
    with contextlib.nullcontext(stream) if from_stdin else stream:
        for number, raw in enumerate(stream, start=1):
            try:
                line = (raw if isinstance(raw, str) else raw.decode("utf-8")).rstrip("\r\n")
            except UnicodeDecodeError as error:
                if not from_stdin and _is_image(args.file):
                    kind = args.interface.inputs
                    hint = ": give images as arguments" if kind == "image" else ""
                    raise ValueError(
                        f"{name} is an image; --file names a text file of {kind}s, one per "
                        f"line{hint}"
                    ) from None
                raise ValueError(
                    f"{name} line {number} is not UTF-8 (byte {raw[error.start]:#x} at column "
                    f"{error.start + 1}); convert it, e.g. iconv -f latin1 -t utf-8"
                ) from None
            yield f"{name} line {number}", line


def _is_image(path: str) -> bool:
    from seqapps.tasks.images import is_image_file

    with open(path, "rb") as file:
        return is_image_file(file.read(32))


def write_answers(model, args: argparse.Namespace, options: dict) -> None:
    """Runs the model's verb on the inputs; one output line per input line, written after every
    batch.

    A blank input is not sent to the model: it gets an empty line, or with
    --json an object with the input alone, so that line N answers line N.
    """
    face, write = model.interface, sys.stdout.write
    if face.inputs is None:  # the options are the whole input: one answer, in pieces
        pieces = model.plain(None, **options)  # a generator: nothing runs unless read
        if args.json:
            pieces = json_lines(model.answer(None, **options))
        for piece in pieces:
            write(piece)
            sys.stdout.flush()
        return
    inputs = read_inputs(args)
    while batch := list(itertools.islice(inputs, args.batch_size)):
        kept = [item for _, item in batch if item.strip()]
        try:
            answers = iter(_answers(model, kept, args.json, options))
        except (ValueError, TypeError, OSError):
            answers = None  # one input failed: answered one by one, up to it
        for where, item in batch:
            if not item.strip():
                write(json.dumps({face.inputs: item}) + "\n" if args.json else "\n")
            elif answers is not None:
                write(next(answers))
            else:
                try:
                    (answer,) = _answers(model, [item], args.json, options)
                except (ValueError, TypeError, OSError) as error:
                    sys.stdout.flush()
                    raise ValueError(f"{where}: {error}") from None
                write(answer)
        sys.stdout.flush()


def _answers(model, inputs: list[str], as_json: bool, options: dict) -> list[str]:
    """The output lines of `inputs`, all computed before any is written."""
    if not inputs:
        return []
    if as_json:
        return list(json_lines(model.answer(inputs, **options)))
    return list(model.plain(inputs, **options))


def json_lines(answers) -> Iterator[str]:
    return (json.dumps(answer, ensure_ascii=False) + "\n" for answer in answers)
