"""Opinion-lexicon features: a few numbers per word from AFINN-111 and Liu's opinion words.

`LexiconFeatures` turns raw texts into `[batch, time, 4]` floats, one row per word of the
classifier's tokenizer (same split, same `max_length`, so the rows line up with its ids):

0. the AFINN-111 score / 5 (-1..+1; 0 for an unrated word);
1. 1 if the word is in Liu's positive list;
2. 1 if the word is in Liu's negative list;
3. 1 if one of the `negation_window` (3) words before it is a negator ("not", "no", "never",
   "without", a word ending in "n't" such as "didn't", or its apostrophe-less spelling "didnt").

Matching rules. Texts are split exactly as `TextVectorizer` splits words: lower-cased, punctuation
split off, apostrophes kept inside words ("don't" is one word, "well-known" three: "well" "-"
"known"). Each lexicon entry is split the same way and matched as that sequence of tokens, so
AFINN's 15 phrases ("not good", "can't stand", "fed up") and Liu's 221 hyphenated words
("well-known", "2-faced") match where they occur; a phrase's numbers go to its last word and
replace that word's own (the longest entry ending at a word wins). Matching is exact after
lower-casing: no stemming ("recommend" is rated, "recommends" is not unless listed), and a word's
curly apostrophe does not match the lists' straight one. The word lists travel with the model as
a name (`"opinion-en"`); the numbers are read from the bundled, sha256-pinned
`seqapps/datasets/opinion_lexicon/lexicon.json` and baked into an export.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqapps.text.vectorizer import split_text

LEXICONS = {
    # name: (file under the bundled datasets folder, its sha256)
    "opinion-en": (
        "opinion_lexicon/lexicon.json",
        "495ab9562de4fd4a5d6dbfa1e38df2186d2d1a46bc7772b964d7416a23130c8d",
    ),
}
REBUILD = "python datasets/sources/opinion_lexicon.py"
FEATURE_NAMES = ("afinn", "liu_positive", "liu_negative", "negated")
NEGATORS = (
    "not no never none nobody nothing neither nor nowhere cannot without hardly "
    "dont doesnt didnt isnt arent wasnt werent cant couldnt wont wouldnt shouldnt havent hasnt "
    "hadnt aint"
).split()
MAX_ENTRY_TOKENS = 4


def lexicon_path(name: str) -> Path:
    import seqapps.datasets

    if name not in LEXICONS:
        raise ValueError(f"unknown lexicon {name!r}; the lexicons are {sorted(LEXICONS)}")
    return Path(seqapps.datasets.__file__).parent / LEXICONS[name][0]


@functools.lru_cache(maxsize=4)
def load_lexicon(name: str = "opinion-en") -> dict:
    """The bundled word lists of `name`, after checking the file against its pinned sha256.

    Returns `{"afinn_111": {entry: score}, "liu_positive": [...], "liu_negative": [...]}`.
    """
    path = lexicon_path(name)
    fix = f"reinstall seqapps, or rebuild the file with `{REBUILD}`"
    if not path.is_file():
        raise FileNotFoundError(f"lexicon file {path} is missing; {fix}")
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != LEXICONS[name][1]:
        raise ValueError(
            f"lexicon file {path} has sha256 {digest}, expected {LEXICONS[name][1]}: it was "
            f"altered or truncated; {fix}"
        )
    lists = json.loads(payload.decode("utf-8"))
    return {key: lists[key] for key in ("afinn_111", "liu_positive", "liu_negative")}


def entry_table(lists: dict, split_entries) -> dict[str, list[float]]:
    """Entries keyed by their tokens joined with spaces → `[afinn / 5, positive, negative]`.

    `split_entries` splits a list of entries into token lists as the model splits text. Entries
    longer than `MAX_ENTRY_TOKENS` tokens are dropped (there are none in the bundled lists).
    """
    entries = [*lists["afinn_111"], *lists["liu_positive"], *lists["liu_negative"]]
    keys = {entry: " ".join(tokens) for entry, tokens in zip(entries, split_entries(entries))}
    table: dict[str, list[float]] = {}

    def row(entry: str) -> list[float] | None:
        key = keys[entry]
        if not key or key.count(" ") >= MAX_ENTRY_TOKENS:
            return None
        return table.setdefault(key, [0.0, 0.0, 0.0])

    for entry, score in lists["afinn_111"].items():
        if (values := row(entry)) is not None:
            values[0] = score / 5.0
    for column, key in ((1, "liu_positive"), (2, "liu_negative")):
        for entry in lists[key]:
            if (values := row(entry)) is not None:
                values[column] = 1.0
    return table


@keras.saving.register_keras_serializable(package="seqapps")
class LexiconFeatures(keras.layers.Layer):
    """Raw texts `[batch]` → lexicon features `[batch, time, 4]` (see the module docstring).

    Args:
        lexicon: the bundled word lists, `"opinion-en"` (AFINN-111 + Liu).
        max_length: words kept per text, as the tokenizer beside it.
        negation_window: how many words a negator reaches (0: no negation feature, 3 outputs).

    Example:

    >>> features = LexiconFeatures()
    >>> features(tf.constant(["not a good film"])).numpy()[0, 2].tolist()  # "good"
    [0.6000000238418579, 1.0, 0.0, 1.0]
    """

    def __init__(self, lexicon="opinion-en", max_length=None, negation_window=3, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(negation_window, int) or negation_window < 0:
            raise ValueError(f"negation_window must be an integer >= 0, got {negation_window!r}")
        self.lexicon = lexicon
        self.max_length = max_length
        self.negation_window = negation_window
        table = entry_table(load_lexicon(lexicon), self._split_entries)
        keys = sorted(table)
        self._table = table
        self.entry_lengths = sorted({key.count(" ") + 1 for key in keys})
        self._values = tf.constant(
            np.array([[0.0, 0.0, 0.0]] + [table[k] for k in keys], "float32")
        )
        self._rows = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys), tf.range(1, len(keys) + 1, dtype=tf.int64)
            ),
            default_value=0,
        )
        self._negators = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(NEGATORS), tf.ones([len(NEGATORS)], tf.int64)
            ),
            default_value=0,
        )

    @staticmethod
    def _split_entries(entries: list[str]) -> list[list[str]]:
        rows = split_text(tf.constant(entries)).to_list()
        return [[token.decode("utf-8") for token in row] for row in rows]

    def build(self, input_shape=None):
        self.built = True

    @property
    def output_dim(self):
        return 3 + (1 if self.negation_window else 0)

    def call(self, texts):
        tokens = split_text(texts, max_length=self.max_length).to_tensor(default_value="")
        tokens = tf.pad(tokens, [[0, 0], [0, tf.maximum(1 - tf.shape(tokens)[1], 0)]])
        steps = tf.shape(tokens)[1]
        rows = tf.zeros_like(tokens, dtype=tf.int64)
        # Longest entries last, so they overwrite the shorter ones ending at the same word.
        for n in self.entry_lengths:
            # The n-gram ending at each step, "" where it would start before the text.
            padded = tf.pad(tokens, [[0, 0], [n - 1, 0]])
            grams = padded[:, :steps]
            for shift in range(1, n):
                grams = tf.strings.join([grams, padded[:, shift : shift + steps]], separator=" ")
            found = self._rows.lookup(grams)
            if n > 1:
                found = tf.where(padded[:, :steps] == "", tf.zeros_like(found), found)
            rows = tf.where(found > 0, found, rows)
        features = tf.gather(self._values, rows)
        if not self.negation_window:
            return features
        negator = tf.logical_or(
            self._negators.lookup(tokens) > 0,
            tf.strings.regex_full_match(tokens, r".+n't"),
        )
        negator = tf.cast(negator, "float32")
        reached = tf.zeros_like(negator)
        for shift in range(1, self.negation_window + 1):
            before = tf.pad(negator, [[0, 0], [shift, 0]])[:, :steps]
            reached = tf.maximum(reached, before)
        return tf.concat([features, reached[..., None]], axis=-1)

    def client_spec(self) -> dict:
        """What a client needs to give the same numbers without TensorFlow (a LiteRT export's
        asset; `seqapps.litert.tokenize.LexiconRows` reads it): the entries keyed by their
        tokens, the negators and the window."""
        return {
            "entries": self._table,
            "negators": list(NEGATORS),
            "negation_window": self.negation_window,
        }

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], None, self.output_dim), dtype="float32")

    def get_config(self):
        return {
            **super().get_config(),
            "lexicon": self.lexicon,
            "max_length": self.max_length,
            "negation_window": self.negation_window,
        }
