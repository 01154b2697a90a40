"""TensorFlow Serving's REST encoding: JSON requests → named arrays → JSON answers.

Follows https://www.tensorflow.org/tfx/serving/api_rest: a predict request
names its tensors in row format (`"instances"`: one item per row) or
columnar format (`"inputs"`: one value per tensor); the answer is
`{"predictions": ...}` or `{"outputs": ...}` respectively, a single output
without its name; binary strings travel as `{"b64": "..."}`, and outputs whose
name ends in `_bytes` are written that way; every error is `{"error": "..."}`.
No TensorFlow here: a signature is described by `TensorInfo`s.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import numpy as np

#: TensorFlow's dtype names → the `DataType` enum names the metadata API writes.
DATA_TYPES = {
    "string": "DT_STRING",
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "float16": "DT_HALF",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "uint16": "DT_UINT16",
    "bool": "DT_BOOL",
}


class RequestError(Exception):
    """A request the server refuses: answered `{"error": message}` with HTTP `status`."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TensorInfo:
    """One named input or output of a signature.

    Args:
        name: its key in requests and answers.
        dtype: TensorFlow's dtype name, e.g. `"string"`, `"float32"`.
        shape: one size per axis, None where any size goes; None: any rank.
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...] | None

    @property
    def batched(self) -> bool:
        """Whether the first axis is a batch axis of any size (row format, dynamic batching)."""
        return bool(self.shape) and self.shape[0] is None


def parse_predict(body: object, inputs: list[TensorInfo], max_rows: int):
    """`(named arrays, "row" or "columnar")` from a predict request's JSON body.

    Raises `RequestError` naming what is wrong: not an object, both or
    neither of `instances` and `inputs`, a missing or unknown input, a value
    of the wrong type or shape, more than `max_rows` rows.
    """
    if not isinstance(body, dict):
        raise RequestError(f"the request must be a JSON object, got {_kind(body)}")
    unknown = sorted(set(body) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise RequestError(
            f"unknown request field(s) {unknown}; a predict request has "
            f"'signature_name' and 'instances' (row format) or 'inputs' (columnar format)"
        )
    if ("instances" in body) == ("inputs" in body):
        raise RequestError(
            "a predict request needs 'instances' (row format) or 'inputs' (columnar format), "
            "but not both"
        )
    names = [info.name for info in inputs]
    if "instances" in body:
        return _parse_rows(body["instances"], inputs, names, max_rows), "row"
    value = body["inputs"]
    named = isinstance(value, dict) and not _is_b64(value)
    if len(inputs) == 1 and not named:
        value = {names[0]: value}
    elif not named:
        raise RequestError(f"'inputs' must be an object naming the inputs {names}")
    _check_names(set(value), names, "'inputs'")
    arrays = {info.name: to_array(value[info.name], info, info.name) for info in inputs}
    for info in inputs:
        if info.batched and len(arrays[info.name]) > max_rows:
            raise RequestError(
                f"input {info.name!r} has {len(arrays[info.name])} rows; this server takes at "
                f"most {max_rows} per request (--max-batch-size); split the request"
            )
    return arrays, "columnar"


def _parse_rows(instances, inputs, names, max_rows):
    if not isinstance(instances, list):
        raise RequestError(f"'instances' must be a list (one item per row), got {_kind(instances)}")
    scalars = [info.name for info in inputs if not info.batched]
    if scalars:
        raise RequestError(
            f"this signature's inputs {scalars} have no batch axis, so there are no rows; send "
            f'them in columnar format: {{"inputs": {{{", ".join(map(repr, names))}: ...}}}}'
        )
    if len(instances) > max_rows:
        raise RequestError(
            f"{len(instances)} instances; this server takes at most {max_rows} per request "
            f"(--max-batch-size); split the request"
        )
    rows = []
    for index, instance in enumerate(instances):
        named = isinstance(instance, dict) and not _is_b64(instance)
        if len(inputs) > 1 or named:
            if not named:
                raise RequestError(
                    f"instances[{index}] must be an object naming the inputs {names}, "
                    f"got {_kind(instance)}"
                )
            _check_names(set(instance), names, f"instances[{index}]")
            rows.append(instance)
        else:
            rows.append({names[0]: instance})
    arrays = {}
    for info in inputs:
        column = [row[info.name] for row in rows]
        arrays[info.name] = to_array(column, info, f"instances[*].{info.name}")
    return arrays


def _check_names(given: set, names: list[str], where: str) -> None:
    missing = [name for name in names if name not in given]
    extra = sorted(given - set(names))
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"lacks {missing}")
        if extra:
            problems.append(f"has unknown {extra}")
        raise RequestError(f"{where} {' and '.join(problems)}; the signature's inputs are {names}")


def to_array(value, info: TensorInfo, where: str) -> np.ndarray:
    """A JSON value (nested lists of one type) → a NumPy array of `info`'s dtype and shape."""
    shape, leaves = _flatten(value, where)
    expected = info.shape
    if expected is not None:
        if len(shape) != len(expected):
            raise RequestError(
                f"{where} has rank {len(shape)} (shape {list(shape)}); "
                f"the input {info.name!r} takes rank {len(expected)} (shape {_shown(expected)})"
            )
        for axis, (size, want) in enumerate(zip(shape, expected)):
            if want is not None and size != want:
                raise RequestError(
                    f"{where} has size {size} on axis {axis}; "
                    f"the input {info.name!r} takes shape {_shown(expected)}"
                )
    converted = [_leaf(leaf, info, where) for leaf in leaves]
    if info.dtype == "string":
        array = np.empty(len(converted), dtype=object)
        array[:] = converted
    else:
        array = np.asarray(converted, dtype=info.dtype)
    return array.reshape(shape)


