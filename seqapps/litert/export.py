"""Writing a task as LiteRT files: float32 and int8 `.tflite` models plus the client's asset."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from seqapps import safe_write
from seqapps.litert import numpy_decoder, numpy_tagger
from seqapps.litert.programs import PROGRAMS
from seqapps.version import __version__

#: The files of a LiteRT export, by variant.
MODEL_FILES = {"float32": "model.tflite", "int8": "model_int8.tflite"}
ASSET_FILE = "assets.json"
#: Task name → `(arrays(model) or None, file)`: the weights of its float32 NumPy path.
NUMPY_PATHS = {
    "token-classification": (numpy_tagger.tagger_arrays, numpy_tagger.ARRAYS_FILE),
    "translation": (numpy_decoder.decoder_arrays, numpy_decoder.ARRAYS_FILE),
    # Not captioning: its time is the image encoder's convolutions (LiteRT), and a decoder
    # step in NumPy measured as fast as the interpreter's (63 against 62 µs), no faster.
}


class ConversionError(ValueError):
    """A task's graph uses what LiteRT's builtin ops cannot run."""


def export_litert(model, filepath, *, overwrite=False, verbose=False):
    """Writes `filepath/` with `model.tflite` (float32), `model_int8.tflite` (dynamic-range int8
    weights, float32 activations) and `assets.json` (what a client needs around them); a
    tagger or translator also gets its float32 weights for the NumPy batch-1 path
    (`tagger.npz`, `decoder.npz`).

    The folder rules are those of `Task.export`: a new or empty folder, or an
    earlier seqapps export with `overwrite=True`; written beside its
    destination and moved into place whole.
    """
    program = PROGRAMS.get(model.task_name)
    if program is None:
        raise ConversionError(
            f"{type(model).__name__} ({model.task_name!r}) has no LiteRT program; "
            f"export format='tf_saved_model' instead"
        )

    def write(staging):
        staging.mkdir(parents=True)
        signatures, asset = program(model)
        with tempfile.TemporaryDirectory(prefix="seqapps-litert-") as scratch:
            saved = _saved_model(model, signatures, Path(scratch) / "saved")
            for variant, name in MODEL_FILES.items():
                flat = _convert(model, saved, list(signatures), quantize=variant == "int8")
                (staging / name).write_bytes(flat)
        if model.task_name in NUMPY_PATHS:  # the float32 batch-1 path, in NumPy
            make_arrays, file = NUMPY_PATHS[model.task_name]
            arrays = make_arrays(model)
            if arrays is not None:
                np.savez(staging / file, **arrays)
            asset["arrays"] = None if arrays is None else file
        asset = {
            "format": "seqapps-litert",
            "version": __version__,
            "task": model.task_name,
            "signatures": {
                name: [spec.name for spec in specs] for name, (_, specs) in signatures.items()
            },
            **asset,
        }
        (staging / ASSET_FILE).write_text(json.dumps(asset, ensure_ascii=False), encoding="utf-8")

    marker = {
        "exported_by": "seqapps",
        "version": __version__,
        "task": model.task_name,
        "format": "litert",
    }
    # Traced on the CPU: a graph traced on a GPU can carry cuDNN-only ops.
    with tf.device("/CPU:0"):
        return safe_write.write_directory(filepath, write, overwrite=overwrite, marker=marker)


def stale_export(folder):
    """Whether `folder` holds a task exported before its NumPy path's weights were written."""
    asset = json.loads((Path(folder) / ASSET_FILE).read_text(encoding="utf-8"))
    return asset["task"] in NUMPY_PATHS and "arrays" not in asset


def _saved_model(model, signatures, folder):
    """The signatures as a SavedModel, the converter's most faithful input."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)  # every variable, the dropout layers' seed states included
    for name, (function, specs) in signatures.items():
        archive.add_endpoint(name, function, specs)
    archive.write_out(str(folder), verbose=False)
    return str(folder)


def _convert(model, saved, names, quantize):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=names)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        return converter.convert()
    except Exception as error:  # the converter raises several types, all with its op report
        lines = [line for line in str(error).splitlines() if "op" in line.lower()][:5]
        raise ConversionError(
            f"{type(model).__name__} ({model.task_name!r}) does not convert to LiteRT builtin "
            f"ops: {'; '.join(lines) or error}. Export format='tf_saved_model' instead, or "
            f"build the model with layers LiteRT runs (Keras LSTM/GRU/SimpleRNN, Dense, "
            f"Embedding, Conv)"
        ) from error
