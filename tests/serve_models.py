"""Tiny untrained task models for the `seqapps serve` tests (no zoo entry is loaded)."""

import io

import keras
import numpy as np

TEXTS = ["a good movie", "bad", "the dog saw a good movie today", ""]


def classifier():
    from seqapps.tasks import TextClassifier

    keras.utils.set_random_seed(0)
    words = ["a", "good", "bad", "movie", "the", "dog", "saw"]
    return TextClassifier(words, ["negative", "positive"], cell="gru", units=4, embedding_dim=4)


def tagger():
    from seqapps.tasks import SequenceTagger

    keras.utils.set_random_seed(0)
    words = ["a", "good", "bad", "movie", "the", "dog", "saw"]
    return SequenceTagger(
        words, sorted(set("".join(words))), ["DET", "NOUN", "ADJ", "VERB"], units=4, embedding_dim=4
    )


def generator():
    from seqapps.tasks import TextGenerator

    keras.utils.set_random_seed(0)
    return TextGenerator(list("abcde .\n"), cell="gru", units=8, embedding_dim=4)


def captioner():
    from seqapps.tasks import ImageCaptioner
    from seqapps.text import train_subword_model

    keras.utils.set_random_seed(0)
    captions = [f"{c} {s}" for c in ("red", "green", "blue") for s in ("square", "circle")]
    return ImageCaptioner(
        train_subword_model(captions * 10, 20), image_size=(16, 16), units=8, embedding_dim=8
    )


def translator():
    from seqapps.tasks import Translator
    from seqapps.text import train_subword_model

    keras.utils.set_random_seed(0)
    sources = ["the dog", "a good movie", "the bad dog saw a movie"]
    targets = ["el perro", "una buena pelicula", "el perro malo vio una pelicula"]
    return Translator(
        train_subword_model(sources * 10, 20),
        train_subword_model(targets * 10, 20),
        units=8,
        embedding_dim=8,
    )


def png(color=(200, 30, 30), size=16) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), color, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()
