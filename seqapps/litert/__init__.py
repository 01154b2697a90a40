"""LiteRT (TensorFlow Lite) export of every task, and a Python runtime serving the same verbs.

`model.export(path, format="litert")` writes a folder with `model.tflite`
(float32), `model_int8.tflite` (dynamic-range int8 weights) and `assets.json`
(tokenizer, vocabulary, label or tag names, special ids): the numeric part of
the task runs in LiteRT, the text around it in the client.
`seqapps.load(name, runtime="litert")` is that client in Python: the same
verbs, answered by `ai-edge-litert`'s interpreter (`pip install seqapps[litert]`).
"""

from seqapps.litert.export import ASSET_FILE, MODEL_FILES, ConversionError, export_litert


def load_litert(source, *, variant="float32", num_threads=None, cache_dir=None):
    """A LiteRT model serving the task's verb, from an export folder, a task model or an entry name.

    A task model or a zoo entry is exported first (once per entry and weights,
    kept under `cache_dir`, default `~/.cache/seqapps/litert`).
    """
    from seqapps.litert.runtime import open_export

    return open_export(source, variant=variant, num_threads=num_threads, cache_dir=cache_dir)


__all__ = ["ASSET_FILE", "MODEL_FILES", "ConversionError", "export_litert", "load_litert"]
