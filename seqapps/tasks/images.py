"""One image converter: every way an image comes in → uint8 RGB `[height, width, 3]`.

A path, encoded bytes (PNG, JPEG, GIF, BMP, WebP), a PIL image of any mode or
a NumPy array all end in the same TensorFlow ops (`pixels_to_rgb`), which the
exported model runs too: a file gives the same pixels as bytes, as a PIL
image, through `seqapps.datasets.from_image_folder`, in training and in the
export. Images over `max_image_pixels()` are refused from their header, before
anything is decoded.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

#: The most pixels (width × height) an image may have; `SEQAPPS_MAX_IMAGE_PIXELS` changes it.
#: 40 megapixels take 640 MB as float RGBA; a 445 KB PNG can claim 144 megapixels.
MAX_IMAGE_PIXELS = 40_000_000


def max_image_pixels() -> int:
    return int(os.environ.get("SEQAPPS_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS))


def pixels_to_rgb(image, size):
    """float32 `[H, W, 1..4]` in [0, 1] → uint8 RGB `[height, width, 3]` at `size`.

    Grayscale becomes RGB; transparency is composited onto white (as the
    bundled emoji are); the image is resized with antialiasing.
    """

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


def decode_image(data, size):
    """Encoded PNG/JPEG/GIF/BMP/WebP bytes (a scalar string tensor) → uint8 `[height, width, 3]`.

    16-bit samples keep their precision until the end. An image whose header
    claims more than `max_image_pixels()` fails before it is decoded. Runs
    eagerly, in `tf.data` and inside an exported SavedModel.
    """
    cap = max_image_pixels()
    too_big = tf.debugging.assert_less_equal(
        header_pixels(data),
        tf.constant(cap, tf.int64),
        message=f"the image is over the limit of {cap} pixels; shrink it first",
    )
    is_png = tf.equal(tf.strings.substr(data, 0, 4), b"\x89PNG")
    with tf.control_dependencies([too_big]):
        # PNG is the one container with 16-bit samples; the others decode as 8 bits, widened
        # here exactly as the PNG decoder widens an 8-bit PNG.
        image = tf.cond(
            is_png,
            lambda: tf.io.decode_png(data, dtype=tf.uint16),
            lambda: tf.cast(tf.io.decode_image(data, expand_animations=False), tf.uint16) * 257,
        )
    return pixels_to_rgb(to_float(image), size)


def to_float(samples):
    """uint8 or uint16 samples → float32 in [0, 1], by one rounding for every source.

    8-bit samples are widened to 16 bits first (exactly: × 257, 255 → 65535),
    as TensorFlow's decoder does for an 8-bit file, so an array and its PNG
    give the same floats to the last bit.
    """
    if samples.dtype == tf.uint8:
        samples = tf.cast(samples, tf.uint16) * 257
    return tf.image.convert_image_dtype(samples, tf.float32)


#: How the image files TensorFlow decodes begin: PNG, JPEG, GIF, JPEG XL (bare and in its box).
#: BMP and WebP are told by more than their first bytes (`is_image_file`).
IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"\xff\x0a",
    b"\x00\x00\x00\x0cJXL \r\n\x87\n",
)
#: The sizes a BMP file's second header (bytes 14-17, little-endian) has in its known versions.
BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)


def is_image_file(data: bytes) -> bool:
    """Whether `data` begins as a PNG, JPEG, GIF, BMP, WebP or JPEG XL file does (it may still
    be damaged further on)."""
    bmp = data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in BMP_HEADER_SIZES
    webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return data.startswith(IMAGE_SIGNATURES) or bmp or webp


def header_pixels(data):
    """Width × height from the header of a PNG, GIF, BMP or WebP (TensorFlow ops; 0 otherwise).

    JPEG is measured by TensorFlow's own `extract_jpeg_shape`.
    """
    head = tf.strings.join([tf.strings.substr(data, 0, 32), "\0" * 32])
    b = tf.cast(tf.io.decode_raw(tf.strings.substr(head, 0, 32), tf.uint8), tf.int64)

    def number(start, length, big_endian=False):
        places = range(length) if not big_endian else range(length - 1, -1, -1)
        return sum(b[start + i] * (256**place) for i, place in enumerate(places))

    def prefix(text):
        return tf.equal(tf.strings.substr(head, 0, len(text)), text)

    vp8l = number(21, 4)
    return tf.case(
        [
            (prefix(b"\x89PNG"), lambda: number(16, 4, True) * number(20, 4, True)),
            (prefix(b"GIF8"), lambda: number(6, 2) * number(8, 2)),
            (prefix(b"BM"), lambda: _bmp_pixels(number(18, 4), number(22, 4))),
            (
                prefix(b"\xff\xd8"),
                lambda: tf.reduce_prod(tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.int64)),
            ),
            (
                tf.equal(tf.strings.substr(head, 12, 4), "VP8X"),
                lambda: (number(24, 3) + 1) * (number(27, 3) + 1),
            ),
            (
                tf.equal(tf.strings.substr(head, 12, 4), "VP8L"),
                lambda: ((vp8l % 2**14) + 1) * ((vp8l // 2**14) % 2**14 + 1),
            ),
            (
                tf.equal(tf.strings.substr(head, 12, 4), "VP8 "),
                lambda: (number(26, 2) % 2**14) * (number(28, 2) % 2**14),
            ),
        ],
        default=lambda: tf.constant(0, tf.int64),
    )


def _bmp_pixels(width, height):
    # Signed 32-bit fields: a negative height means rows stored top-down.
    width = tf.where(width >= 2**31, 2**32 - width, width)
    height = tf.where(height >= 2**31, 2**32 - height, height)
    return width * height


def header_size(data: bytes) -> tuple[int, int] | None:
    """`(width, height)` from the first bytes of a PNG, GIF, BMP, JPEG or WebP file, or None."""
    if data[:4] == b"\x89PNG" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:4] == b"GIF8" and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(
                data[27:30], "little"
            )
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
    if data[:2] == b"\xff\xd8":
        at = 2
        while at + 9 <= len(data) and data[at] == 0xFF:
            marker = data[at + 1]
            if marker == 0xFF or 0xD0 <= marker <= 0xD9 or marker == 0x01:
                at += 1 if marker == 0xFF else 2  # fill byte or standalone marker
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height, width = struct.unpack(">HH", data[at + 5 : at + 9])
                return width, height
            at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


def images_to_array(images, size) -> tuple[np.ndarray, bool]:
    """`(uint8 [batch, height, width, 3], was_single)` from the forms `caption` accepts.

    One image or a list (or NumPy array) of: a file path (`str` or
    `pathlib.Path`), encoded bytes, a PIL image of any mode, or an array
    `[H, W]`, `[H, W, 1..4]` of uint8 (0-255), uint16 (0-65535) or floats in
    [0, 1]; or one array `[batch, H, W, C]`. Every image takes the same
    conversion (`to_rgb`). A bad item raises naming its index. A uint8 image
    `[height, width, 3]` or batch `[batch, height, width, 3]` already at `size`
    is that conversion's fixed point and is returned as it is (no TensorFlow
    call: ~1.7 ms of a one-image caption).
    """
    size = tuple(size)
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape == (*size, 3):
        return images[None], True
    if isinstance(images, np.ndarray) and images.dtype.kind in "OSU":
        images = images.tolist()  # an array of paths or bytes: each item is one image
        if not isinstance(images, list):
            images = [images]
    if isinstance(images, np.ndarray) and images.ndim == 4:
        if images.dtype == np.uint8 and images.shape[1:] == (*size, 3):
            return images, False
        converted = [to_rgb(image, size, f"images[{i}]") for i, image in enumerate(images)]
        return np.stack(converted) if converted else np.zeros((0, *size, 3), np.uint8), False
    single = isinstance(images, (str, bytes, os.PathLike, np.ndarray)) or _is_pil(images)
    try:
        items = [images] if single else list(images)
    except TypeError:
        raise TypeError(
            f"images is {type(images).__name__}, not an image or a list of images; pass a file "
            f"path, encoded bytes, a PIL image or an array, or a list of them"
        ) from None
    converted = [to_rgb(item, size, f"images[{index}]") for index, item in enumerate(items)]
    if not converted:
        return np.zeros((0, *size, 3), np.uint8), single
    return np.stack(converted), single


def to_rgb(item, size, where="image") -> np.ndarray:
    """One image in any accepted form → uint8 RGB `[height, width, 3]`; errors name `where`."""
    if isinstance(item, (str, os.PathLike)):
        if not os.fspath(item).strip():
            raise ValueError(f"{where} is an empty path; give the path of an image file")
        path = Path(item)
        try:
            if not path.is_file():
                raise FileNotFoundError(f"{where}: no image file at {path}")
            item = path.read_bytes()
        except OSError as error:
            if isinstance(error, FileNotFoundError) and str(error).startswith(where):
                raise
            raise ValueError(
                f"{where}: cannot read {path} ({error.strerror or error}); check the path"
            ) from None
        where = f"{where} ({path})"
    if isinstance(item, (bytearray, memoryview)):
        item = bytes(item)
    if _is_pil(item):
        item = _pil_to_array(item, where)
    if isinstance(item, np.ndarray):
        return pixels_to_rgb(_array_to_float(item, where), size).numpy()
    if not isinstance(item, bytes):
        raise TypeError(
            f"{where} is {type(item).__name__}, not an image; pass file paths, encoded bytes, "
            f"PIL images or arrays"
        )
    dimensions = header_size(item)
    if dimensions is not None:
        _check_pixels(*dimensions, where)
    try:
        return decode_image(tf.constant(item), size).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        reason = error.message.split("}} ")[-1].split(" [Op:")[0]  # TensorFlow's own words
        reason = reason.split(". One of")[0].rstrip(".")
        raise ValueError(
            f"{where} cannot be decoded as an image ({reason}); seqapps reads PNG, JPEG, GIF, "
            f"BMP and WebP files: replace or convert it"
        ) from None


def _check_pixels(width: int, height: int, where: str) -> None:
    cap = max_image_pixels()
    if width * height > cap:
        raise ValueError(
            f"{where} is {width} × {height} pixels ({width * height / 1e6:.0f} megapixels), over "
            f"the limit of {cap / 1e6:g} megapixels; refusing to decode it. Shrink the image, or "
            f"raise the limit with SEQAPPS_MAX_IMAGE_PIXELS if you trust it"
        )


def _is_pil(item) -> bool:
    return type(item).__module__.startswith("PIL.")


def _pil_to_array(image, where: str) -> np.ndarray:
    """A PIL image as the array its file would decode to: 8 bits, 16 bits or floats."""
    _check_pixels(*image.size, where)
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(image)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode == "I":  # 32-bit integers; PIL reads 16-bit files into this mode
        array = np.asarray(image)
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ValueError(
                f"{where}: a mode 'I' image is read as 16-bit (0-65535), but it holds values "
                f"from {array.min()} to {array.max()}; scale it into that range"
            )
        return array.astype(np.uint16)
    if mode == "F":
        return np.asarray(image)
    if mode == "P":
        return np.asarray(image.convert("RGBA" if "transparency" in image.info else "RGB"))
    has_alpha = any(band in ("A", "a") for band in image.getbands())
    try:
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    except ValueError as error:
        raise ValueError(
            f"{where}: PIL cannot convert a mode {mode!r} image to RGB ({error})"
        ) from None


def _array_to_float(array: np.ndarray, where: str):
    """An image array → float32 `[H, W, C]` in [0, 1] (TensorFlow's own scaling of integers)."""
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{where}: an image array must be [H, W] or [H, W, C] with 1 to 4 channels, got "
            f"shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{where}: the image array has no pixels (shape {array.shape})")
    _check_pixels(array.shape[1], array.shape[0], where)
    if array.dtype in (np.uint8, np.uint16):
        return to_float(tf.constant(np.ascontiguousarray(array)))
    if array.dtype.kind == "f":
        low, high = float(np.min(array)), float(np.max(array))
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 1:
            raise ValueError(
                f"{where}: a float image must hold values in [0, 1], got values from {low:g} to "
                f"{high:g}; divide 8-bit values by 255 (16-bit ones by 65535)"
            )
        return tf.constant(array, tf.float32)
    raise ValueError(
        f"{where}: an image array must be uint8 (0-255), uint16 (0-65535) or float (0-1), got "
        f"{array.dtype}; convert it, e.g. array.astype(np.uint8)"
    )


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
