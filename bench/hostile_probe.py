"""Hostile input against the tasks, `inspect`, the image converter and exports, with a verdict each.

    python bench/hostile_probe.py

Every case is a request a careless or hostile user makes. Verdicts: `clear` (refused with an
error of the expected kind whose message names the problem), `works` (answered, and the
answer is the right one), `BAD` (a crash from inside TensorFlow, a wrong answer, or an error
that does not say what to do). Printed: one line per case, then the count of each verdict.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

VERDICTS: dict[str, int] = {}


def case(name, run, *, refuse=None, expect=None):
    """`refuse`: (exception type, words the message must hold); `expect`: a check of the answer."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            answer = run()
    except Exception as error:  # noqa: BLE001 — the verdict is the point
        kind, words = refuse or (None, None)
        message = str(error)
        good = kind is not None and isinstance(error, kind) and words in message
        verdict = "clear" if good else "BAD"
        detail = f"{type(error).__name__}: {message[:110]}"
    else:
        good = refuse is None and (expect is None or expect(answer))
        verdict = "works" if good else "BAD"
        detail = repr(answer)[:110]
    VERDICTS[verdict] = VERDICTS.get(verdict, 0) + 1
    print(f"{verdict:5} {name}: {detail}", flush=True)


def png_header(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + crc + b"\0" * 100


def main() -> None:
    import tensorflow as tf
    from PIL import Image

    from seqapps import datasets, inspect
    from seqapps.tasks import ImageCaptioner, SequenceTagger, TextClassifier, Translator
    from seqapps.tasks.images import to_rgb
    from seqapps.text import train_subword_model

    work = Path(tempfile.mkdtemp())
    sources = ["the cat sees the dog", "the dog eats the fish"] * 3
    targets = ["el gato ve el perro", "el perro come el pez"] * 3
    classifier = TextClassifier(["good", "bad"], ["negative", "positive"], units=4, embedding_dim=4)
    translator = Translator(
        train_subword_model(sources * 5, 30),
        train_subword_model(targets * 5, 30),
        units=4,
        embedding_dim=4,
    )
    tagger = SequenceTagger(["a", "b"], list("ab"), ["X", "Y"], units=4, embedding_dim=4)
    captioner = ImageCaptioner(
        train_subword_model(["a red square", "a blue circle"] * 10, 20),
        image_size=(32, 32),
        units=4,
        embedding_dim=4,
    )
    image = np.zeros((8, 8, 3), np.uint8)
    fit = {"epochs": 1, "verbose": 0}

    # Options: NumPy scalars accepted; bools, NaN and out-of-range values refused by name.
    case(
        "beam_size=np.int64(3)",
        lambda: translator.translate("the cat", beam_size=np.int64(3)),
        expect=lambda a: isinstance(a, str),
    )
    for beam in (10**6, 100_000, True, 0, 2.5):
        case(
            f"translate beam_size={beam!r}",
            lambda b=beam: translator.translate("x", beam_size=b),
            refuse=(ValueError, "beam_size must be"),
        )
        case(
            f"caption beam_size={beam!r}",
            lambda b=beam: captioner.caption(image, beam_size=b),
            refuse=(ValueError, "beam_size must be"),
        )
    for option, value in [
        ("validation_fraction", -1),
        ("validation_fraction", 1.5),
        ("validation_fraction", float("nan")),
        ("learning_rate", -1e-3),
        ("learning_rate", float("inf")),
        ("epochs", 0),
        ("epochs", 2.5),
        ("batch_size", True),
        ("patience", -2),
    ]:
        case(
            f"finetune {option}={value!r}",
            lambda o=option, v=value: classifier.finetune(
                ["good", "bad"] * 4, [1, 0] * 4, **{**fit, o: v}
            ),
            refuse=(ValueError, f"{option} must be"),
        )
    case(
        "finetune epochs=np.int64(1)",
        lambda: (
            classifier.finetune(
                ["good", "bad"] * 4, [1, 0] * 4, epochs=np.int64(1), verbose=0
            ).epoch
        ),
        expect=lambda e: e == [0],
    )
    case(
        "freeze='encoder'",
        lambda: (
            translator.finetune(sources, targets, freeze="encoder", **fit)
            and translator.get_layer("encoder").trainable
        ),
        expect=lambda t: t is False,
    )
    translator.get_layer("encoder").trainable = True
    case(
        "freeze=['nope']",
        lambda: classifier.finetune(["good"] * 4, [1] * 4, freeze=["nope"], **fit),
        refuse=(ValueError, "no layer"),
    )
    case(
        "float tag ids",
        lambda: tagger.finetune([["a", "b", "a"]] * 4, [[1.7, 0.2, 1.9]] * 4, **fit),
        refuse=(ValueError, "got 1.7"),
    )
    case(
        "tag id 2 of 2 tags",
        lambda: tagger.finetune([["a"]] * 4, [[2]] * 4, **fit),
        refuse=(ValueError, "in 0..1, got 2"),
    )
    case(
        "Translator.finetune(str, str)",
        lambda: translator.finetune("Jesus wept.", "Y lloró Jes"),
        refuse=(TypeError, "got a single str"),
    )
    case(
        "TextClassifier.finetune(str, list)",
        lambda: classifier.finetune("good", [1]),
        refuse=(TypeError, "got a single str"),
    )
    case(
        "finetune with only empty sources",
        lambda: translator.finetune(["", " "] * 3, targets, **fit),
        refuse=(ValueError, "empty"),
    )
    for verb in ("trace", "gradient_flow"):
        case(
            f"inspect.{verb}(model, str)",
            lambda v=verb: getattr(inspect, v)(classifier, "good"),
            refuse=(TypeError, "got a single str"),
        )
        case(
            f"inspect.{verb}(model, [])",
            lambda v=verb: getattr(inspect, v)(classifier, []),
            refuse=(ValueError, "inputs is empty"),
        )
    case(
        "find_units layer=5",
        lambda: inspect.find_units(classifier, "good", layer=5),
        refuse=(ValueError, "layer"),
    )
    case("translator.score([], [])", lambda: translator.score([], []), refuse=(ValueError, "score"))
    case("captioner.score([], [])", lambda: captioner.score([], []), refuse=(ValueError, "score"))
    case("tagger.score([], [])", lambda: tagger.score([], []), refuse=(ValueError, "score"))
    case(
        "save_preset('.keras')",
        lambda: classifier.save_preset(work / ".keras"),
        refuse=(ValueError, "no name before .keras"),
    )

    # Images: one converter, a pixel cap, every mode.
    gray16 = Image.new("I;16", (4, 4), 32768)
    for label, item in [
        ("I;16 image", gray16),
        ("I;16 PNG bytes", _encode(gray16, "PNG")),
        ("mode F 0.5", Image.fromarray(np.full((4, 4), 0.5, np.float32))),
        ("mode I 32768", Image.fromarray(np.full((4, 4), 32768, np.int32))),
        ("uint16 array", np.full((4, 4), 32768, np.uint16)),
        ("float array 0.5", np.full((4, 4, 3), 0.5)),
    ]:
        case(
            f"{label} → mid gray",
            lambda i=item: to_rgb(i, (2, 2))[0, 0].tolist(),
            expect=lambda a: a == [128] * 3,
        )
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I;16", "I", "F"):
        made = Image.new(mode, (5, 4))
        case(
            f"PIL mode {mode}",
            lambda m=made: to_rgb(m, (2, 2)).shape,
            expect=lambda s: s == (2, 2, 3),
        )
    for container in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        data = _encode(Image.new("RGB", (6, 5), (200, 30, 30)), container)
        case(
            f"{container} bytes",
            lambda d=data: to_rgb(d, (2, 2)).shape,
            expect=lambda s: s == (2, 2, 3),
        )
    bomb = png_header(20_000, 20_000)
    case("PNG bomb 20000²", lambda: to_rgb(bomb, (2, 2)), refuse=(ValueError, "megapixels"))
    case(
        "PNG bomb 12000²",
        lambda: to_rgb(png_header(12_000, 12_000), (2, 2)),
        refuse=(ValueError, "megapixels"),
    )
    folder = work / "images"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(bomb)
    (folder / "loop.png").symlink_to(folder / "loop.png")
    for name in ("bomb.png", "loop.png"):
        (folder / "captions.csv").write_text(f"image,caption\n{name},x\n")
        case(
            f"from_image_folder {name}",
            lambda: datasets.from_image_folder(folder, folder / "captions.csv"),
            refuse=(ValueError, "line 2"),
        )
    case(
        "zero-size image array",
        lambda: captioner.caption(np.zeros((0, 0, 3), np.uint8)),
        refuse=(ValueError, "no pixels"),
    )
    case(
        "float image 0..255",
        lambda: to_rgb(np.full((2, 2), 255.0), (2, 2)),
        refuse=(ValueError, "divide"),
    )
    Image.new("RGB", (4, 4)).save(work / "a.png")
    case(
        "NumPy array of paths",
        lambda: captioner.caption(np.array([str(work / "a.png")] * 2)),
        expect=lambda a: isinstance(a, list) and len(a) == 2,
    )
    case("caption([])", lambda: captioner.caption([]), expect=lambda a: a == [])

    # Exports: empty batches, and overwrite with a user's file inside.
    for model in (classifier, tagger, translator, captioner):
        path = model.export(work / type(model).__name__)
        signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        case(
            f"export of {type(model).__name__} on an empty batch",
            lambda s=signature: {k: v.shape[0] for k, v in s(tf.constant([], tf.string)).items()},
            expect=lambda shapes: set(shapes.values()) == {0},
        )
    (work / "TextClassifier" / "notes.txt").write_text("mine")
    case(
        "export(overwrite=True) over a user's file",
        lambda: classifier.export(work / "TextClassifier", overwrite=True),
        refuse=(FileExistsError, "notes.txt"),
    )
    print(
        " ".join(f"{verdict}: {count}" for verdict, count in sorted(VERDICTS.items())),
        f"(of {sum(VERDICTS.values())} cases)",
    )


def _encode(image, container):
    buffer = io.BytesIO()
    image.save(buffer, container, **({"lossless": True} if container == "WEBP" else {}))
    return buffer.getvalue()


if __name__ == "__main__":
    main()