def _flatten(value, where):
    """`(shape, leaves)` of a rectangular nest of lists."""
    if not isinstance(value, list):
        return (), [value]
    if not value:
        return (0,), []
    parts = [_flatten(item, where) for item in value]
    inner = parts[0][0]
    if any(part[0] != inner for part in parts):
        shapes = sorted({str(list(part[0])) for part in parts})
        raise RequestError(f"{where} is ragged (items of shapes {', '.join(shapes)}); pad it")
    return (len(value), *inner), [leaf for part in parts for leaf in part[1]]


def _leaf(value, info, where):
    kind = info.dtype
    if kind == "string":
        if isinstance(value, str):
            return value.encode("utf-8")
        if _is_b64(value):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise RequestError(f"{where}: 'b64' holds no valid base64") from None
        raise RequestError(f"{where} must hold strings (or {{'b64': ...}}), got {_kind(value)}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise RequestError(f"{where} must hold true/false for {info.name!r}, got {_kind(value)}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"{where} must hold numbers for {info.name!r}, got {_kind(value)}")
    if kind.startswith(("int", "uint")):
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise RequestError(f"{where} must hold integers for {info.name!r}, got {value!r}")
        limits = np.iinfo(kind)
        if not limits.min <= value <= limits.max:
            raise RequestError(
                f"{where}: {value} is out of the range of {kind} ({limits.min}..{limits.max})"
            )
        return int(value)
    return float(value)


def encode_outputs(outputs: dict[str, np.ndarray], form: str) -> dict:
    """The answer to a request in `form` (`"row"` or `"columnar"`), shaped as TF Serving shapes it."""
    values = {name: _json_value(array, name) for name, array in sorted(outputs.items())}
    if form == "columnar":
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    sizes = {name: len(array) if np.ndim(array) else None for name, array in outputs.items()}
    if len(set(sizes.values())) > 1 or None in sizes.values():
        raise RequestError(
            f"the outputs do not share a batch size ({sizes}), so they have no rows; "
            f"ask in columnar format ('inputs')"
        )
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    rows = next(iter(sizes.values()))
    return {
        "predictions": [{name: value[i] for name, value in values.items()} for i in range(rows)]
    }


def _json_value(array: np.ndarray, name: str):
    array = np.asarray(array)
    if array.dtype.kind in "OSU":
        binary = name.endswith("_bytes")

        def text(item):
            if isinstance(item, str):
                return item
            if not binary:
                try:
                    return item.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            return {"b64": base64.b64encode(item).decode("ascii")}

        return _map_nested(array.tolist(), text)
    return array.tolist()


def _map_nested(value, function):
    if isinstance(value, list):
        return [_map_nested(item, function) for item in value]
    return function(value)


def signature_json(signature_name: str, inputs, outputs) -> dict:
    """A `SignatureDef` as the metadata API writes it (protobuf's JSON mapping)."""

    def tensor(info, tensor_name):
        shape = (
            {"dim": [], "unknown_rank": True}
            if info.shape is None
            else {
                "dim": [{"size": str(-1 if s is None else s), "name": ""} for s in info.shape],
                "unknown_rank": False,
            }
        )
        dtype = DATA_TYPES.get(info.dtype, f"DT_{info.dtype.upper()}")
        return {"dtype": dtype, "tensor_shape": shape, "name": tensor_name}

    return {
        "inputs": {info.name: tensor(info, f"{signature_name}_{info.name}:0") for info in inputs},
        "outputs": {
            info.name: tensor(info, f"StatefulPartitionedCall:{index}")
            for index, info in enumerate(sorted(outputs, key=lambda i: i.name))
        },
        "method_name": "tensorflow/serving/predict",
    }


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str)


def _shown(shape) -> str:
    return "[" + ", ".join("any" if s is None else str(s) for s in shape) + "]"


def _kind(value) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(
        type(value), f"a number ({value!r})" if isinstance(value, (int, float)) else "?"
    )
