"""Checks on raw Python input shared by the tasks' plain verbs (numeric options: `seqapps.checks`)."""

import os
import re
from collections.abc import Iterable

# The numeric checks moved to seqapps.checks; they stay importable here for code written against this module.
from seqapps.checks import check_float, check_int, check_positive_int, shown  # noqa: F401


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


def check_list(value: object, name: str, what: str = "a list") -> list:
    """`value` as a list; a string (or bytes), which would be read a character at a time, raises."""
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"{name} must be {what}, got a single {type(value).__name__} ({shown(value)}); a "
            f"string would be read one character at a time: wrap one item in a list"
        )
    if value is None or not isinstance(value, Iterable) or isinstance(value, dict):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return list(value)


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
    files: a folder gives every file under it that is not hidden, in sorted path order. A
    `str` is text: one that names an existing file or folder is refused, as it was surely meant
    as a path.
    """
    refuse_path_string(source)
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


def refuse_file(value, name: str) -> None:
    """Refuses a path, or a `str` naming a file, where a function takes examples, saying to read
    the file with the `seqapps.datasets` reader of its format."""
    if isinstance(value, os.PathLike) or isinstance(value, str) and os.path.isfile(value):
        raise TypeError(
            f"{name} must hold examples, got the file {os.fspath(value)!r}; read it first with "
            f"the seqapps.datasets reader of its format (from_csv, from_parallel_tsv, from_conll, "
            f"...) and pass the dataset it returns"
        )


def refuse_path_string(source, *, training: bool = False) -> None:
    """Raises if `source` is a one-line `str` naming an existing file or folder; in `training`,
    also one word written as a path ("texts/", "plays.txt") that names none: both are
    mistakes far more often than a text to train on (a text to score may be "and/or")."""
    if not isinstance(source, str) or "\n" in source:
        return
    if os.path.exists(source):
        raise ValueError(
            f"{source!r} is read as text, but it names an existing file or folder: pass "
            f"pathlib.Path({source!r}) to read it, or [{source!r}] to use the string itself"
        )
    if training and re.fullmatch(r"\S*[/\\]\S*|\S+\.(txt|text|md|csv|tsv)", source, re.IGNORECASE):
        raise ValueError(
            f"{source!r} looks like a path, but no file or folder has that name: check it, and "
            f"pass it as pathlib.Path(...) to read it; [{source!r}] uses the string itself"
        )


def text_dataset(source):
    """A `tf.data.Dataset` of texts from what `read_texts` takes, read once: a dataset of
    strings is kept as it is."""
    import tensorflow as tf

    refuse_path_string(source, training=True)
    if isinstance(source, os.PathLike):
        from seqapps import datasets

        return datasets.from_text_files(source)
    if isinstance(source, tf.data.Dataset):
        spec = source.element_spec
        if not (isinstance(spec, tf.TensorSpec) and spec.dtype == tf.string and spec.shape == ()):
            raise ValueError(f"a dataset of texts holds one string per element, got {spec}")
        return source
    texts, _ = standardize_texts(source)
    return tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string))


def check_compile_options(model, options: dict) -> None:
    """Refuses a keyword of `finetune` that neither it nor the model's `compile` takes (it
    would reach `compile`, whose error names the wrong function), with the closest name."""
    import difflib
    import inspect

    import keras

    def named(function):
        parameters = inspect.signature(function).parameters.values()
        return {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}

    compiles = named(type(model).compile) | named(keras.Model.compile)
    for keyword in options:
        if keyword not in compiles:
            finetunes = [c.finetune for c in type(model).__mro__ if "finetune" in vars(c)]
            known = sorted(set().union(compiles, *map(named, finetunes)) - {"self", "x", "y"})
            close = difflib.get_close_matches(keyword, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(known)}"
            raise TypeError(f"finetune() got an unexpected keyword argument {keyword!r}{hint}")
