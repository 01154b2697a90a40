"""Serving a LiteRT export from Python: the task's verb, answered by ai-edge-litert's interpreter.

The answers are the Keras model's: the same tokenizers (`seqapps.litert.tokenize`),
the same excluded ids, the same greedy choice and, for sampling, the same
stateless random numbers per `[seed, step]` as `seqapps.decoding` (drawn by
TensorFlow, a block of steps per call). Beam search and the n-gram rule need
the whole TensorFlow loop: they raise, naming the TensorFlow model to use.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from seqapps.litert.base import LiteRTModel, padded, padded_length
from seqapps.litert.export import ASSET_FILE, stale_export
from seqapps.litert.numpy_tagger import numpy_tagger
from seqapps.litert.tokenize import LexiconRows, TaggerTokenizer, WordTokenizer
from seqapps.litert.writers import LiteRTCaptioner, LiteRTGenerator, LiteRTTranslator


class LiteRTClassifier(LiteRTModel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer = WordTokenizer(self.asset["tokenizer"])
        self.labels = self.asset["labels"]
        # A classifier's words are lower-cased, as the lexicon reads them.
        self.lexicon = LexiconRows(self.asset["lexicon"]) if "lexicon" in self.asset else None

    def classify(self, texts, *, all_scores=False, batch_size=64):
        """`TextClassifier.classify`, one text at a time in LiteRT."""
        from seqapps.tasks.inputs import standardize_texts
        from seqapps.tasks.text_classifier import labelled

        batch, single = standardize_texts(texts)
        results = []
        for text in batch:
            tokens = self.tokenizer.tokenize(text)
            ids = self.tokenizer.ids_of(tokens)
            length = padded_length(len(ids))
            inputs = {"ids": padded(ids, length)}
            if self.lexicon is not None:
                inputs["features"] = padded(self.lexicon(tokens), length, dtype=np.float32)
            row = self.runners_for(length)["classify"](**inputs)["probabilities"][0]
            results.append(labelled(row, self.labels, all_scores))
        return results[0] if single else results


class LiteRTTagger(LiteRTModel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer, self.tags = TaggerTokenizer(self.asset["tokenizer"]), self.asset["tags"]
        self.numpy = numpy_tagger(self.folder, self.asset, self.variant)  # float32: no interpreter

    def tag(self, sentences, *, is_split_into_words=None, all_scores=False, batch_size=64):
        """`SequenceTagger.tag`, one sentence at a time in LiteRT."""
        from seqapps.tasks.tagged_inputs import sentence_token_lists

        token_lists, single = sentence_token_lists(
            sentences, is_split_into_words, lambda texts: [self.tokenizer.split(t) for t in texts]
        )
        results = [self._tag_one(tokens, all_scores) for tokens in token_lists]
        return results[0] if single else results

    def _tag_one(self, tokens, all_scores):
        if not tokens:
            return []
        if self.numpy is not None:
            found = self.numpy.sentence(tokens, self.tokenizer, scores=all_scores)
        else:
            length = padded_length(len(tokens))
            words, chars = zip(*map(self.tokenizer.ids, tokens))
            words, chars = padded(words, length), padded(chars, length)
            run = self.runners_for(length)["tag"]
            found = run(word_ids=words, char_ids=chars)["probabilities"][0, : len(tokens)]
        if all_scores:
            return [(t, dict(zip(self.tags, map(float, p)))) for t, p in zip(tokens, found)]
        tags = self.tags
        return [(t, tags[i]) for t, i in zip(tokens, found.argmax(-1).tolist())]


RUNTIMES = {
    "text-classification": LiteRTClassifier,
    "token-classification": LiteRTTagger,
    "text-generation": LiteRTGenerator,
    "translation": LiteRTTranslator,
    "image-captioning": LiteRTCaptioner,
}


def open_export(source, *, variant="float32", num_threads=None, cache_dir=None):
    """See `seqapps.litert.load_litert`."""
    folder = _export_folder(source, cache_dir)
    asset = json.loads((folder / ASSET_FILE).read_text(encoding="utf-8"))
    model = RUNTIMES[asset["task"]](folder, asset, variant=variant, num_threads=num_threads)
    if isinstance(source, str) and folder != Path(source):  # a zoo entry, exported into the cache
        model.origin = source
    return model


def _export_folder(source, cache_dir):
    from seqapps.litert.export import export_litert

    if hasattr(source, "task_name"):  # a task model
        folder = Path(tempfile.mkdtemp(prefix="seqapps-litert-")) / "export"
        return export_litert(source, folder)
    path = Path(source)
    if (path / ASSET_FILE).is_file():
        return path
    from seqapps.zoo import get_entry, list_models

    if path.suffix == ".keras" or (path.exists() and str(source) not in list_models()):
        raise FileNotFoundError(
            f"{str(path)!r} is no LiteRT export (no {ASSET_FILE}); write one with "
            f"model.export(path, format='litert')"
        )

    entry = get_entry(str(source))  # an unknown name raises, naming the closest ones
    root = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "seqapps" / "litert"
    folder = root / f"{entry.name}-{entry.weights['sha256'][:16]}"
    if not (folder / ASSET_FILE).is_file() or stale_export(folder):
        import seqapps

        export_litert(seqapps.load(entry.name), folder, overwrite=folder.exists())
    return folder
