"""Checks on raw Python input shared by the tasks' plain verbs."""

import os
from collections.abc import Iterable


def standardize_texts(texts: object, *, name: str = "texts") -> tuple[list[str], bool]:
    """Returns `(list_of_strings, was_single)`, or raises naming the bad item.

    Bytes are decoded as UTF-8. `None` and other non-string items raise
    `TypeError`; undecodable bytes raise `ValueError`.
    """
    if texts is None:
        raise TypeError(f"{name} must be a string or a list of strings, got None")
    single = isinstance(texts, (str, bytes))
    if single:
        items: Iterable[object] = [texts]
    elif isinstance(texts, Iterable) and not isinstance(texts, dict):
        items = texts
    else:
        raise TypeError(f"{name} must be a string or a list of strings, got {type(texts).__name__}")
    batch = []
    for index, item in enumerate(items):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{name}[{index}] is not valid UTF-8 ({error}); decode it yourself "
                    f"with the right encoding and pass a str"
                ) from None
        if not isinstance(item, str):
            raise TypeError(
                f"{name}[{index}] is {type(item).__name__} ({item!r}), not a string; "
                f"pass text as str"
            )
        try:
            item.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"{name}[{index}] holds {item[error.start]!r} at position {error.start}, half of "
                f"a UTF-16 surrogate pair, which is no character; fix the text's decoding"
            ) from None
        batch.append(item)
    return batch, single


def check_positive_int(value: object, name: str) -> int:
    """`value` if it is an int >= 1 (not a bool); else a `ValueError` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_prompt(prompt: object, limit: int) -> str:
    """One prompt string (bytes decoded) of at most `limit` characters; else a clear error."""
    if not isinstance(prompt, (str, bytes)):
        raise TypeError(
            f"prompt must be one string, got {type(prompt).__name__} ({prompt!r}); "
            f"generate for several prompts one at a time"
        )
    (prompt,), _ = standardize_texts(prompt, name="prompt")
    if len(prompt) > limit:
        raise ValueError(
            f"the prompt has {len(prompt):,} characters, more than MAX_PROMPT_LENGTH "
            f"({limit:,}); pass its last {limit:,} characters, which is what the state "
            f"carries anyway"
        )
    return prompt


def read_texts(source) -> list[str]:
    """Texts from a string, a list of strings, a `tf.data.Dataset` of strings, or a file/folder path.

    Paths (`os.PathLike`) are read by `seqapps.datasets.from_text_files`, the one reader of text
    files: a folder gives every file under it that is not hidden, in sorted path order.
    """
    if isinstance(source, os.PathLike):
        from seqapps import datasets

        source = datasets.from_text_files(source)
    import tensorflow as tf

    if isinstance(source, tf.data.Dataset):
        source = [
            t.decode("utf-8") if isinstance(t, bytes) else t for t in source.as_numpy_iterator()
        ]
    texts, _ = standardize_texts(source)
    return texts
