"""Pre-split tokens to ids: one id per token, and the character ids of each token.

Tagging models read text that is already split into tokens (one tag per
token), so their preprocessors take a right-padded `[batch, time]` string
tensor, `""` marking padding, instead of raw strings. `split_words` is the
tokenizer they use for raw strings.
"""

import keras
import tensorflow as tf

from seqapps.text.vectorizer import IdLookup, _lower

# Raw text → tokens: punctuation becomes its own token, except apostrophes and
# hyphens ("didn't", "well-known") and periods and commas inside a token
# ("3.5", "1,000", "U.S.,"  → "U.S." ","). One period or comma before a space or
# the end is split off ("U.S. today" → "U.S" "." "today"; abbreviations are not
# recognised); "--" is one token.
_SPLITS = (
    # Every character Python's str.isspace() counts becomes a plain space.
    (r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\p{Z}]", " "),
    (r"--", r" -- "),
    (r"([^\p{L}\p{M}\p{N}\s'.,\-_])", r" \1 "),  # marks stay on their letter
    (r"([.,])(\s|$)", r" \1\2"),
    (r"(^|\s)([.,])", r"\1\2 "),
)


def split_words(texts):
    """Raw strings `[batch]` → a ragged `[batch, None]` tensor of tokens (TensorFlow ops)."""
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    for pattern, rewrite in _SPLITS:
        texts = tf.strings.regex_replace(texts, pattern, rewrite)
    return tf.strings.split(texts)


@keras.saving.register_keras_serializable(package="seqapps")
class TokenLookup(IdLookup):
    """Padded tokens `[batch, time]` → word ids `[batch, time]`; `""` → 0, unknown → 1.

    Args:
        vocabulary: the tokens, without padding and `[UNK]` (ids start at 2).
        lowercase: look tokens up lower-cased (the vocabulary should be too).
    """

    def __init__(self, vocabulary, lowercase=True, **kwargs):
        vocabulary = list(vocabulary)
        super().__init__(vocabulary, **kwargs)
        self.vocabulary = vocabulary
        self.lowercase = lowercase

    def call(self, tokens):
        tokens = tf.convert_to_tensor(tokens, tf.string)
        if self.lowercase:
            tokens = tf.reshape(_lower(tf.reshape(tokens, [-1])), tf.shape(tokens))
        return self.lookup(tokens)

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(tokens.shape, dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "lowercase": self.lowercase,
        }


@keras.saving.register_keras_serializable(package="seqapps")
class CharacterLookup(IdLookup):
    """Padded tokens `[batch, time]` → character ids `[batch, time, max_chars]`.

    Case is kept. Ids: 0 padding, 1 a character outside `characters`, then
    `characters` in order. A token longer than `max_chars` keeps its first
    `max_chars // 2` and last `max_chars - max_chars // 2` characters, so both
    its prefix and its suffix (`-ing`, `-ly`) are seen.
    """

    def __init__(self, characters, max_chars=16, **kwargs):
        characters = list(characters)
        super().__init__(characters, **kwargs)
        self.characters = characters
        self.max_chars = int(max_chars)

    def call(self, tokens):
        tokens = tf.convert_to_tensor(tokens, tf.string)
        chars = tf.strings.unicode_split(tf.reshape(tokens, [-1]), "UTF-8", errors="replace")
        head = self.max_chars // 2
        ends = tf.concat([chars[:, :head], chars[:, head - self.max_chars :]], axis=1)
        long = chars.row_lengths() > self.max_chars
        ids = tf.ragged.map_flat_values(self._lookup, chars).to_tensor(
            0, shape=[None, self.max_chars]
        )
        end_ids = tf.ragged.map_flat_values(self._lookup, ends).to_tensor(
            0, shape=[None, self.max_chars]
        )
        ids = tf.where(long[:, None], end_ids, ids)
        shape = tf.concat([tf.shape(tokens), [self.max_chars]], 0)
        return tf.cast(tf.reshape(ids, shape), "int32")

    def compute_output_spec(self, tokens):
        return keras.KerasTensor((*tokens.shape, self.max_chars), dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "characters": self.characters,
            "max_chars": self.max_chars,
        }
