"""One image converter: every PIL mode, bit depth and container gives the same pixels by every way
in (PIL image, array, bytes, path, `from_image_folder`, a SavedModel); huge images are refused
from their header, before anything is decoded."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from seqapps import datasets
from seqapps.tasks.images import decode_image, images_to_array, to_rgb

SIZE = (6, 5)
rng = np.random.default_rng(0)
RGB = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
ALPHA = rng.integers(0, 256, (9, 7), dtype=np.uint8)
SIXTEEN = rng.integers(0, 65536, (9, 7), dtype=np.uint16)
UNIT = rng.random((9, 7), dtype=np.float32)


def with_transparency(image):
    image.info["transparency"] = int(np.asarray(image)[0, 0])
    return image


# mode → (PIL image, the same image as an array, whether PNG can hold it)
MODES = {
    "1": (Image.fromarray(RGB[..., 0] > 128), (RGB[..., 0] > 128).astype(np.uint8) * 255, True),
    "L": (Image.fromarray(RGB[..., 0]), RGB[..., 0], True),
    "LA": (
        Image.fromarray(np.dstack([RGB[..., 0], ALPHA]), "LA"),
        np.dstack([RGB[..., 0], ALPHA]),
        True,
    ),
    "RGB": (Image.fromarray(RGB), RGB, True),
    "RGBA": (Image.fromarray(np.dstack([RGB, ALPHA])), np.dstack([RGB, ALPHA]), True),
    "P": (
        Image.fromarray(RGB).convert("P"),
        np.asarray(Image.fromarray(RGB).convert("P").convert("RGB")),
        True,
    ),
    "P+transparency": (
        with_transparency(Image.fromarray(RGB).convert("P")),
        np.asarray(with_transparency(Image.fromarray(RGB).convert("P")).convert("RGBA")),
        True,
    ),
    "CMYK": (
        Image.fromarray(RGB).convert("CMYK"),
        np.asarray(Image.fromarray(RGB).convert("CMYK").convert("RGB")),
        False,
    ),
    "YCbCr": (
        Image.fromarray(RGB).convert("YCbCr"),
        np.asarray(Image.fromarray(RGB).convert("YCbCr").convert("RGB")),
        False,
    ),
    "I;16": (Image.fromarray(SIXTEEN), SIXTEEN, True),
    "I": (Image.fromarray(SIXTEEN.astype(np.int32)), SIXTEEN, False),
    "F": (Image.fromarray(UNIT), UNIT, False),
}


def encode(image, container, **options):
    buffer = io.BytesIO()
    image.save(buffer, container, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def saved_decoder(tmp_path_factory):
    """`decode_image` as an exported model runs it: traced, saved and loaded without Python."""
    module = tf.Module()
    module.decode = tf.function(
        lambda data: tf.map_fn(
            lambda one: decode_image(one, SIZE), data, fn_output_signature=tf.uint8
        ),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    path = str(tmp_path_factory.mktemp("decoder"))
    tf.saved_model.save(module, path)
    return tf.saved_model.load(path).decode


def through_the_folder_reader(folder, name):
    (folder / "captions.csv").write_text(f"image,caption\n{name},x\n")
    return next(iter(datasets.from_image_folder(folder, folder / "captions.csv", image_size=SIZE)))[
        0
    ].numpy()


@pytest.mark.parametrize("mode", MODES)
def test_every_pil_mode_gives_the_pixels_of_its_array_and_of_its_png(mode, saved_decoder, tmp_path):
    image, array, png_holds_it = MODES[mode]
    expected = to_rgb(image, SIZE)
    np.testing.assert_array_equal(to_rgb(array, SIZE), expected)
    if png_holds_it:
        data = encode(image, "PNG")
        (tmp_path / "image.png").write_bytes(data)
        np.testing.assert_array_equal(to_rgb(data, SIZE), expected)
        np.testing.assert_array_equal(to_rgb(tmp_path / "image.png", SIZE), expected)
        np.testing.assert_array_equal(through_the_folder_reader(tmp_path, "image.png"), expected)
        np.testing.assert_array_equal(saved_decoder(tf.constant([data])).numpy()[0], expected)
        reopened = Image.open(io.BytesIO(data))
        np.testing.assert_array_equal(to_rgb(reopened, SIZE), expected)


def test_bit_depths_keep_their_brightness():
    """16-bit images used to turn white as PIL images, mode F ([0, 1]) nearly black."""
    for image, gray in [
        (Image.new("I;16", (4, 4), 32768), 128),
        (
            Image.fromarray(np.full((4, 4), 32768, np.int32)),
            128,
        ),  # mode I, as PIL reads 16-bit files
        (Image.fromarray(np.full((4, 4), 0.5, np.float32)), 128),  # mode F
        (np.full((4, 4), 32768, np.uint16), 128),
        (np.full((4, 4, 3), 0.25, np.float64), 64),
        (Image.new("1", (4, 4), 1), 255),
    ]:
        assert to_rgb(image, (2, 2)).tolist() == [[[gray] * 3] * 2] * 2, image


@pytest.mark.parametrize("container", ["PNG", "GIF", "BMP", "WEBP", "JPEG"])
def test_every_container_gives_the_same_pixels_by_every_way_in(container, saved_decoder, tmp_path):
    image = Image.fromarray(RGB if container != "WEBP" else np.dstack([RGB, ALPHA]))
    data = encode(image, container, **({"lossless": True} if container == "WEBP" else {}))
    path = tmp_path / f"image.{container.lower()}"
    path.write_bytes(data)
    expected = to_rgb(data, SIZE)
    np.testing.assert_array_equal(to_rgb(path, SIZE), expected)
    np.testing.assert_array_equal(through_the_folder_reader(tmp_path, path.name), expected)
    np.testing.assert_array_equal(saved_decoder(tf.constant([data])).numpy()[0], expected)
    if container != "JPEG":  # lossless: PIL's reading of the file agrees with TensorFlow's
        np.testing.assert_array_equal(to_rgb(Image.open(path), SIZE), expected)


def png_header(width, height):
    """The first bytes of a PNG claiming width × height: what a decompression bomb looks like."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )


