"""Captioning speed: images per second for `caption` and for the exported signature.

    python bench/captioning.py [--model caption-emoji-gru] [--images 206] [--picture docs/x.png]

Printed: images per second captioned at batch 1 and batch 64, greedy and beam
search (k=3), and through the exported SavedModel's `caption` signature (PNG
bytes in, strings out, greedy, batch 64), on the `emoji_captions` test images.
The quality baselines (nearest training image by pixels and by encoder
features) are measured by the recipe, in the run that trains the entry.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def rate(function, count):
    started = time.perf_counter()
    function()
    return count / (time.perf_counter() - started)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="caption-emoji-gru", help="zoo entry or .keras preset")
    p.add_argument("--images", type=int, default=206, help="test images to caption")
    p.add_argument(
        "--picture",
        metavar="PNG",
        help="also draw the attention of the caption of test image --picture-index here",
    )
    p.add_argument("--picture-index", type=int, default=0)
    args = p.parse_args(argv)

    import tensorflow as tf
    from PIL import Image

    import seqapps
    from seqapps.zoo.recipes.captioning import split

    images = split("test")[0][: args.images]
    model = seqapps.load(args.model)
    print(f"{args.model}: {len(images)} test images of {images.shape[1:]}")
    print(f"{'images per second':28} {'batch 1':>9} {'batch 64':>9}")
    for name, options in (("greedy", {}), ("beam 3", {"beam_size": 3})):
        model.caption(images[:2], **options)  # trace once
        one = rate(lambda o=options: [model.caption(image, **o) for image in images[:64]], 64)
        many = rate(lambda o=options: model.caption(images, batch_size=64, **o), len(images))
        print(f"{'caption, ' + name:28} {one:9.1f} {many:9.1f}")

    encoded = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    with tempfile.TemporaryDirectory() as folder:
        model.export(os.path.join(folder, "export"))
        signature = tf.saved_model.load(os.path.join(folder, "export")).signatures["caption"]
        signature(images=tf.constant(encoded[:2]))
        one = rate(lambda: [signature(images=tf.constant([e])) for e in encoded[:64]], 64)
        many = rate(
            lambda: [
                signature(images=tf.constant(encoded[i : i + 64]))
                for i in range(0, len(encoded), 64)
            ],
            len(encoded),
        )
    print(f"{'export, greedy (PNG bytes)':28} {one:9.1f} {many:9.1f}")

    if args.picture:
        image = images[args.picture_index]
        caption, attention = model.caption(image, return_attention=True)
        reference = split("test")[1][args.picture_index]
        seqapps.plots.attention_overlay(
            image, attention, args.picture, title=f"{caption!r} (reference: {reference!r})"
        )
        print(f"wrote {args.picture}: {caption!r}, reference {reference!r}")


if __name__ == "__main__":
    main()
