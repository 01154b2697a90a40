"""Text generation (many-to-many): a character-level (or word-level) RNN language model."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqapps import generation
from seqapps.interface import GENERATION, PROBABILITIES, Interface, Option
from seqapps.layers import OneHot, RecurrentStack
from seqapps.tasks.generative import GenerativeTask, joined
from seqapps.tasks.inputs import check_prompt, read_texts, text_dataset
from seqapps.tasks.task import padded
from seqapps.tasks.text_scoring import score_streams
from seqapps.text import TextVectorizer
from seqapps.text.vectorizer import UNK

#: Read before the first character of every text: in training (each work
#: starts after it), before a prompt, and before a text that is scored.
START = "\n"
#: Upper bound of `max_length` in every task (`seqapps.generation`); the SavedModel clips to it.
MAX_LENGTH = generation.MAX_LENGTH
#: Upper bound of a prompt's length in characters: reading one costs about a
#: millisecond per character, so a pasted book would hold a process for minutes.
MAX_PROMPT_LENGTH = 20_000
#: Time steps read per call when scoring; the state is carried between chunks.
SCORE_CHUNK = 2048


@keras.saving.register_keras_serializable(package="seqapps")
class TextGenerator(GenerativeTask):
    """A recurrent language model that writes text: embedding → recurrent stack → logits.

    The model's input is token ids `[batch, time]` and its output the logits of
    the next token at every step `[batch, time, vocabulary]`, so `fit` trains it
    on shifted windows of a corpus (see `windows`). The plain verbs take raw
    text: `generate` / `stream` write, `score` measures bits per character.

    Generation is a step function over the recurrent state (the state is the
    whole cache of an RNN): the prompt is read once, then each new token costs
    one step, however long the text already is.

    Characters (or words) outside the vocabulary are read as `[UNK]`; the
    model never writes `[UNK]` or padding.

    Args:
        vocabulary: the tokens (characters for `split="char"`), see
            `seqapps.text.build_vocabulary`.
        split: `"char"` (default) or `"word"`.
        lowercase: lower-case text before splitting (default: False for
            characters, True for words).
        cell: `"rnn"`, `"lstm"` or `"gru"`.
        units: hidden size of each recurrent layer.
        num_layers: depth of the recurrent stack.
        embedding_dim: size of the learned token vectors; `None` feeds one-hot
            vectors instead (the lecture's form, for tiny vocabularies).
        dropout: dropout on the token vectors, between layers and before the head.

    Example:

    >>> import seqapps
    >>> model = seqapps.load("textgen-shakespeare-lstm")
    >>> print(model.generate("ROMEO:", max_length=200, temperature=0.8, seed=1))  # doctest: +SKIP
    >>> model.score("To be, or not to be, that is the question.")["bits_per_char"]  # doctest: +SKIP
    """

    task_name = "text-generation"
    finetune_unit = "windows"
    interface = Interface(
        "generate",
        "write text, streamed as it is produced",
        inputs=None,
        options=(
            Option("--prompt", "prompt", "the beginning of the text", default=""),
            *GENERATION,
            Option("--stop", "stop", "stop after this string (repeatable)", "append"),
            PROBABILITIES,
        ),
        finetune=(
            Option("--text-file", "path", "a text file or folder of them", "path", required=True),
        ),
    )
    head_layers = ("head",)
    max_output_length = 400  # tokens written when `max_length` is None
    end_id = None  # free text: only `max_length` (or a stop string) ends it

    def __init__(
        self,
        vocabulary,
        split="char",
        lowercase=None,
        cell="lstm",
        units=512,
        num_layers=1,
        embedding_dim=64,
        dropout=0.0,
        **kwargs,
    ):
        # Layers.
        tokenizer = TextVectorizer(vocabulary, split=split, lowercase=lowercase, name="vectorizer")
        if embedding_dim is None:
            embedding = OneHot(tokenizer.vocabulary_size, name="embedding")
        else:
            embedding = keras.layers.Embedding(
                tokenizer.vocabulary_size, embedding_dim, name="embedding"
            )
        decoder = RecurrentStack(
            cell,
            units,
            num_layers=num_layers,
            dropout=dropout,
            return_sequences=True,
            return_state=True,
            name="decoder",
        )
        embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        output_dropout = keras.layers.Dropout(dropout, name="output_dropout")
        head = keras.layers.Dense(tokenizer.vocabulary_size, name="head")

        # Functional graph: no mask, since padding only ever follows a text (on
        # the right) and a left-to-right RNN never lets it reach earlier steps.
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        x = embedding_dropout(embedding(token_ids))
        x, _ = decoder(x)
        logits = head(output_dropout(x))
        super().__init__(inputs=token_ids, outputs=logits, **kwargs)

        # Config.
        self.tokenizer = tokenizer
        self.vocabulary = list(vocabulary)
        self.split = split
        self.lowercase = tokenizer.lowercase
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.compile()

    def get_config(self):
        return {
            "vocabulary": self.vocabulary,
            "split": self.split,
            "lowercase": self.lowercase,
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
        }

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(2e-3, clipnorm=1.0)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = []
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # -- ids ---------------------------------------------------------------------

    @property
    def num_states(self):
        return len(self.get_layer("decoder").state_names)

    @property
    def start_id(self):
        """Id of `START`, read before the first token of every text."""
        return self.tokenizer.token_id(START)

    def token_ids(self, text: str) -> np.ndarray:
        """The ids of one text, int32 `[length]` (no padding)."""
        return self._ids(tf.constant(text)).numpy()

    def _ids(self, text):
        """A scalar string tensor to int32 ids `[length]`; traceable."""
        tokens = self.tokenizer.tokenize(tf.reshape(text, [1])).flat_values
        return self.tokenizer.lookup(tokens)

    def _prompt_ids(self, prompt):
        """`[1, 1 + length]` ids: `START`, then the prompt, which thus begins a text."""
        return tf.concat([[self.start_id], self._ids(prompt)], 0)[None]

    def token_stream(self, texts) -> np.ndarray:
        """The texts as one int32 stream of ids, each text read as `START + text`."""
        return np.concatenate([[self.start_id, *self.token_ids(t)] for t in texts]).astype("int32")

    def windows(self, texts, length=100, stride=None, offset=0):
        """`(inputs, targets)` int32 arrays `[n, length]` cut from texts for training.

        The texts are concatenated by `token_stream`; targets are the inputs
        shifted by one token. Windows start every `stride` tokens (default:
        `length`, no overlap) from `offset`; the tail shorter than a window is
        dropped.
        """
        stream = texts if isinstance(texts, np.ndarray) else self.token_stream(texts)
        starts = np.arange(offset, len(stream) - length, stride or length)
        index = starts[:, None] + np.arange(length)[None, :]
        return stream[index], stream[index + 1]

    # -- the step function -------------------------------------------------------

    def read(self, token_ids, state):
        """One call of the model over `[batch, time]` ids from a packed state.

        Returns `(logits [batch, time, vocabulary], state)`; `state` is the
        recurrent state packed as one float32 tensor `[num_states, batch,
        units]` (`zero_state` to start).
        """
        x = self.get_layer("embedding")(token_ids)
        x, states = self.get_layer("decoder")(x, initial_state=tf.unstack(state), training=False)
        return self.get_layer("head")(x), tf.stack(states)

    def zero_state(self, batch_size=1):
        return tf.zeros([self.num_states, batch_size, self.units])

    def step(self, token_ids, state):
        """One generation step: `token_ids [batch]` read → `(logits [batch, vocabulary], state)`.

        Here `state` has the batch first, `[batch, num_states, units]`, as the
        shared decode loop wants it (beam search repeats and reorders rows).
        """
        logits, state = self.read(token_ids[:, None], tf.transpose(state, [1, 0, 2]))
        return logits[:, -1], tf.transpose(state, [1, 0, 2])

    @property
    def output_tokenizer(self):
        return self.tokenizer

    def initial_state(self, prompts):
        """For one prompt (string `[1]`): `(state, last_id)`, the state after all of `START +
        prompt` but its last token, which is read first (a prompt's read is not batched)."""
        ids = self._prompt_ids(tf.reshape(prompts, []))
        zero = self.zero_state()
        state = tf.cond(tf.shape(ids)[1] > 1, lambda: self.read(ids[:, :-1], zero)[1], lambda: zero)
        return tf.transpose(state, [1, 0, 2]), ids[:, -1]  # batch first, as `step` takes it

    def detokenize(self, tokens):
        """Written ids `[batch, time]` → `[batch]` texts, as `stream` writes them."""
        texts = self.tokenizer.detokenize(tokens)
        if self.split != "word":
            return texts
        # Word-level: every written word follows a space.
        return tf.where(tf.reduce_any(tokens > 0, axis=1), " " + texts, "")

    def state_spec(self):
        """The packed state of `read` and the export's `step`: `[num_states, batch, units]`."""
        return tf.TensorSpec([self.num_states, None, self.units], tf.float32)

    def step_state_spec(self):
        return tf.TensorSpec([None, self.num_states, self.units], tf.float32)

    def token_text(self, token_id) -> str:
        """The text of one written token, with its separator for word-level models."""
        separator = " " if self.split == "word" else ""
        return separator + self.tokenizer.tokens[int(token_id)]

    # -- the plain verbs ---------------------------------------------------------

    def stream(
        self, prompt="", max_length=None, *, generation_config=None, probabilities=False, **options
    ) -> Iterator[str]:
        """Yields the continuation of `prompt` token by token, as it is produced.

        Args:
            prompt: the beginning of the text to write: it is read after
                `START` (as every training text is), so `""` starts from the
                model's start state. Characters outside the vocabulary are
                read as `[UNK]`. At most `MAX_PROMPT_LENGTH` (20,000) characters.
            max_length: tokens to write, 0..`MAX_LENGTH` (100,000); None: 400.
            generation_config, **options: how to write, a `seqapps.GenerationConfig`
                and/or its fields as keywords: `temperature` (default 0,
                greedy; e.g. 0.8 to sample), `top_k`, `top_p`, `seed` (an int
                gives the same text in Python, the CLI and the exported
                SavedModel), `beam_size`, `length_penalty`,
                `no_repeat_ngram_size`, and `stop`: a string or list of
                strings after which writing ends (it is included). With
                `beam_size > 1` or `no_repeat_ngram_size` the whole text is
                written first (the beams and the n-gram rule need it), then
                yielded piece by piece.
            probabilities: yield `{"piece", "probability"}` dicts instead (`GenerativeTask._pieces`).
        """
        return self._written(prompt, max_length, generation_config, options, False, probabilities)

    def generate(self, prompt="", max_length=None, *, generation_config=None, **options) -> str:
        """The continuation of `prompt`, without the prompt; the arguments are `stream`'s.

        The command line's `seqapps generate` prints the same text.
        """
        return "".join(self._written(prompt, max_length, generation_config, options, True))

    def _written(self, prompt, max_length, generation_config, options, whole, probabilities=False):
        """`_pieces` for `prompt`, checked now; `whole`, without a stop string, in one traced loop."""
        prompt = check_prompt(prompt, MAX_PROMPT_LENGTH)
        options = options if max_length is None else {**options, "max_length": max_length}
        config = self.options_for(generation_config, **options)
        spec = tf.TensorSpec([], tf.string)
        return self._pieces(prompt, spec, config, whole and not config.stop, probabilities)

    def score(self, texts, *, batch_size=32) -> dict:
        """How well the model predicts raw text: nats and bits per character, perplexity.

        Each text is read once from the start state, in chunks with the
        recurrent state carried from one chunk to the next (resetting it every
        window would overstate the loss), and its first character is predicted
        from `START`. Several texts (a list, or a `tf.data.Dataset` of strings)
        are pooled, weighted by their length; a `pathlib.Path` names a file or a
        folder of text files (`read_texts`: a `str` naming one is refused). Characters
        outside the vocabulary are read and predicted as `[UNK]`; they are counted
        in `unknown_characters`.

        For `split="word"` the figures are per word (`nats_per_char` is then
        per token) and `perplexity` is the usual word perplexity.

        Returns:
            `{"nats_per_char", "bits_per_char", "perplexity", "characters",
            "unknown_characters"}`.
        """
        texts = read_texts(texts)
        streams = [self.token_ids(text) for text in texts]
        return score_streams(self, streams, batch_size, SCORE_CHUNK)

    # -- fine-tuning -------------------------------------------------------------

    def finetune(self, texts, *, window=100, epochs=5, **options):
        """Continues training on the user's text: a string, a list of strings, a `tf.data.Dataset`
        of strings, or a file or folder.

        Pass files as `pathlib.Path` (a `str` is text: one naming a file is refused); a folder
        gives every file under it that is not hidden, sorted by path. Characters outside the
        pretrained vocabulary are read and predicted as `[UNK]` and counted in the History's
        `unknown_characters` (a warning says how many). The texts, each read as
        `START + text`, are cut into windows of
        `window` tokens, `validation_fraction` of them held out; `options` are `Task.finetune`'s.
        """
        start = tf.constant([self.start_id], tf.int32)
        streams = text_dataset(texts).map(lambda text: tf.concat([start, self._ids(text)], 0))
        batches = list(streams.ragged_batch(4096))  # a few ragged tensors, not one per text
        stream = tf.concat([tf.zeros([0], tf.int32), *(b.flat_values for b in batches)], 0)
        texts = sum(int(batch.nrows()) for batch in batches)
        unknown = int(tf.reduce_sum(tf.cast(stream == self.tokenizer.token_id(UNK), tf.int32)))
        unknown -= texts if self.start_id == self.tokenizer.token_id(UNK) else 0  # START unknown
        characters = int(tf.size(stream)) - texts
        if unknown:
            outside = f"{unknown} of {characters} characters are outside the model's vocabulary"
            warnings.warn(f"{outside} and are read as [UNK]", stacklevel=2)
        if characters < 4:
            raise ValueError(f"need at least 4 characters of text to fine-tune, got {characters}")
        # Short texts get shorter windows, so that a few remain for validation.
        window = min(window, max(2, (int(tf.size(stream)) - 1) // 4))
        frames = tf.signal.frame(stream, window + 1, window)  # as `windows`: overlapping by one
        examples = tf.data.Dataset.from_tensor_slices((frames[:, :-1], frames[:, 1:]))
        history = super().finetune(examples, epochs=epochs, **options)
        history.unknown_characters = unknown
        return history

    # -- the command line's and inspect's hooks ---------------------------------

    def answer(self, inputs, prompt="", probabilities=False, **options):
        pieces = self._written(prompt, None, None, options, True, probabilities)
        return [{"prompt": prompt, **joined(pieces, "text", probabilities)}]

    def plain(self, inputs, prompt="", probabilities=False, **options):
        yield from self.stream(prompt, **options)
        yield "\n"

    def finetune_data(self, path):
        return self, (Path(path),), {}

    def finetune_summary(self, history):
        unknown = history.unknown_characters
        return [f"{unknown} characters outside the vocabulary read as [UNK]"]

    def inspect_inputs(self, texts):
        """Read from a zero state, without the start token."""
        ids = [self.token_ids(text) for text in texts]
        return padded(ids, 0), [[self.tokenizer.tokens[i] for i in row] for row in ids]

    # -- export ------------------------------------------------------------------

    def serving_endpoints(self):
        """The SavedModel's `generate` (the default) and `step` signatures.

        `generate(prompt: string [], num_chars: int32 [], temperature: float32 [],
        seed: int64 []) → {"text": string []}` writes the continuation, the same
        text as `TextGenerator.generate` for the same seed (`num_chars` is clipped to
        0..`MAX_LENGTH`; `temperature <= 0` is greedy). `step(token_ids: int32
        [batch, time], state: float32 [num_states, batch, units]) → {"logits",
        "state"}` is for clients that sample themselves: start from zeros and
        from `start_id`; `assets/vocabulary.json` maps ids to tokens.
        """

        def generate(prompt, num_chars, temperature, top_k, top_p, seed):
            config = generation.GenerationConfig(
                max_length=tf.clip_by_value(num_chars, 0, MAX_LENGTH),
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                seed=seed,
            )
            tokens, _ = self.decode_ids(prompt[None], config)
            return {"text": self.detokenize(tokens)[0]}

        def step(token_ids, state):
            logits, state = self.read(token_ids, state)
            return {"logits": logits, "state": state}

        return {
            "generate": (
                generate,
                [
                    tf.TensorSpec([], kind, name=name)
                    for name, kind in [
                        ("prompt", tf.string),
                        ("num_chars", tf.int32),
                        ("temperature", tf.float32),
                        ("top_k", tf.int32),
                        ("top_p", tf.float32),
                        ("seed", tf.int64),
                    ]
                ],
            ),
            "step": (
                step,
                [
                    tf.TensorSpec([None, None], tf.int32, name="token_ids"),
                    tf.TensorSpec.from_spec(self.state_spec(), name="state"),
                ],
            ),
        }

    def _write_export_assets(self, assets_dir):
        assets_dir.mkdir(parents=True, exist_ok=True)
        description = {
            "tokens": self.tokenizer.tokens,
            "split": self.split,
            "start_id": self.start_id,
            "state_shape": [self.num_states, "batch", self.units],
            "state_names": self.get_layer("decoder").state_names,
        }
        (assets_dir / "vocabulary.json").write_text(
            json.dumps(description, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
