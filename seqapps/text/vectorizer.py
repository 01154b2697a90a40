"""Raw text to token ids and back, as a Keras layer that is saved with the model."""

import collections
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

PAD = ""
UNK = "[UNK]"

# Punctuation becomes its own token ("great!" -> "great", "!"), and a word's
# clitics stay apart ("don't" -> "don", "'t" would lose the negation cue, so
# apostrophes are kept inside words).
_WORD_PATTERN = r"""([^\w\s'])"""


class IdLookup(keras.layers.Layer):
    """Base of the word, character and token lookups, which share one id layout: 0 is
    padding (`""`), 1 `[UNK]` (a string outside the list), then the list's strings in order.

    The table is made from the list in `__init__`, so there is nothing to build.
    """

    def __init__(self, strings, **kwargs):
        super().__init__(**kwargs)
        self._lookup = keras.layers.StringLookup(
            vocabulary=list(strings) or None, mask_token=PAD, oov_token=UNK, name="lookup"
        )
        self._ids = len(strings) + 2

    def build(self, input_shape=None):
        self.built = True

    @property
    def vocabulary_size(self):
        """Number of ids, padding and `[UNK]` included."""
        return self._ids

    def lookup(self, strings):
        """The ids of a tensor of strings (any shape); 1 (`[UNK]`) for one outside the list."""
        return tf.cast(self._lookup(strings), tf.int32)


@keras.saving.register_keras_serializable(package="seqapps")
class TextVectorizer(IdLookup):
    """Turns a batch of raw strings into right-padded token ids.

    Ids: 0 is padding, 1 is the unknown token `[UNK]`, then the vocabulary in the
    order given. Runs inside `tf.data`, inside a Keras model and inside an exported
    SavedModel, so the vocabulary always travels with the weights.

    Args:
        vocabulary: list of tokens (without the padding and unknown tokens).
        split: `"word"` (lower-cased words, punctuation split off) or `"char"`
            (Unicode characters, case kept).
        lowercase: lower-case before splitting (default: True for words,
            False for characters).
        max_length: keep at most this many tokens of each text (the first ones);
            `None` keeps all.

    Example:

    >>> vectorizer = TextVectorizer(["good", "bad", "!"])
    >>> vectorizer(tf.constant(["Good!", "very bad"])).numpy().tolist()
    [[2, 4], [1, 3]]
    """

    def __init__(self, vocabulary=None, split="word", lowercase=None, max_length=None, **kwargs):
        if split not in ("word", "char"):
            raise ValueError(f"split must be 'word' or 'char', got {split!r}")
        vocabulary = list(vocabulary) if vocabulary is not None else []
        super().__init__(vocabulary, **kwargs)
        self.split = split
        self.lowercase = (split == "word") if lowercase is None else lowercase
        self.max_length = max_length
        self.vocabulary = vocabulary

    #: Ids a generating model must never write: padding and `[UNK]`.
    never_written_ids = (0, 1)

    @property
    def tokens(self):
        """The token of every id, padding (`""`) and `[UNK]` first."""
        return [PAD, UNK, *self.vocabulary]

    def token_id(self, token):
        """The id of one token (1, `[UNK]`, for a token outside the vocabulary)."""
        return self.vocabulary.index(token) + 2 if token in self.vocabulary else 1

    def tokenize(self, texts):
        """Strings (any shape `[batch]`) to a ragged `[batch, None]` tensor of tokens."""
        return split_text(texts, self.split, self.lowercase, self.max_length)

    def call(self, texts):
        tokens = self.tokenize(texts)
        ids = tokens.with_flat_values(self._lookup(tokens.flat_values))
        # At least one step, so an empty text is a fully masked row, not a 0-length batch.
        dense = ids.to_tensor(default_value=0)
        dense = tf.pad(dense, [[0, 0], [0, tf.maximum(1 - tf.shape(dense)[1], 0)]])
        return tf.cast(dense, "int32")

    def detokenize(self, ids):
        """Ids (`[batch, time]`) to strings; padding is dropped, words joined by spaces."""
        tokens = tf.gather(tf.constant(self.tokens), ids)
        separator = "" if self.split == "char" else " "
        return tf.strings.reduce_join(tokens, axis=-1, separator=separator)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "split": self.split,
                "lowercase": self.lowercase,
                "max_length": self.max_length,
            }
        )
        return config


def split_text(texts, split="word", lowercase=True, max_length=None):
    """`TextVectorizer.tokenize` without a vocabulary: strings → ragged `[batch, None]` tokens.

    Other layers that need a text's words as the tokenizer sees them (`LexiconFeatures`) call it.
    """
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if lowercase:
        texts = _lower(texts)
    if split == "char":
        tokens = tf.strings.unicode_split(texts, "UTF-8", errors="replace")
    else:
        spaced = tf.strings.regex_replace(texts, _WORD_PATTERN, r" \1 ")
        tokens = tf.strings.split(spaced)
    if max_length is not None:
        tokens = tokens[:, :max_length]
    return tokens


def _lower(texts):
    """UTF-8 lower-casing of the whole text: `tf.strings.lower` stops at a NUL byte, so
    the pieces between NULs are lowered one by one and joined back."""
    pieces = tf.strings.split(texts, "\x00")
    return tf.strings.reduce_join(
        tf.strings.lower(pieces, encoding="utf-8"), axis=-1, separator="\x00"
    )


def build_vocabulary(
    texts: Iterable[str],
    *,
    split: str = "word",
    lowercase: bool | None = None,
    max_size: int | None = 20000,
    min_count: int = 1,
) -> list[str]:
    """Most frequent tokens of `texts`, tokenized exactly as `TextVectorizer` does.

    Ties are broken alphabetically so the same corpus always gives the same ids.
    """
    counts: collections.Counter[str] = collections.Counter()
    tokenizer = TextVectorizer(split=split, lowercase=lowercase)
    batch = []
    for text in texts:
        batch.append(text)
        if len(batch) == 4096:
            counts.update(_flat_tokens(tokenizer, batch))
            batch = []
    if batch:
        counts.update(_flat_tokens(tokenizer, batch))
    ranked = sorted(
        (token for token, n in counts.items() if n >= min_count and token not in (PAD, UNK)),
        key=lambda token: (-counts[token], token),
    )
    return ranked[:max_size] if max_size else ranked


def _flat_tokens(tokenizer: TextVectorizer, texts: list[str]) -> list[str]:
    flat = tokenizer.tokenize(np.array(texts, dtype=object)).flat_values.numpy()
    return [token.decode("utf-8") for token in flat]