def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch):
    bomb = png_header(20_000, 20_000) + b"\0" * 1000
    with pytest.raises(
        ValueError, match=r"images\[0\] is 20000 × 20000 pixels \(400 megapixels\), over the limit"
    ):
        images_to_array([bomb], SIZE)
    (tmp_path / "bomb.png").write_bytes(bomb)
    with pytest.raises(
        ValueError, match=r"captions\.csv line 2: image \(.*bomb\.png\) is 20000 × 20000"
    ):
        through_the_folder_reader(tmp_path, "bomb.png")
    monkeypatch.setenv("SEQAPPS_MAX_IMAGE_PIXELS", "50")
    for image in (
        Image.new("L", (10, 6)),
        np.zeros((6, 10), np.uint8),
        encode(Image.new("L", (10, 6)), "JPEG"),
    ):
        with pytest.raises(ValueError, match="is 10 × 6 pixels"):
            to_rgb(image, SIZE)
    with pytest.raises(tf.errors.InvalidArgumentError, match="over the limit of 50 pixels"):
        decode_image(tf.constant(encode(Image.new("L", (10, 6)), "GIF")), SIZE)


def test_odd_arrays_and_folders_get_errors_that_say_what_to_do(tmp_path):
    with pytest.raises(
        ValueError, match=r"images\[0\]: the image array has no pixels \(shape \(0, 4, 3\)\)"
    ):
        to_rgb(np.zeros((0, 4, 3), np.uint8), SIZE, "images[0]")
    assert images_to_array(np.zeros((0, 4, 4, 3), np.uint8), SIZE)[0].shape == (0, *SIZE, 3)
    with pytest.raises(ValueError, match=r"values in \[0, 1\], got values from 255 to 255; divide"):
        to_rgb(np.full((2, 2), 255.0), SIZE)
    with pytest.raises(ValueError, match=r"got int64; convert it"):
        to_rgb(np.zeros((2, 2), np.int64), SIZE)
    Image.fromarray(RGB).save(tmp_path / "a.png")
    Image.fromarray(RGB[::-1]).save(tmp_path / "b.png")
    paths = np.array([str(tmp_path / "a.png"), str(tmp_path / "b.png")])  # an array of paths
    pixels, single = images_to_array(paths, SIZE)
    assert not single and pixels.shape == (2, *SIZE, 3)
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "captions.csv").write_text("image,caption\nloop.png,x\n")
    with pytest.raises(ValueError, match=r"line 2: image 'loop\.png' is a link that leads nowhere"):
        datasets.from_image_folder(tmp_path, tmp_path / "captions.csv")


def test_a_uint8_image_at_the_size_is_the_conversions_fixed_point():
    """`images_to_array` hands such an image on untouched (no TensorFlow call): the same pixels
    the conversion gives, for one image as for a batch."""
    image = np.random.default_rng(7).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    pixels, single = images_to_array(image, SIZE)
    assert single and pixels.shape == (1, *SIZE, 3)
    np.testing.assert_array_equal(pixels[0], to_rgb(image, SIZE))
    np.testing.assert_array_equal(images_to_array(image[None], SIZE)[0], pixels)
