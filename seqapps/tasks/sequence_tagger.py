"""Sequence tagging (synced many-to-many): one tag per token, e.g. part of speech or entities."""

import keras
import numpy as np
import tensorflow as tf

from seqapps.checks import check_float, check_positive_int
from seqapps.interface import Interface, Option
from seqapps.layers import CharacterEncoder, RecurrentStack
from seqapps.tasks.heads import head_examples, head_names
from seqapps.tasks.tagged_inputs import (
    checked_tag_ids,
    checked_token_lists,
    sentence_token_lists,
    tagged_examples,
)
from seqapps.tasks.task import Task, padded, renumbered, string_signature
from seqapps.tasks.word_vectors import built_from_vectors, word_embedding
from seqapps.text import CharacterLookup, TokenLookup, split_words

#: Tag id of padded steps in the targets: never counted by the loss or the accuracy.
PAD_TAG = -1


@keras.saving.register_keras_serializable(package="seqapps")
class SequenceTagger(Task):
    """Tokens in, one tag per token out: word and spelling vectors → bidirectional stack → softmax.

    Each token is the concatenation of its word vector (looked up lower-cased)
    and a vector of its spelling (a character CNN over the token as written,
    `CharacterEncoder`), so unseen words still get tags from their capitals,
    digits and suffixes. A bidirectional `RecurrentStack` reads the sentence
    both ways and a softmax head tags every step. Padded steps are masked
    throughout: they never count in the loss or the accuracy.

    The model's own input is a right-padded `[batch, time]` string tensor of
    tokens (`""` is padding); targets are tag ids padded with -1
    (`make_dataset` builds both). The plain verb `tag` takes raw strings, split
    by `seqapps.text.split_words`, or pre-split tokens.

    Args:
        vocabulary: the words (lower-cased) with their own vector.
        characters: the characters the spelling encoder knows.
        tags: the tag names, in id order.
        cell: `"rnn"`, `"lstm"` or `"gru"`.
        units: hidden size per direction.
        num_layers: depth of the recurrent stack.
        embedding_dim: size of the word vectors.
        char_embedding_dim: size of the character vectors.
        char_filters: size of the spelling vector.
        max_chars: characters read per token (a longer token keeps its start
            and its end).
        dropout: dropout on the token vectors, between layers and before the head.
        pretrained_dim: size of pretrained word vectors (0: none). Build the
            model with `SequenceTagger.from_vectors`, which fills them in; then
            `embedding_dim` is the size of a second table, trained from scratch
            for the training words only.
        pretrained_mode: `"finetune"`, `"frozen"` or `"offset"` (pretrained
            vectors plus a trained offset); see `seqapps.layers.WordEmbedding`.
        trained_rows: with pretrained vectors, the ids (from 0) of the words
            with rows in the trained table are those below this.
        word_dropout: with pretrained vectors, the share of training tokens
            whose trained row is hidden, as a word never seen in training has
            none: the model learns to tag from the pretrained vector and the
            spelling alone.

    Example:

    >>> import seqapps
    >>> model = seqapps.load("pos-brown-lstm")
    >>> model.tag("The dog barks at 3 cats.")  # doctest: +NORMALIZE_WHITESPACE
    [('The', 'DET'), ('dog', 'NOUN'), ('barks', 'VERB'), ('at', 'ADP'), ('3', 'NUM'),
     ('cats', 'NOUN'), ('.', '.')]
    """

    task_name = "token-classification"
    interface = Interface(
        "tag",
        "tag the tokens of sentences (arguments, --file, or lines on stdin)",
        finetune=(Option("--conll", "path", "a CoNLL file", "path", required=True),),
    )
    head_layers = ("head",)
    head_arguments = ("tags",)
    finetune_unit = "sentences"

    def __init__(
        self,
        vocabulary,
        characters,
        tags,
        cell="lstm",
        units=128,
        num_layers=1,
        embedding_dim=100,
        char_embedding_dim=32,
        char_filters=64,
        max_chars=16,
        dropout=0.0,
        pretrained_dim=0,
        pretrained_mode="finetune",
        trained_rows=None,
        word_dropout=0.0,
        **kwargs,
    ):
        word_dropout = check_float(word_dropout, "word_dropout", low=0, high=1, open_high=True)
        tags = head_names(tags, "tags")
        # Layers.
        words = TokenLookup(vocabulary, name="words")
        chars = CharacterLookup(characters, max_chars, name="characters")
        embedding = word_embedding(
            words.vocabulary_size,
            embedding_dim,
            pretrained_dim=pretrained_dim,
            pretrained_mode=pretrained_mode,
            trained_rows=trained_rows,
            trained_dropout=word_dropout,
        )
        spelling = CharacterEncoder(
            chars.vocabulary_size, char_embedding_dim, char_filters, name="spelling"
        )
        encoder = RecurrentStack(
            cell,
            units,
            num_layers=num_layers,
            bidirectional=True,
            dropout=dropout,
            return_sequences=True,
            name="encoder",
        )
        head = keras.layers.Dense(len(tags), activation="softmax", name="head")

        # Functional graph.
        tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
        vectors = keras.layers.Concatenate(name="token_vectors")(
            [embedding(words(tokens)), spelling(chars(tokens))]
        )
        x = keras.layers.Dropout(dropout, name="token_dropout")(vectors)
        x = encoder(x)
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        super().__init__(inputs=tokens, outputs=head(x), **kwargs)

        # Config.
        self.tokenizer = words  # tokens → word ids; `character_tokenizer`: → character ids
        self.character_tokenizer = chars
        self.vocabulary = list(vocabulary)
        self.characters = list(characters)
        self.tags = tags
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.char_embedding_dim = char_embedding_dim
        self.char_filters = char_filters
        self.max_chars = max_chars
        self.dropout = dropout
        self.pretrained_dim = pretrained_dim
        self.pretrained_mode = pretrained_mode
        self.trained_rows = trained_rows
        self.word_dropout = word_dropout
        self.compile()

    @classmethod
    def from_vectors(
        cls, vectors, vocabulary, characters, tags, *, vocabulary_size=60000, seed=0, **kwargs
    ):
        """A tagger whose word vectors start from pretrained `vectors` (a `WordVectors`).

        `vocabulary` holds the training words (lower-cased); the most frequent
        words of `vectors` it lacks are added up to `vocabulary_size` words in
        all, so a word never seen in training still brings its meaning, beside
        its spelling. Other keyword arguments go to the constructor
        (`embedding_dim` is then the trained table beside the vectors, 0 for
        none). Returns the model and the `EmbeddingInit`.

        Example:

        >>> from seqapps.text import WordVectors
        >>> vectors = WordVectors(["the", "dog", "cat"], np.eye(3, dtype="float32"))
        >>> model, init = SequenceTagger.from_vectors(
        ...     vectors, ["the", "dog"], "adefghot", ["DET", "NOUN"], vocabulary_size=3, units=4)
        >>> model.vocabulary, model.trained_rows
        (['the', 'dog', 'cat'], 4)
        """
        return built_from_vectors(
            cls,
            vectors,
            vocabulary,
            characters,
            tags,
            vocabulary_size=vocabulary_size,
            seed=seed,
            **kwargs,
        )

    def get_config(self):
        return {
            "vocabulary": self.vocabulary,
            "characters": self.characters,
            "tags": self.tags,
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "embedding_dim": self.embedding_dim,
            "char_embedding_dim": self.char_embedding_dim,
            "char_filters": self.char_filters,
            "max_chars": self.max_chars,
            "dropout": self.dropout,
            "pretrained_dim": self.pretrained_dim,
            "pretrained_mode": self.pretrained_mode,
            "trained_rows": self.trained_rows,
            "word_dropout": self.word_dropout,
        }

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD_TAG)
        if metrics == "auto":
            metrics = [TokenAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # -- data --------------------------------------------------------------------

    def make_dataset(self, sentences, tags=None, *, batch_size=32, shuffle=False, seed=0):
        """Token lists and their tags → batches of `(tokens [b, t], tag ids [b, t])`.

        `sentences` is a list of token lists with `tags` a list of tag lists
        (names or ids), or a `tf.data.Dataset` of `(tokens, tag_ids)` pairs such
        as `seqapps.datasets.from_conll(...)[0]` or the bundled `brown_pos`.
        Sentences of similar length are batched together.
        """
        from seqapps import datasets

        check_positive_int(batch_size, "batch_size")
        sentences = self._examples(sentences, tags, "sentences")
        if shuffle:
            sentences = sentences.shuffle(50_000, seed=seed, reshuffle_each_iteration=True)
        sentences = sentences.map(lambda tokens, ids: (tokens, tf.cast(ids, tf.int32)))
        return datasets.bucket_by_length(
            sentences,
            lambda tokens, ids: tf.shape(tokens)[0],
            [10, 20, 30, 40, 60],
            batch_size=batch_size,
            padding_values=("", PAD_TAG),
        ).prefetch(tf.data.AUTOTUNE)

    def finetune(self, x, y=None, **options):
        """Trains on the user's tagged sentences (see `Task.finetune` for the options).

        `x` holds token lists with their tag lists in `y` (names or ids), or is
        a `tf.data.Dataset` of `(tokens, tag_ids)` such as
        `seqapps.datasets.from_conll(path, label_names=model.tags)[0]`: ids
        must follow the order of `model.tags` (without `label_names`,
        `from_conll` numbers the file's own tags in sorted order; ids outside
        the model's tags are refused before training). For a new tag set (e.g.
        named entities), load the model with `tags=[...]` first: the pretrained
        word, spelling and recurrent layers are kept and the head starts
        afresh. `validation_data` is `(sentences, tags)` or a dataset like `x`;
        without it, `validation_fraction` of the sentences is held out (equal
        sentences on one side).
        """
        return super().finetune(x, y, **options)

    def finetune_examples(self, x, y=None):
        return self._examples(x, y, "x")

    def _examples(self, sentences, tags, name):
        """Unbatched `(tokens, tag ids)`: a dataset with its ids checked, or lists read once."""
        if not isinstance(sentences, tf.data.Dataset):
            sentences = checked_token_lists(sentences, name)
            return tagged_examples(
                sentences, checked_tag_ids(tags, [len(s) for s in sentences], self.tags)
            )
        if tags is not None:
            raise ValueError(f"pass the tags inside the tf.data.Dataset, not beside {name}")
        return head_examples(sentences, self, 1)

    def finetune_batches(self, examples, batch_size, *, shuffle=False, seed=0):
        return self.make_dataset(examples, batch_size=batch_size, shuffle=shuffle, seed=seed)

    # -- the plain verb ----------------------------------------------------------

    def tag(self, sentences, *, is_split_into_words=None, all_scores=False, batch_size=64):
        """Tags sentences: per sentence a list of `(token, tag)` pairs.

        Args:
            sentences: a raw string (one sentence, split by
                `seqapps.text.split_words`), a list of raw strings
                (`is_split_into_words=False`), a list of tokens
                (`is_split_into_words=True`, one sentence), or a list of token
                lists. A flat list of strings is ambiguous, so it needs
                `is_split_into_words`.
            all_scores: give `(token, {tag: probability})` pairs instead.

        An empty sentence gives `[]`. Sentences have no length limit: a
        recurrent layer reads any number of tokens, at a cost linear in it.
        One sentence gives one list; several give a list of lists.
        """
        check_positive_int(batch_size, "batch_size")
        token_lists, single = sentence_token_lists(sentences, is_split_into_words, self.split)

        def label(p):
            return dict(zip(self.tags, map(float, p))) if all_scores else self.tags[p.argmax()]

        found = self._probabilities(token_lists, batch_size)
        results = [[(t, label(p)) for t, p in zip(*row)] for row in zip(token_lists, found)]
        return results[0] if single else results

    def answer(self, inputs, **options):
        tagged = self.tag(list(inputs), is_split_into_words=False, **options)
        rows = [([t for t, _ in pairs], [g for _, g in pairs]) for pairs in tagged]
        return [{"text": x, "tokens": t, "tags": g} for x, (t, g) in zip(inputs, rows)]

    def plain(self, inputs, **options):
        for answer in self.answer(inputs, **options):
            yield " ".join(map("/".join, zip(answer["tokens"], answer["tags"]))) + "\n"

    def finetune_data(self, path):
        from seqapps import datasets

        examples, tags = datasets.from_conll(path)  # parsed once, renumbered for the model
        model = self.with_head(tags=tags)
        return model, (renumbered(examples, tags, model.tags),), {}

    def inspect_inputs(self, texts):
        return padded(tokens := self.split(list(texts)), ""), tokens

    @staticmethod
    def split(texts):
        """Raw strings → token lists, by the tokenizer the model and its export use."""
        return [[t.decode("utf-8") for t in row] for row in split_words(texts).to_list()]

    def _probabilities(self, token_lists, batch_size):
        """Per sentence, the tag probabilities of its tokens `[tokens, tags]`."""
        order = np.argsort([len(tokens) for tokens in token_lists], kind="stable")
        found = [None] * len(token_lists)
        if "_inference_function" not in self.__dict__:
            signature = [tf.TensorSpec([None, None], tf.string)]
            function = tf.function(lambda x: self(x, training=False), input_signature=signature)
            self.__dict__["_inference_function"] = function
        function = self.__dict__["_inference_function"]
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = padded([token_lists[r] for r in rows], "")
            probabilities = function(tf.constant(batch)).numpy()
            for i, r in enumerate(rows):
                found[r] = probabilities[i, : len(token_lists[r])]
        return found

    def score(self, sentences, tags, *, known_words=None, batch_size=64) -> dict:
        """Token accuracy of the predicted tags (and entity F1 for BIO tags).

        Args:
            sentences: token lists; `tags`: their gold tag names.
            known_words: the training words; adds the accuracy on tokens
                outside them (`accuracy_unseen`) and their count.

        For tag sets in the BIO scheme (`B-PER`, `I-PER`, `O`, ...), also the
        entity-level precision, recall and F1 of seqeval (an entity counts only
        when its type and both ends are right).
        """
        sentences = checked_token_lists(sentences, "sentences")
        if not any(sentences):
            raise ValueError("score needs at least one sentence with a token; got none")
        ids = checked_tag_ids(tags, [len(s) for s in sentences], self.tags)  # names or ids, checked
        tags = [[self.tags[i] for i in row] for row in ids]
        predicted = [[tag for _, tag in row] for row in self.tag(sentences, batch_size=batch_size)]
        pairs = [
            (token, gold, guess)
            for tokens, gold_row, guess_row in zip(sentences, tags, predicted)
            for token, gold, guess in zip(tokens, gold_row, guess_row)
        ]
        accuracy = round(float(np.mean([g == p for _, g, p in pairs])), 4)
        result = {"accuracy": accuracy, "tokens": len(pairs)}
        if known_words is not None:
            unseen = [g == p for t, g, p in pairs if t not in known_words]
            result["accuracy_unseen"] = round(float(np.mean(unseen)), 4) if unseen else None
            result["unseen_tokens"] = len(unseen)
        if is_bio(self.tags):
            from seqeval.metrics import f1_score, precision_score, recall_score

            metrics = {"precision": precision_score, "recall": recall_score, "f1": f1_score}
            for name, metric in metrics.items():
                result[f"entity_{name}"] = round(float(metric([*map(list, tags)], predicted)), 4)
        return result

    # -- export ------------------------------------------------------------------

    def serving_endpoints(self):
        """`tag(texts: string [batch])` → tokens and tags, both `[batch, time]` padded with `""`, and
        `lengths [batch]`: the tokens of row i are `tokens[i, :lengths[i]]`."""
        tag_names = tf.constant(self.tags)

        def tag(texts):
            tokens = split_words(texts)
            padded = tokens.to_tensor("")
            padded = tf.pad(padded, [[0, 0], [0, tf.maximum(1 - tf.shape(padded)[1], 0)]])
            ids = tf.argmax(self(padded, training=False), axis=-1, output_type=tf.int32)
            present = tf.not_equal(padded, "")
            return {
                "tokens": padded,
                "tags": tf.where(present, tf.gather(tag_names, ids), ""),
                "lengths": tf.cast(tokens.row_lengths(), tf.int32),
            }

        return {"tag": (tag, string_signature("texts"))}

    def _write_export_assets(self, assets_dir):
        assets_dir.mkdir(parents=True, exist_ok=True)
        (assets_dir / "tags.txt").write_text("\n".join(self.tags) + "\n", encoding="utf-8")


def is_bio(tags) -> bool:
    """Whether a tag set follows the BIO (IOB2) scheme: `O` plus `B-X`/`I-X` tags."""
    return "O" in tags and all(t == "O" or t[:2] in ("B-", "I-") for t in tags)


@keras.saving.register_keras_serializable(package="seqapps")
class TokenAccuracy(keras.metrics.Mean):
    """The share of tokens tagged right; padded steps (target -1) do not count."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.cast(y_true, tf.int32)
        present = tf.cast(tf.not_equal(y_true, PAD_TAG), self.dtype)
        if sample_weight is not None:
            present = present * tf.cast(sample_weight, self.dtype)
        right = tf.cast(tf.equal(tf.argmax(y_pred, -1, output_type=tf.int32), y_true), self.dtype)
        return super().update_state(right, sample_weight=present)
