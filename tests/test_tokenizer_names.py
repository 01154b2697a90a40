"""Every task names its tokenizer `tokenizer` (a second one by its role), and a generating task's
`output_tokenizer` is one of them."""

import tensorflow as tf

from seqapps.tasks import ImageCaptioner, SequenceTagger, TextClassifier, TextGenerator, Translator
from seqapps.text import train_subword_model


def test_every_task_names_its_tokenizer_alike():
    pieces = train_subword_model(["the cat sees the dog", "el gato ve el perro"] * 20, 30)
    models = {
        "classifier": TextClassifier(["good", "bad"], ["no", "yes"], units=4, embedding_dim=4),
        "generator": TextGenerator(list("abc "), units=4),
        "translator": Translator(pieces, pieces, units=4, embedding_dim=4),
        "captioner": ImageCaptioner(pieces, image_size=(32, 32), units=4, embedding_dim=4),
        "tagger": SequenceTagger(["a", "b"], list("ab"), ["X", "Y"], units=4, embedding_dim=4),
    }
    for name, model in models.items():
        assert not hasattr(model, "vectorizer"), name
        ids = model.tokenizer(tf.constant([["a", "b"]] if name == "tagger" else ["a b"]))
        assert ids.dtype.is_integer and ids.shape[0] == 1, name
    assert models["translator"].output_tokenizer is models["translator"].target_tokenizer
    assert models["captioner"].output_tokenizer is models["captioner"].tokenizer
    assert models["generator"].output_tokenizer is models["generator"].tokenizer
    tagger = models["tagger"]
    assert tagger.character_tokenizer(tf.constant([["ab"]])).shape[:2] == (1, 1)
    generator = models["generator"]
    assert generator.tokenizer.lookup(tf.constant(["a", "z"])).numpy().tolist() == [
        generator.tokenizer.token_id("a"),
        1,  # [UNK]
    ]
