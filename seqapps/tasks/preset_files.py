"""Reading and rewriting the `.keras` files of presets: loading one with no downloads, storing
its float weights at half precision."""

import contextlib
import io
import zipfile

import keras
import numpy as np


def load_keras_file(path):
    try:
        with no_downloads(path):
            return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive.
        raise ValueError(
            f"could not load the model file {path}: {error}. The file is damaged or "
            f"not a seqapps preset; download or re-save it."
        ) from error


@contextlib.contextmanager
def no_downloads(path):
    """Loading a preset fetches nothing: its weights are in the file, and a config that asks
    Keras for a download (e.g. ImageNet weights for an encoder) was not written by seqapps."""
    from keras.src.utils import file_utils

    def refuse(fname=None, origin=None, **_):
        raise PermissionError(
            f"{path} asks Keras to download {origin or fname}; a preset never fetches anything "
            f"its card did not pin. Re-save the model with save_preset, whose config asks for none"
        )

    saved = file_utils.get_file
    file_utils.get_file = refuse
    try:
        yield
    finally:
        file_utils.get_file = saved


def cast_stored_weights(path, dtype):
    """Rewrites the float32 arrays of a `.keras` file's weights in `dtype`, in place."""
    import h5py

    with zipfile.ZipFile(path) as archive:
        members = {info: archive.read(info) for info in archive.infolist()}
    for info, data in members.items():
        if info.filename != "model.weights.h5":
            continue
        cast = io.BytesIO()
        with h5py.File(io.BytesIO(data), "r") as source, h5py.File(cast, "w") as target:

            def copy(name, item):
                if isinstance(item, h5py.Group):
                    group = target.require_group(name)
                    group.attrs.update(item.attrs)
                elif item.dtype == np.float32:
                    target.create_dataset(name, data=item[()].astype(dtype))
                else:
                    target.create_dataset(name, data=item[()])

            target.attrs.update(source.attrs)
            source.visititems(copy)
        members[info] = cast.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members.items():
            archive.writestr(info, data)
