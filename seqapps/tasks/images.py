"""Images in any common form → uint8 RGB arrays of one size, in Python and as TensorFlow ops."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf


def decode_image(data, size):
    """Encoded PNG/JPEG/GIF/BMP bytes (a scalar string tensor) → uint8 `[height, width, 3]`.

    Conversion: 16-bit samples are scaled to 8 bits; grayscale becomes RGB;
    transparency is composited onto white (as the bundled emoji are); a
    palette image is expanded by the decoder; the image is then resized to
    `size = (height, width)` with antialiasing. Runs eagerly, in `tf.data`
    and inside an exported SavedModel.
    """
    # float32 in [0, 1], whatever the file's bit depth; channels as stored (1 to 4).
    image = tf.io.decode_image(data, dtype=tf.float32, expand_animations=False)

    def on_white(rgb, alpha):
        return rgb * alpha + (1.0 - alpha)

    channels = tf.shape(image)[-1]
    image = tf.switch_case(
        channels - 1,
        [
            lambda: tf.image.grayscale_to_rgb(image[..., :1]),
            lambda: on_white(tf.image.grayscale_to_rgb(image[..., :1]), image[..., 1:2]),
            lambda: image[..., :3],
            lambda: on_white(image[..., :3], image[..., 3:4]),
        ],
    )
    image = tf.image.resize(image, size, antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)


def images_to_array(images, size) -> tuple[np.ndarray, bool]:
    """`(uint8 [batch, height, width, 3], was_single)` from the forms `caption` accepts.

    One image or a list of: a file path (`str` or `pathlib.Path`), encoded
    bytes, a PIL image, or a uint8 array `[H, W]`, `[H, W, 3]` or `[H, W, 4]`;
    or one uint8 array `[batch, H, W, 3]`. Every image goes through
    `decode_image` (arrays are encoded losslessly first), so all take the same
    conversion. A bad item raises naming its index. A uint8 batch already
    `[batch, height, width, 3]` at `size` is that conversion's fixed point and
    is returned as it is.
    """
    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        if images.shape[1:] == (*size, 3):
            return images, False
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return np.stack([_one(image, size, index) for index, image in enumerate(images)]), False
    single = isinstance(images, (str, bytes, os.PathLike, np.ndarray)) or _is_pil(images)
    try:
        items = [images] if single else list(images)
    except TypeError:
        raise TypeError(
            f"images is {type(images).__name__}, not an image or a list of images; pass a file "
            f"path, encoded bytes, a PIL image or a uint8 array, or a list of them"
        ) from None
    converted = [_one(item, size, index) for index, item in enumerate(items)]
    if not converted:
        return np.zeros((0, *size, 3), np.uint8), single
    return np.stack(converted), single


def _is_pil(item) -> bool:
    return type(item).__module__.startswith("PIL.")


def _one(item, size, index) -> np.ndarray:
    where = f"images[{index}]"
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not path.is_file():
            raise FileNotFoundError(f"{where}: no image file at {path}")
        where, item = f"{where} ({path})", path.read_bytes()
    elif _is_pil(item):
        item = np.asarray(item.convert("RGBA"))
    if isinstance(item, np.ndarray):
        if (
            item.dtype != np.uint8
            or item.ndim not in (2, 3)
            or (item.ndim == 3 and item.shape[-1] not in (1, 3, 4))
        ):
            raise ValueError(
                f"{where}: an image array must be uint8 [H, W], [H, W, 3] or [H, W, 4], got "
                f"{item.dtype} {item.shape}"
            )
        item = tf.io.encode_png(item if item.ndim == 3 else item[..., None]).numpy()
    if not isinstance(item, bytes):
        raise TypeError(
            f"{where} is {type(item).__name__}, not an image; pass file paths, encoded bytes, "
            f"PIL images or uint8 arrays"
        )
    try:
        return decode_image(tf.constant(item), size).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        reason = error.message.split("}} ")[-1].split(" [Op:")[0]  # TensorFlow's own words
        raise ValueError(f"{where} cannot be decoded as an image: {reason}") from None


@keras.saving.register_keras_serializable(package="seqapps")
class ImageScaler(keras.layers.Layer):
    """uint8 RGB `[batch, H, W, 3]` → float `[batch, height, width, 3]` in [0, 1], resized if needed.

    The model's own image preprocessing: it travels with the weights, so a
    saved model takes the same uint8 arrays `images_to_array` gives.
    """

    def __init__(self, size=(64, 64), **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(size)

    def call(self, images):
        images = tf.cast(images, self.compute_dtype) / 255.0
        return tf.image.resize(images, self.size, antialias=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, 3)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size)}
