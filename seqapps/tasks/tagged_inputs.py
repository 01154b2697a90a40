"""The sequence tagger's own input, checked: token lists and their tags (names or ids), and the
dataset they make."""

import numpy as np

from seqapps.checks import check_int
from seqapps.tasks.inputs import standardize_texts


def checked_token_lists(sentences, name):
    """A list of token lists, checked: strings, no whitespace inside a token."""
    if isinstance(sentences, (str, bytes)) or not isinstance(sentences, (list, tuple)):
        raise TypeError(f"{name} must be a list of token lists, got {type(sentences).__name__}")
    checked = []
    for index, tokens in enumerate(sentences):
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, (list, tuple)):
            raise TypeError(
                f"{name}[{index}] is {type(tokens).__name__}, not a list of tokens; pass raw "
                f"strings to tag() on their own, or split them into lists of tokens"
            )
        tokens, _ = standardize_texts(tokens, name=f"{name}[{index}]")
        for position, token in enumerate(tokens):
            if not token or token != "".join(token.split()):
                raise ValueError(
                    f"{name}[{index}][{position}] is {token!r}: a token must be non-empty "
                    f"and hold no whitespace; split it, or pass the raw sentence as a string"
                )
        checked.append(tokens)
    return checked


def sentence_token_lists(sentences, is_split_into_words, split):
    """`(token lists, single)` of what `tag` was given: one raw sentence, raw sentences, one
    sentence as tokens (`is_split_into_words=True`) or token lists; `split(texts)` tokenizes."""
    single = isinstance(sentences, (str, bytes))
    if single:
        return split(standardize_texts(sentences, name="sentences")[0]), True
    if isinstance(sentences, (list, tuple)) and all(isinstance(s, (str, bytes)) for s in sentences):
        if sentences and is_split_into_words is None:
            raise ValueError(
                "a list of strings is ambiguous: pass is_split_into_words=True for one "
                "sentence given as tokens, or is_split_into_words=False for raw sentences"
            )
        if is_split_into_words:
            return checked_token_lists([sentences], "sentences"), True
        return split(standardize_texts(sentences, name="sentences")[0]), False
    return checked_token_lists(sentences, "sentences"), False


def checked_tag_ids(tags, lengths, names):
    """Each sentence's tags as ids of `names` (the model's tags), checked against its length."""
    if tags is None or len(tags) != len(lengths):
        raise ValueError(
            f"need one tag list per sentence: got {len(lengths)} sentences and "
            f"{'no' if tags is None else len(tags)} tag lists"
        )
    index = {name: i for i, name in enumerate(names)}
    ids = []
    for row, (sentence_tags, length) in enumerate(zip(tags, lengths)):
        if len(sentence_tags) != length:
            raise ValueError(f"sentence {row} has {length} tokens but {len(sentence_tags)} tags")
        row_ids = []
        for tag in sentence_tags:
            if isinstance(tag, str):
                if tag not in index:
                    raise ValueError(
                        f"sentence {row} has the tag {tag!r}, which the model lacks "
                        f"(its tags: {names}); load it with tags=[...] naming every "
                        f"tag to get a fresh head"
                    )
                tag = index[tag]
            row_ids.append(check_int(tag, f"sentence {row}'s tag id", low=0, high=len(names) - 1))
        ids.append(row_ids)
    return ids


def tagged_examples(sentences, tag_ids):
    """Checked token lists and tag ids → `(tokens [n], tag_ids [n])` examples, as `from_conll`."""
    import tensorflow as tf

    lengths = [len(tokens) for tokens in sentences]
    tokens = tf.constant([token for tokens in sentences for token in tokens], tf.string)
    ids = tf.constant(np.concatenate(tag_ids or [[]]).astype(np.int64), tf.int64)
    examples = tf.data.Dataset.from_tensor_slices(
        (
            tf.RaggedTensor.from_row_lengths(tokens, lengths),
            tf.RaggedTensor.from_row_lengths(ids, lengths),
        )
    )
    return examples.map(lambda tokens, ids: (tokens, ids))  # plain 1-D tensors, not ragged
