"""Image captioning (one-to-many): an image encoder and a recurrent decoder that writes the caption."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from seqapps.generation import GenerationConfig
from seqapps.interface import ATTENTION, GENERATION, Interface, Option
from seqapps.layers import AttentionDecoder, StateBridge
from seqapps.tasks.encoder_decoder import EncoderDecoderTask
from seqapps.tasks.images import ImageScaler, decode_image, images_to_array
from seqapps.tasks.inputs import standardize_texts
from seqapps.tasks.task import unbatched
from seqapps.text import SubwordVectorizer

#: How the decoder sees the image: through its first state only, or by attention at every step.
CONDITIONING = ("init", "attention")


@keras.saving.register_keras_serializable(package="seqapps")
class ImageCaptioner(EncoderDecoderTask):
    """Image → CNN feature map → recurrent decoder → caption pieces.

    Two ways of conditioning the decoder on the image, by one argument:
    `conditioning="init"` is Show-and-Tell (Vinyals et al., 2015): the
    image's pooled features set the decoder's first state, and it writes from
    there; `conditioning="attention"` is Show-Attend-and-Tell (Xu et al.,
    2015): the first state as well, plus additive attention over the
    encoder's spatial feature map at every step.

    The model's own inputs are `(images uint8 [batch, H, W, 3], target_ids
    [batch, time])` → logits of the next caption piece (teacher forcing;
    `make_dataset` turns images and captions into these). The plain verb
    `caption` takes image files, bytes, PIL images or arrays.

    Args:
        caption_model: serialized SentencePiece model of the captions (see
            `seqapps.text.train_subword_model`).
        encoder: `"cnn"` (a small CNN trained from scratch) or the name of a
            `keras.applications` backbone, e.g. `"MobileNetV3Small"`.
        encoder_weights: for a backbone: `None` (random), `"imagenet"`
            (downloaded by Keras; offline, pass a local weights file path).
        freeze_encoder: keep a backbone's weights fixed while training.
        image_size: `(height, width)` the encoder reads.
        conditioning: `"init"` or `"attention"`.
        cell: `"rnn"`, `"lstm"` or `"gru"`.
        units: the decoder's hidden size.
        embedding_dim: size of the caption piece vectors.
        dropout: dropout on the piece vectors and the decoder's features.

    Example:

    >>> import seqapps
    >>> model = seqapps.load("caption-emoji-gru")  # doctest: +SKIP
    >>> model.caption("dog.png")  # doctest: +SKIP
    """

    task_name = "image-captioning"
    interface = Interface(
        "caption",
        "caption images (paths as arguments, --file lines, or lines on stdin)",
        inputs="image",
        output="caption",
        plain="{caption}\t{image}",
        options=(*GENERATION, ATTENTION),
        finetune=(
            Option("--data", "path", "a CSV with columns image, caption", "path", required=True),
            Option("--image-dir", "image_dir", "the images --data names", "path", required=True),
        ),
    )
    max_output_length = 64
    generation_defaults = GenerationConfig(length_penalty=0.0)
    finetune_unit = "images"

    def __init__(
        self,
        caption_model,
        encoder="cnn",
        encoder_weights=None,
        freeze_encoder=False,
        image_size=(64, 64),
        conditioning="attention",
        cell="gru",
        units=256,
        embedding_dim=128,
        dropout=0.0,
        **kwargs,
    ):
        if conditioning not in CONDITIONING:
            raise ValueError(f"conditioning must be one of {CONDITIONING}, got {conditioning!r}")
        image_size = tuple(image_size)
        # Layers.
        tokenizer = SubwordVectorizer(
            caption_model, add_start=True, add_end=True, name="vectorizer"
        )
        scaler = ImageScaler(image_size, name="scaler")
        image_encoder = image_encoder_for(encoder, image_size, encoder_weights, freeze_encoder)
        pool = keras.layers.GlobalAveragePooling2D(name="pool")
        features_to_memory = keras.layers.Reshape(
            (-1, image_encoder.output.shape[-1]), name="memory"
        )
        decoder = AttentionDecoder(
            cell,
            units,
            attention="additive" if conditioning == "attention" else None,
            dropout=dropout,
            name="decoder",
        )
        bridge = StateBridge(cell, units, 1, ["h_0"], name="bridge")
        embedding = keras.layers.Embedding(
            tokenizer.vocabulary_size, embedding_dim, name="target_embedding"
        )
        embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        head = keras.layers.Dense(tokenizer.vocabulary_size, name="head")

        # Functional graph (teacher forcing).
        images = keras.Input(shape=(None, None, 3), dtype="uint8", name="images")
        target_ids = keras.Input(shape=(None,), dtype="int32", name="target_ids")
        feature_map = image_encoder(scaler(images))
        memory = features_to_memory(feature_map)
        features, _, _ = decoder(
            embedding_dropout(embedding(target_ids)),
            memory=memory,
            initial_state=bridge([pool(feature_map)]),
        )
        super().__init__(inputs=(images, target_ids), outputs=head(features), **kwargs)

        # Config.
        self.tokenizer = tokenizer
        self.caption_model = tokenizer.model
        self.encoder = encoder
        self.encoder_weights = encoder_weights
        self.freeze_encoder = freeze_encoder
        self.image_size = image_size
        self.conditioning = conditioning
        if conditioning != "attention":  # it has no attention to answer: not its option
            face = type(self).interface
            options = tuple(option for option in face.options if option is not ATTENTION)
            self.interface = dataclasses.replace(face, options=options)
        self.cell = cell
        self.units = units
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.compile()

    def get_config(self):
        return {
            "caption_model": self.tokenizer.get_config()["model"],
            "encoder": self.encoder,
            # Saved weights hold the encoder's trained values: never download again on load.
            "encoder_weights": None,
            "freeze_encoder": self.freeze_encoder,
            "image_size": list(self.image_size),
            "conditioning": self.conditioning,
            "cell": self.cell,
            "units": self.units,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
        }

    # -- data --------------------------------------------------------------------

    def make_dataset(self, images, captions=None, *, batch_size=32, shuffle=False, seed=0):
        """Images and captions → batches of `((images, target_ids), next_ids)`.

        `images` is a `tf.data.Dataset` of `(image uint8 [H, W, 3], caption)`
        pairs (e.g. `seqapps.datasets.from_image_folder(...)` or the bundled
        `emoji_captions` as supervised pairs), or anything `caption` takes, with
        one caption each in `captions`.
        """
        pairs = self.finetune_examples(images, captions)
        if shuffle:
            pairs = pairs.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)

        def vectorize(image, caption):
            ids = self.tokenizer.tokenize(caption[None])[0]
            image = tf.image.resize(image, self.image_size, antialias=True)
            return tf.cast(tf.round(image), tf.uint8), ids

        batches = pairs.map(vectorize).padded_batch(batch_size)
        return batches.map(lambda image, ids: ((image, ids[:, :-1]), ids[:, 1:])).prefetch(
            tf.data.AUTOTUNE
        )

    def finetune(self, images, captions=None, **options):
        """Continues training on the user's captioned images (see `Task.finetune` for the options).

        `images` is a `tf.data.Dataset` of `(image, caption)` pairs, such as
        `seqapps.datasets.from_image_folder(folder, "captions.csv")` (several
        rows per image give it several captions), or anything `caption` takes
        with one caption each in `captions`. The caption vocabulary is kept,
        not extended: with a word-level vocabulary a word it lacks is read as
        `<unk>` and cannot be written; with subword pieces it is written as the
        pieces it has. Without `validation_data` (images and captions, as for
        `images`), `validation_fraction` of the distinct images is held out,
        all captions of an image on one side.
        """
        return super().finetune(images, captions, **options)

    def finetune_examples(self, images, captions=None):
        """`(uint8 image [H, W, 3], caption)` pairs: a dataset as it is, or images and captions
        read once by the converter `caption` uses."""
        if isinstance(images, tf.data.Dataset):
            if captions is not None:
                raise ValueError("pass the captions inside the tf.data.Dataset, not as captions")
            return unbatched(images, 3)
        if captions is None:
            raise ValueError(
                "pass one caption per image as captions, or a tf.data.Dataset of pairs"
            )
        pixels, _ = images_to_array(images, self.image_size)
        captions, single = standardize_texts(captions, name="captions")
        if single or len(pixels) != len(captions):
            raise ValueError(f"got {len(pixels)} images and {len(captions)} captions")
        return tf.data.Dataset.from_tensor_slices((pixels, tf.constant(captions, tf.string)))

    def finetune_batches(self, examples, batch_size, *, shuffle=False, seed=0):
        return self.make_dataset(examples, batch_size=batch_size, shuffle=shuffle, seed=seed)

    # -- the step function -------------------------------------------------------

    @property
    def output_tokenizer(self):
        return self.tokenizer

    def encode(self, images):
        """The decoder's starting state for uint8 images `[batch, H, W, 3]`."""
        feature_map = self.get_layer("image_encoder")(
            self.get_layer("scaler")(images), training=False
        )
        memory = self.get_layer("memory")(feature_map)
        return {
            "states": self.get_layer("bridge")([self.get_layer("pool")(feature_map)]),
            "memory": memory,
            "memory_mask": tf.ones(tf.shape(memory)[:2], tf.bool),
        }

    def inspect_decoder(self, images):
        return super().inspect_decoder(images_to_array(images[:1], self.image_size)[0])

    def finetune_data(self, path, image_dir):
        from seqapps import datasets

        return self, (datasets.from_image_folder(image_dir, path, image_size=self.image_size),), {}

    # -- the plain verb ----------------------------------------------------------

    def caption(
        self, images, *, generation_config=None, return_attention=False, batch_size=64, **options
    ):
        """Captions images: one image gives a string, a batch a list, in input order.

        Args:
            images: a file path, encoded PNG/JPEG bytes, a PIL image or a uint8
                array `[H, W(, C)]`, or a list of them, or a uint8 array
                `[batch, H, W, 3]`. Grayscale, 16-bit and palette images are
                converted to 8-bit RGB, transparency is laid onto white, and
                every image is resized to `image_size` (`images_to_array`).
                A file that is not an image raises naming its index.
            generation_config, **options: how to write, a `seqapps.GenerationConfig`
                and/or its fields as keywords (`beam_size`, `max_length`,
                `length_penalty`, `no_repeat_ngram_size`, `temperature`,
                `top_k`, `top_p`, `seed`). Default: greedy, at most 64 pieces;
                beam search with `beam_size > 1`, with `length_penalty` 0
                (none), which suits captions of a few words: on the emoji
                validation split it beat 0.6 and 1.0 for beam 3 and 5.
            return_attention: with `conditioning="attention"`, also return per
                caption `{"pieces": [...], "weights": [pieces, height, width]}`.
        """
        config = self.options_for(generation_config, **options)
        if return_attention and self.conditioning != "attention":
            raise ValueError("return_attention needs a model with conditioning='attention'")
        pixels, single = images_to_array(images, self.image_size)
        spec = tf.TensorSpec([None, *self.image_size, 3], tf.uint8)
        attention = self._attention if return_attention else None
        results = self._answer(pixels, spec, config, batch_size, attention)
        return results[0] if single else results

    def _attention(self, batch, tokens):
        """Per caption in `batch`: its pieces and the attention weights over the feature grid."""
        grid = self.get_layer("image_encoder").output.shape[1:3]
        return [
            {"pieces": pieces, "weights": weights.reshape(len(pieces), *grid)}
            for pieces, weights in self._attention_rows(batch, tokens)
        ]

    def score(self, images, references, **options) -> dict:
        """Corpus BLEU-1, BLEU-4 (sacrebleu) and exact match of the captions of `images`.

        `references` gives per image one reference string or a list of them
        (e.g. an emoji's name and its short names); BLEU counts n-grams against
        all of an image's references, and a caption matches exactly when it
        equals one of them. `options` go to `caption` (e.g. `beam_size=3`).
        Also reported: how many different captions were written. Needs
        sacrebleu (`pip install seqapps[translation]`).
        """
        references = [[r] if isinstance(r, str) else list(r) for r in references]
        if not references:
            raise ValueError("score needs at least one image with its references; got none")
        if any(not r or not all(isinstance(x, str) for x in r) for r in references):
            raise ValueError("each image needs one reference string or a non-empty list of them")
        captions = self.caption(images, **options)
        captions = [captions] if isinstance(captions, str) else captions
        if len(captions) != len(references):
            raise ValueError(f"got {len(captions)} images and {len(references)} references")
        return caption_scores(captions, references)

    # -- export ------------------------------------------------------------------

    def serving_endpoints(self):
        """`caption(images: string [batch] of encoded PNG/JPEG) → {"captions": string [batch]}`, greedy."""

        def caption(images):
            pixels = tf.map_fn(
                lambda data: decode_image(data, self.image_size),
                images,
                fn_output_signature=tf.TensorSpec([*self.image_size, 3], tf.uint8),
            )
            tokens, _ = self.decode_ids(pixels, self.options_for())
            return {"captions": self.detokenize(tokens)}

        return {"caption": (caption, [tf.TensorSpec([None], tf.string, name="images")])}


def image_encoder_for(name, image_size, weights=None, freeze=False):
    """The image encoder as one named functional model: `"cnn"` or a `keras.applications` backbone."""
    inputs = keras.Input((*image_size, 3), name="pixels")
    if name == "cnn":
        x = inputs
        for filters in (32, 64, 128):
            for _ in range(2):  # convolution → batch normalization → ReLU, twice, then halve
                x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
                x = keras.layers.BatchNormalization(momentum=0.9)(x)
                x = keras.layers.ReLU()(x)
            x = keras.layers.MaxPooling2D()(x)
        return keras.Model(inputs, x, name="image_encoder")
    backbone_class = getattr(keras.applications, name, None)
    if backbone_class is None or not callable(backbone_class):
        raise ValueError(
            f"unknown image encoder {name!r}; use 'cnn' or a keras.applications model such as "
            f"'MobileNetV3Small' or 'EfficientNetB0'"
        )
    try:
        backbone = backbone_class(include_top=False, weights=weights, input_shape=(*image_size, 3))
    except Exception as error:  # Keras raises several kinds when a download fails
        raise OSError(
            f"could not build {name} with weights={weights!r}: {error}. Offline, download the "
            f"weights elsewhere and pass encoder_weights='/path/to/weights.h5'"
        ) from None
    backbone.trainable = not freeze
    # keras.applications models take 0..255 pixels and scale them themselves.
    return keras.Model(inputs, backbone(inputs * 255.0), name="image_encoder")


def caption_scores(captions: list[str], references: list[list[str]]) -> dict:
    """BLEU-4/BLEU-1 against every reference of each caption, exact match, distinct captions."""
    import sacrebleu

    depth = max(len(r) for r in references)
    streams = [[r[i] if i < len(r) else None for r in references] for i in range(depth)]
    return {
        "bleu4": round(sacrebleu.BLEU().corpus_score(captions, streams).score, 2),
        "bleu1": round(sacrebleu.BLEU(max_ngram_order=1).corpus_score(captions, streams).score, 2),
        "exact_match": round(sum(c in r for c, r in zip(captions, references)) / len(captions), 4),
        "distinct": len(set(captions)),
    }
