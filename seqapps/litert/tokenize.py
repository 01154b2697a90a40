"""The tokenizers of a LiteRT export's `assets.json`, in Python, matching the model's own layers.

ASCII text is split by Python regular expressions written to match the
TensorFlow (RE2) ones of `TextVectorizer` and `split_words` character for
character; any other text goes through those TensorFlow layers themselves,
built from the asset, so every text gets the ids the Keras model gives it.
SentencePiece runs in its own library either way (the one tensorflow-text
wraps).
"""

from __future__ import annotations

import base64
import re

# `TextVectorizer`'s `[^\w\s']` in RE2, whose \w and \s are ASCII (\s without \v).
_WORD_MARKS = re.compile(r"([^0-9A-Za-z_\t\n\f\r '])")
# `tf.strings.split()`: runs of ASCII whitespace.
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
# `seqapps.text.tokens._SPLITS`, restricted to ASCII (\p{Z} is the space there, \p{L}\p{M}\p{N}
# letters and digits).
_SPLITS = (
    (re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f]"), " "),
    (re.compile(r"--"), " -- "),
    (re.compile(r"([^A-Za-z0-9\t\n\f\r '.,\-_])"), r" \1 "),
    (re.compile(r"([.,])([\t\n\f\r ]|\Z)"), r" \1\2"),
    (re.compile(r"(\A|[\t\n\f\r ])([.,])"), r"\1\2 "),
)


def _split(text):
    return [token for token in _WHITESPACE.split(text) if token]


class WordTokenizer:
    """`TextVectorizer` (words or characters): text → ids, padded to at least one step."""

    def __init__(self, spec):
        self.tokens = spec["vocabulary"]
        self.index = {token: i for i, token in enumerate(self.tokens) if i >= 2}
        self.chars = spec["kind"] == "chars"
        self.lowercase = spec["lowercase"]
        self.max_length = spec.get("max_length")
        self._fallback = None

    def tokenize(self, text: str) -> list[str]:
        if not text.isascii():
            return self._tensorflow(text)
        if self.lowercase:
            text = text.lower()
        tokens = list(text) if self.chars else _split(_WORD_MARKS.sub(r" \1 ", text))
        return tokens[: self.max_length] if self.max_length is not None else tokens

    def ids(self, text: str) -> list[int]:
        return self.ids_of(self.tokenize(text))

    def ids_of(self, tokens: list[str]) -> list[int]:
        return [self.index.get(token, 1) for token in tokens] or [0]

    def _tensorflow(self, text):
        if self._fallback is None:
            from seqapps.text import TextVectorizer

            split = "char" if self.chars else "word"
            self._fallback = TextVectorizer(
                self.tokens[2:], split=split, lowercase=self.lowercase, max_length=self.max_length
            )
        row = self._fallback.tokenize([text]).to_list()[0]
        return [token.decode("utf-8") for token in row]


class LexiconRows:
    """`seqapps.text.lexicon.LexiconFeatures` on one text's lower-cased tokens: a row of 3
    numbers (AFINN / 5, Liu positive, Liu negative) per token, plus the negation flag when
    the window is not 0. The longest entry ending at a token gives its numbers."""

    def __init__(self, spec):
        self.entries = spec["entries"]
        self.lengths = sorted({key.count(" ") + 1 for key in self.entries})
        self.negators = frozenset(spec["negators"])
        self.window = spec["negation_window"]

    def __call__(self, tokens: list[str]) -> list[list[float]]:
        rows = []
        for end in range(len(tokens)):
            row = [0.0, 0.0, 0.0]
            for n in self.lengths:  # shortest first, so a longer entry overwrites
                if end + 1 >= n:
                    row = self.entries.get(" ".join(tokens[end + 1 - n : end + 1]), row)
            rows.append(list(row))
        if self.window:
            # `.+n't` in the layer: "didn't", not a bare "n't".
            negator = [t in self.negators or (len(t) > 3 and t.endswith("n't")) for t in tokens]
            for i, row in enumerate(rows):
                row.append(float(any(negator[max(i - self.window, 0) : i])))
        return rows or [[0.0] * (4 if self.window else 3)]


class TaggerTokenizer:
    """`split_words`, `TokenLookup` and `CharacterLookup`: text → tokens, word ids, char ids."""

    def __init__(self, spec):
        self.index = {token: i for i, token in enumerate(spec["vocabulary"]) if i >= 2}
        self.char_index = {char: i for i, char in enumerate(spec["characters"]) if i >= 2}
        self.lowercase = spec["lowercase"]
        self.max_chars = spec["max_chars"]
        self._seen = {}  # token → (word id, char ids): a sentence's words are mostly common ones

    def ids(self, token: str) -> tuple[int, list[int]]:
        """`(word id, char ids)` of one token."""
        found = self._seen.get(token)
        if found is None:
            found = (self.word_id(token), self.char_ids(token))
            if len(self._seen) < 100_000:
                self._seen[token] = found
        return found

    def split(self, text: str) -> list[str]:
        if not text.isascii():
            from seqapps.text import split_words

            return [t.decode("utf-8") for t in split_words([text]).to_list()[0]]
        for pattern, rewrite in _SPLITS:
            text = pattern.sub(rewrite, text)
        return _split(text)

    def word_id(self, token: str) -> int:
        if self.lowercase:
            if not token.isascii():
                from seqapps.text.vectorizer import _lower

                token = _lower([token]).numpy()[0].decode("utf-8")
            else:
                token = token.lower()
        return self.index.get(token, 1) if token else 0

    def char_ids(self, token: str) -> list[int]:
        chars = list(token)
        if len(chars) > self.max_chars:  # its start and its end, as `CharacterLookup` keeps
            head = self.max_chars // 2
            chars = chars[:head] + chars[head - self.max_chars :]
        ids = [self.char_index.get(char, 1) for char in chars]
        return ids + [0] * (self.max_chars - len(ids))


class SentencePieceTokenizer:
    """`SubwordVectorizer` with SentencePiece's own library."""

    def __init__(self, model, max_length=None, add_start=False, add_end=False):
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor(model_proto=base64.b64decode(model))
        self.max_length = max_length
        self.add_start, self.add_end = add_start, add_end

    def ids(self, text: str) -> list[int]:
        ids = self.processor.encode(text, out_type=int)
        if self.max_length is not None:
            ids = ids[: self.max_length]
        return [2] * self.add_start + ids + [3] * self.add_end

    def detokenize(self, ids) -> str:
        return self.processor.decode([int(i) for i in ids if i > 3])
