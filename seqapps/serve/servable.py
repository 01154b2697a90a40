"""One served model: its exported signatures and its verb, each run in the model's own worker.

The signatures are the task's `serving_endpoints`, wrapped exactly as
`Task.export` wraps them (the first is also `serving_default`; an empty batch
gets an empty answer), so the names of signatures, inputs and outputs are
those of the model's SavedModel: a client of `seqapps serve` works unchanged
against TensorFlow Serving loading `seqapps export`'s folder. The verb, its
options and its answers come from the task's `interface` and hooks (`answer`,
`stream`), as on the command line. Nothing here names a task.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from seqapps.serve.limits import Limits
from seqapps.serve.rest import RequestError, TensorInfo
from seqapps.tasks.serving import answering_empty_batches

#: Exported inputs that set how many tokens are written: held to the server's `max_length`.
LENGTH_INPUTS = ("max_length", "num_chars")


@dataclass
class Signature:
    """A traced signature: its inputs in call order, its outputs, and the function."""

    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    function: object

    @property
    def batched(self) -> bool:
        return bool(self.inputs) and all(info.batched for info in self.inputs)

    def __call__(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = [tf.constant(arrays[info.name], dtype=info.dtype) for info in self.inputs]
        outputs = self.function(*tensors)
        if not isinstance(outputs, dict):
            outputs = {"output_0": outputs}
        return {name: value.numpy() for name, value in outputs.items()}


class Servable:
    """A loaded task model as the server sees it.

    Args:
        name: the name in URLs (`/v1/models/NAME`).
        model: a `seqapps.Task` with an interface.
        limits: the server's `Limits`.
    """

    def __init__(self, name: str, model, limits: Limits):
        if getattr(model, "interface", None) is None:
            raise ValueError(f"{name!r} holds a {type(model).__name__}, which has no interface")
        self.name = name
        self.model = model
        self.interface = model.interface
        self.limits = limits
        endpoints = model.serving_endpoints()
        first = next(iter(endpoints))
        self._endpoints = {"serving_default": endpoints[first], **endpoints}
        self._signatures: dict[str, Signature] = {}
        self._tracing = threading.Lock()
        #: One thread runs every model call, so calls never compete for the model.
        self.worker = ThreadPoolExecutor(1, thread_name_prefix=f"seqapps-{name}")

    # -- the exported signatures ---------------------------------------------------

    @property
    def signature_names(self) -> list[str]:
        return list(self._endpoints)

    def signature(self, name: str | None) -> Signature:
        """The signature `name` (None or "": the default), traced on first use."""
        name = name or "serving_default"
        if not isinstance(name, str) or name not in self._endpoints:
            raise RequestError(
                f"model {self.name!r} has no signature {name!r}; its signatures are "
                f"{self.signature_names}",
                status=404 if isinstance(name, str) else 400,
            )
        if name in self._signatures:  # traced: no lock, no wait for the worker
            return self._signatures[name]
        with self._tracing:
            if name not in self._signatures:
                self._signatures[name] = self._trace(*self._endpoints[name])
            return self._signatures[name]

    def traced(self, name: str | None) -> Signature | None:
        """The signature `name` if it is traced already, else None (`signature` traces it)."""
        return (
            self._signatures.get(name or "serving_default")
            if isinstance(name, (str, type(None)))
            else None
        )

    def _trace(self, function, specs) -> Signature:
        names = list(inspect.signature(function).parameters)
        inputs = [
            TensorInfo(spec.name or names[i], spec.dtype.name, _shape(spec.shape))
            for i, spec in enumerate(specs)
        ]
        traced = tf.function(answering_empty_batches(function, specs), input_signature=specs)
        concrete = traced.get_concrete_function()
        outputs = concrete.structured_outputs
        if not isinstance(outputs, dict):
            outputs = {"output_0": outputs}
        infos = [
            TensorInfo(key, value.dtype.name, _shape(value.shape))
            for key, value in sorted(outputs.items())
        ]
        return Signature(inputs, infos, concrete)

    def check_lengths(self, arrays: dict[str, np.ndarray]) -> None:
        """Refuses a generation longer than `max_length`; for a task that reads text, a string
        input longer than `max_text_chars` (bytes are counted: never fewer); for one that reads
        images, an input that is no image file."""
        for info in self._string_inputs(arrays):
            if self.interface.inputs == "image":
                _check_images(info, arrays[info].ravel())
                continue
            longest = max(map(len, arrays[info].ravel()), default=0)
            if longest > self.limits.max_text_chars:
                raise RequestError(_too_long(info, longest, self.limits))
        for name in LENGTH_INPUTS:
            if name in arrays and np.size(arrays[name]) and np.max(arrays[name]) > self._longest:
                raise RequestError(
                    f"{name} {int(np.max(arrays[name]))} is over this server's limit of "
                    f"{self._longest} tokens (--max-length)"
                )

    @staticmethod
    def _string_inputs(arrays):
        return [name for name, array in arrays.items() if array.dtype == object]

    @property
    def _longest(self) -> int:
        return self.limits.max_length

    def predict(self, signature: Signature, payloads: list[dict]) -> list[dict]:
        """Runs several requests' rows as one call; each gets its rows back, unpadded."""
        if len(payloads) == 1:
            return [signature(payloads[0])]
        counts = [len(next(iter(p.values()))) for p in payloads]
        joined = {
            info.name: np.concatenate([p[info.name] for p in payloads]) for info in signature.inputs
        }
        outputs = signature(joined)
        answers, start = [], 0
        for count in counts:
            answers.append(
                {
                    info.name: _unpadded(outputs[info.name][start : start + count], info)
                    for info in signature.outputs
                }
            )
            start += count
        return answers

    # -- the verb --------------------------------------------------------------------

    @property
    def streams(self) -> bool:
        """Whether the task writes its answer piece by piece (`stream`)."""
        return callable(getattr(self.model, "stream", None))

    def describe(self) -> dict:
        """What the web page builds its form from."""
        face = self.interface
        return {
            "name": self.name,
            "task": self.model.task_name,
            "verb": face.verb,
            "summary": face.summary,
            "inputs": face.inputs,
            "stream": self.streams,
            "signatures": self.signature_names,
            "options": [
                {
                    "keyword": o.keyword,
                    "flag": o.flag,
                    "help": o.help,
                    "type": o.type,
                    "default": o.default,
                    "drawn": o.drawn,
                }
                for o in face.options
                if o.type != "path"  # a request never names a file
            ],
        }

    def request_of(self, body: object, stream: bool = False) -> tuple[list, dict]:
        """`(inputs, options)` of an `:answer` or `:stream` request, checked."""
        face = self.interface
        if not isinstance(body, dict):
            raise RequestError("the request must be a JSON object with 'inputs' and/or 'options'")
        unknown = sorted(set(body) - {"inputs", "options"})
        if unknown:
            raise RequestError(f"unknown request field(s) {unknown}; send 'inputs' and 'options'")
        options = self._options(body.get("options", {}))
        if face.inputs is None:
            if "inputs" in body:
                raise RequestError(
                    f"{face.verb} takes no inputs, only 'options' "
                    f"({', '.join(o['keyword'] for o in self.describe()['options'])})"
                )
            return [], options
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise RequestError(f"'inputs' must be a non-empty list of {face.inputs}s")
        if stream and len(inputs) != 1:
            raise RequestError(f"a stream writes one answer: send one {face.inputs}")
        if len(inputs) > self.limits.max_batch_size:
            raise RequestError(
                f"{len(inputs)} inputs; this server takes at most {self.limits.max_batch_size} "
                f"per request (--max-batch-size); split the request"
            )
        return [self._input(item, index) for index, item in enumerate(inputs)], options

    def _input(self, item, index):
        if self.interface.inputs == "text":
            if not isinstance(item, str):
                raise RequestError(f"inputs[{index}] must be a string, got {type(item).__name__}")
            if len(item) > self.limits.max_text_chars:
                raise RequestError(_too_long(f"inputs[{index}]", len(item), self.limits))
            return item
        # Binary inputs (images) come as bytes, never as a path: the server reads no file.
        if not (isinstance(item, dict) and set(item) == {"b64"} and isinstance(item["b64"], str)):
            raise RequestError(
                f'inputs[{index}] must be {{"b64": "<base64 of the {self.interface.inputs} '
                f'file>"}}; this server reads no files'
            )
        try:
            return base64.b64decode(item["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(f"inputs[{index}]: 'b64' holds no valid base64") from None

    def _options(self, given) -> dict:
        if not isinstance(given, dict):
            raise RequestError(f"'options' must be an object, got {type(given).__name__}")
        declared = {o.keyword: o for o in self.interface.options if o.type != "path"}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise RequestError(
                f"unknown option(s) {unknown} for {self.interface.verb}; "
                f"the options are {sorted(declared)}"
            )
        options = {}
        for keyword, value in given.items():
            if value is None:
                continue
            options[keyword] = _option_value(declared[keyword], value)
            texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            if any(len(text) > self.limits.max_text_chars for text in texts):
                longest = max(len(text) for text in texts)
                raise RequestError(_too_long(f"option {keyword!r}", longest, self.limits))
        length = options.get("max_length")
        if length is not None and length > self.limits.max_length:
            raise RequestError(
                f"max_length {length} is over this server's limit of {self.limits.max_length} "
                f"tokens (--max-length)"
            )
        return options

    def answer(self, options_key: str, batches: list[list]) -> list[list[dict]]:
        """Answers several requests' inputs with one call of the verb (same options)."""
        options = json.loads(options_key)
        face = self.interface
        joined = [item for batch in batches for item in batch]
        answers = self.model.answer(joined if face.inputs is not None else None, **options)
        answers = [_plain_json(answer, face.inputs) for answer in answers]
        if face.inputs is None:
            return [answers]
        split, start = [], 0
        for batch in batches:
            split.append(answers[start : start + len(batch)])
            start += len(batch)
        return split

    def start_stream(self, inputs: list, options: dict):
        """The iterator of the answer's pieces; options are checked now, before any piece."""
        if self.interface.inputs is None:
            return iter(self.model.stream(**options))
        return iter(self.model.stream(inputs[0], **options))


def _too_long(what: str, size: int, limits) -> str:
    return (
        f"{what} has {size:,} characters; this server takes at most {limits.max_text_chars:,} "
        f"per text (--max-text-chars): split it"
    )


def _option_value(option, value):
    """A JSON value for a declared option, checked as the command line checks it."""
    where = f"option {option.keyword!r}"
    kind = option.type
    if kind == "flag":
        if not isinstance(value, bool):
            raise RequestError(f"{where} is true or false, got {value!r}")
        return value
    if kind == "append":
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RequestError(f"{where} is a string or a list of strings, got {value!r}")
        return values
    if kind in ("int", "positive_int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestError(f"{where} is an integer, got {value!r}")
        if kind == "positive_int" and value < 1:
            raise RequestError(f"{where} must be a positive integer, got {value!r}")
        return value
    if kind == "float":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise RequestError(f"{where} is a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise RequestError(f"{where} is a string, got {value!r}")
    return value


def _plain_json(answer: dict, input_key: str | None) -> dict:
    """An answer as JSON values; a binary input (an image) is not echoed back."""
    answer = dict(answer)
    if input_key is not None and isinstance(answer.get(input_key), bytes):
        del answer[input_key]
    return json.loads(json.dumps(answer, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _shape(shape) -> tuple | None:
    return None if shape.rank is None else tuple(shape.as_list())


def _unpadded(rows: np.ndarray, info: TensorInfo) -> np.ndarray:
    """A request's rows of a batched output, without the padding its batch-mates added.

    An output whose later axes have no fixed size (e.g. tokens `[batch, time]`)
    is padded to the longest row of the call; the request alone would have got
    its own longest (at least 1), so trailing slices that are padding (`""`,
    0) in every one of its rows are cut.
    """
    if info.shape is None or rows.ndim < 2:
        return rows
    for axis in range(1, rows.ndim):
        if axis >= len(info.shape) or info.shape[axis] is not None:
            continue
        pad = b"" if rows.dtype.kind in "OS" else 0
        other = tuple(a for a in range(rows.ndim) if a != axis)
        used = np.flatnonzero(np.any(rows != pad, axis=other)) if rows.size else []
        keep = max(1, int(used[-1]) + 1 if len(used) else 1)
        rows = np.take(rows, range(min(keep, rows.shape[axis])), axis=axis)
    return rows


def _check_images(name: str, items) -> None:
    """Refuses an image input that holds no image file's bytes (a path, a text), by its row."""
    from seqapps.tasks.images import is_image_file

    for row, item in enumerate(items):
        if not is_image_file(item if isinstance(item, bytes) else str(item).encode()):
            raise RequestError(
                f"{name}[{row}] holds no image: send the bytes of a PNG, JPEG, GIF, BMP or WebP "
                f'file, base64-encoded as {{"b64": "..."}}; this server reads no files'
            )
