"""Readers for the user's own data, in the same shapes as the bundled datasets.

Every reader returns a ``tf.data.Dataset`` of the supervised pairs a task trains on:

==========================  ==========================================  ===================
reader                      elements                                    returns
==========================  ==========================================  ===================
``from_lists``,             ``(text, label)``, or ``text`` without      ``(dataset,
``from_dataframe``,         labels                                      label_names)``
``from_csv``
``from_conll``              ``(tokens[n], tag_ids[n])``                 ``(dataset,
                                                                        label_names)``
``from_text_files``         ``text`` (one document per file)            ``dataset``
``from_parallel_tsv``,      ``(source, target)``                        ``dataset``
``from_parallel_files``
``from_image_folder``       ``(image uint8 [H, W, 3], caption)``        ``dataset``
==========================  ==========================================  ===================

Label names: the readers whose targets come from a closed set of labels return ``(dataset,
label_names)``. String labels become int64 ids into ``label_names``: the list you pass (every
label must be in it), or else the sorted distinct labels. Integer labels are kept as ids (checked
against ``label_names`` when given, which is otherwise returned as ``None``); non-integer numbers
are kept as float32 targets. The dataset also carries the names as ``dataset.label_names`` (as
Keras's ``image_dataset_from_directory`` carries ``class_names``), so that ``finetune`` can refuse
ids that mean other labels to the model; a dataset made from it (``map``, ``batch``) loses them.

Rows skipped on purpose (empty text, blank lines) are counted in a ``UserWarning``; anything
malformed raises a ``ValueError`` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

PathLike = str | os.PathLike
DELIMITERS_BY_SUFFIX = {".tsv": "\t", ".tab": "\t", ".csv": ","}


# --- reading files ----------------------------------------------------------------------------


def _read_text(path: PathLike, encoding: str) -> str:
    """The whole file as text; undecodable bytes are reported with their line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist or is not a file")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        from seqapps.tasks.images import is_image_file

        if is_image_file(raw):
            raise ValueError(
                f"{path} holds an image, not text: give a text or CSV/TSV file"
            ) from None
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte-order marks
            raise ValueError(
                f"{path} is UTF-16 text (e.g. a spreadsheet's 'Unicode text'); pass "
                f"encoding='utf-16' or re-save the file as UTF-8"
            ) from None
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path} line {line}: bytes {raw[error.start : error.end]!r} are not valid "
            f"{encoding}; re-save the file as UTF-8 or pass encoding= (e.g. encoding='latin-1')"
        ) from None
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not part of the data


def _read_lines(path: PathLike, encoding: str) -> list[str]:
    text = _read_text(path, encoding)
    if not text.strip():
        raise ValueError(f"{path} is empty")
    return text.splitlines()


def _warn_skipped(count: int, what: str, where: str, examples: list[str], stacklevel=3) -> None:
    if count:
        shown = ", ".join(examples[:5]) + (", ..." if count > 5 else "")
        message = f"skipped {count} {what} in {where} ({shown})"
        warnings.warn(message, UserWarning, stacklevel=stacklevel)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_text(value: Any) -> str:
    return "" if _is_missing(value) else value if isinstance(value, str) else str(value)


def _check_columns(wanted: dict[str, str | None], available: list[str], where: str) -> None:
    for role, column in wanted.items():
        if column is not None and column not in available:
            raise ValueError(
                f"{role} {column!r} is not a column of {where}; available columns: {available}"
            )


# --- labels -----------------------------------------------------------------------------------


def _encode_labels(
    labels: list[Any], label_names: Sequence[str] | None, places: list[str]
) -> tuple[np.ndarray, list[str] | None]:
    """Label values → (ids or float targets, label names); see the module docstring."""
    for value, place in zip(labels, places):
        if _is_missing(value) or (isinstance(value, str) and not value.strip()):
            raise ValueError(f"{place}: the label is empty; fill it in or drop the row")
    names = list(label_names) if label_names is not None else None
    if names is not None and len(set(names)) != len(names):
        raise ValueError(f"label_names has duplicates: {names}")
    if all(isinstance(value, str) for value in labels):
        stripped = [value.strip() for value in labels]
        by_name = names is not None and all(value in names for value in stripped)
        if not by_name and all(_parses_as(value, int) for value in stripped):
            labels = [int(value) for value in stripped]
        elif not by_name and names is None and all(_parses_as(v, float) for v in stripped):
            labels = [float(value) for value in stripped]
        else:
            if names is None:
                names = sorted(set(stripped))
            index = {name: i for i, name in enumerate(names)}
            for value, place in zip(stripped, places):
                if value not in index:
                    raise ValueError(
                        f"{place}: label {value!r} is not in label_names {names}; "
                        "add it to label_names or fix the row"
                    )
            return np.array([index[value] for value in stripped], np.int64), names
    if any(isinstance(value, str) for value in labels):
        raise ValueError(f"labels mix strings and numbers, e.g. {labels[:5]}; use one kind")
    numbers = np.asarray(labels)
    if numbers.dtype == bool or not np.issubdtype(numbers.dtype, np.number):
        raise ValueError(f"labels must be strings or numbers, got {numbers.dtype} ({labels[:5]})")
    if np.issubdtype(numbers.dtype, np.floating) and not np.all(numbers == np.round(numbers)):
        if names is not None:
            raise ValueError("label_names was given but the labels are non-integer numbers")
        return numbers.astype(np.float32), None
    ids = numbers.astype(np.int64)
    if names is not None:
        bad = [(i, place) for i, place in zip(ids, places) if not 0 <= i < len(names)]
        if bad:
            raise ValueError(
                f"{bad[0][1]}: label id {bad[0][0]} is outside label_names "
                f"({len(names)} names: {names})"
            )
    return ids, names


def _parses_as(value: str, kind: type) -> bool:
    try:
        kind(value)
    except ValueError:
        return False
    return True


def _classification(
    texts: list[Any],
    labels: list[Any] | None,
    label_names: Sequence[str] | None,
    places: list[str],
    where: str,
) -> tuple[tf.data.Dataset, list[str] | None]:
    """Drops (and reports) rows without text, encodes labels, builds the dataset."""
    kept = [i for i, text in enumerate(texts) if _as_text(text).strip()]
    kept_set = set(kept)
    skipped = [places[i] for i in range(len(texts)) if i not in kept_set]
    _warn_skipped(len(skipped), "rows with empty text", where, skipped)
    if not kept:
        raise ValueError(f"{where} has no rows with text")
    kept_texts = [_as_text(texts[i]) for i in kept]
    if labels is None:
        if label_names is not None:
            raise ValueError("label_names was given without labels")
        return tf.data.Dataset.from_tensor_slices(tf.constant(kept_texts, tf.string)), None
    ids, names = _encode_labels([labels[i] for i in kept], label_names, [places[i] for i in kept])
    dataset = tf.data.Dataset.from_tensor_slices((tf.constant(kept_texts, tf.string), ids))
    return _named(dataset, names), names


def _named(dataset: tf.data.Dataset, names: list[str] | None) -> tf.data.Dataset:
    """`dataset` carrying the names of its label ids, when they have names."""
    if names is not None:
        dataset.label_names = list(names)
    return dataset


# --- classification ---------------------------------------------------------------------------


def from_lists(
    texts: Sequence[str],
    labels: Sequence[Any] | None = None,
    label_names: Sequence[str] | None = None,
) -> tuple[tf.data.Dataset, list[str] | None]:
    """Texts (and labels) from Python lists → ``(dataset, label_names)``.

    >>> from seqapps import datasets
    >>> ds, names = datasets.from_lists(["great", "awful"], ["pos", "neg"])
    >>> names
    ['neg', 'pos']
    >>> [int(label) for _, label in ds]
    [1, 0]
    """
    texts = list(texts)
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(texts):
            raise ValueError(f"texts has {len(texts)} items but labels has {len(labels)}")
    places = [f"texts[{i}]" for i in range(len(texts))]
    return _classification(texts, labels, label_names, places, "the lists")


def from_dataframe(
    df: Any,
    text_column: str = "text",
    label_column: str | None = "label",
    label_names: Sequence[str] | None = None,
) -> tuple[tf.data.Dataset, list[str] | None]:
    """A pandas DataFrame → ``(dataset, label_names)``; ``label_column=None`` for texts only.

    >>> import pandas as pd
    >>> from seqapps import datasets
    >>> df = pd.DataFrame({"review": ["fine", "bad"], "stars": [4, 1]})
    >>> ds, names = datasets.from_dataframe(df, text_column="review", label_column="stars")
    >>> names is None, [int(label) for _, label in ds]
    (True, [4, 1])
    """
    columns = [str(column) for column in df.columns]
    _check_columns(
        {"text_column": text_column, "label_column": label_column}, columns, "the DataFrame"
    )
    texts = df[text_column].tolist()
    labels = df[label_column].tolist() if label_column is not None else None
    places = [f"DataFrame row {index!r}" for index in df.index.tolist()]
    return _classification(texts, labels, label_names, places, "the DataFrame")


def _read_table(
    path: PathLike, delimiter: str | None, encoding: str
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, fields)`` rows of a CSV/TSV file; blank lines are dropped."""
    text = _read_text(path, encoding)
    if not text.strip():
        raise ValueError(f"{path} is empty")
    if delimiter is None:
        delimiter = DELIMITERS_BY_SUFFIX.get(Path(path).suffix.lower())
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows = []
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            if header is None:
                header = [field.strip() for field in fields]
                continue
            if len(fields) != len(header):
                raise ValueError(
                    f"{path} line {reader.line_num}: {len(fields)} fields where the header has "
                    f"{len(header)} ({delimiter!r}-separated): {fields}"
                )
            rows.append((reader.line_num, fields))
    except csv.Error as error:
        raise ValueError(f"{path} line {reader.line_num}: {error}") from None
    if header is None:
        raise ValueError(f"{path} has no header row")
    return header, rows


def from_csv(
    path: PathLike,
    text_column: str = "text",
    label_column: str | None = "label",
    label_names: Sequence[str] | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> tuple[tf.data.Dataset, list[str] | None]:
    """A CSV/TSV file with a header row → ``(dataset, label_names)``.

    ``delimiter=None`` picks a tab for ``.tsv``/``.tab``, a comma for ``.csv``, and otherwise
    sniffs the file. Label values that are all integers stay integer ids.

    >>> from seqapps import datasets
    >>> ds, names = datasets.from_csv("reviews.csv", label_column="sentiment")  # doctest: +SKIP
    """
    header, rows = _read_table(path, delimiter, encoding)
    _check_columns({"text_column": text_column, "label_column": label_column}, header, str(path))
    text_at = header.index(text_column)
    texts = [fields[text_at] for _, fields in rows]
    labels = None
    if label_column is not None:
        label_at = header.index(label_column)
        labels = [fields[label_at] for _, fields in rows]
    places = [f"{path} line {line}" for line, _ in rows]
    return _classification(texts, labels, label_names, places, str(path))


# --- generation, translation, tagging, captioning ---------------------------------------------


def _document_paths(source: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(source, str | os.PathLike):
        root = Path(source)
        if root.is_dir():
            paths = [
                path
                for path in sorted(root.rglob("*"))
                if path.is_file()
                and not any(part.startswith(".") for part in path.relative_to(root).parts)
            ]
            if not paths:
                raise ValueError(f"{root} holds no files")
            return paths
        if not root.exists():
            raise FileNotFoundError(f"{root} does not exist")
        return [root]
    paths = [Path(path) for path in source]
    if not paths:
        raise ValueError("from_text_files got an empty list of files")
    return paths


def from_text_files(
    path_or_dir_or_list: PathLike | Sequence[PathLike], encoding: str = "utf-8"
) -> tf.data.Dataset:
    """Plain-text documents for text generation: one string element per file.

    A folder is read recursively in sorted path order, skipping hidden files; empty files are
    skipped and reported.

    >>> from seqapps import datasets
    >>> ds = datasets.from_text_files("my_corpus/")  # doctest: +SKIP
    """
    documents, empty = [], []
    for path in _document_paths(path_or_dir_or_list):
        text = _read_text(path, encoding)
        (documents if text.strip() else empty).append(text if text.strip() else str(path))
    _warn_skipped(len(empty), "empty files", "the text files", empty)
    if not documents:
        raise ValueError(f"every file is empty: {empty}")
    return tf.data.Dataset.from_tensor_slices(tf.constant(documents, tf.string))


def _pairs_dataset(
    rows: Iterable[tuple[int, str, str]], what: str, where: str, none_left: str
) -> tf.data.Dataset:
    """``(line number, source, target)`` rows → pairs; one with an empty side is reported."""
    pairs, skipped = [], []
    for number, source, target in rows:
        source, target = source.strip(), target.strip()
        if source and target:
            pairs.append((source, target))
        else:
            skipped.append(f"line {number}")
    _warn_skipped(len(skipped), what, where, skipped, stacklevel=4)  # the reader's caller
    if not pairs:
        raise ValueError(none_left)
    sources = tf.constant([source for source, _ in pairs], tf.string)
    targets = tf.constant([target for _, target in pairs], tf.string)
    return tf.data.Dataset.from_tensor_slices((sources, targets))


def from_parallel_tsv(
    path: PathLike, source_column: int = 0, target_column: int = 1, encoding: str = "utf-8"
) -> tf.data.Dataset:
    """``source<TAB>target`` lines for translation → ``(source, target)`` string pairs.

    Extra columns (e.g. the attribution column of Tatoeba exports) are allowed and ignored.
    Blank lines and pairs with an empty side are skipped and reported.

    >>> from seqapps import datasets
    >>> ds = datasets.from_parallel_tsv("en_es.tsv")  # doctest: +SKIP
    """
    needed = max(source_column, target_column) + 1
    rows = []
    for number, line in enumerate(_read_lines(path, encoding), start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise ValueError(f"{path} line {number}: no tab between source and target: {line!r}")
        fields = line.split("\t")
        if len(fields) < needed:
            raise ValueError(
                f"{path} line {number}: {len(fields)} tab-separated fields, need at least "
                f"{needed} (source_column={source_column}, target_column={target_column})"
            )
        rows.append((number, fields[source_column], fields[target_column]))
    return _pairs_dataset(
        rows, "pairs with an empty side", str(path), f"{path} has no source/target pairs"
    )


def from_parallel_files(
    source_path: PathLike, target_path: PathLike, encoding: str = "utf-8"
) -> tf.data.Dataset:
    """Two line-aligned files (line i of one translates line i of the other) → pairs.

    >>> from seqapps import datasets
    >>> ds = datasets.from_parallel_files("train.en", "train.es")  # doctest: +SKIP
    """
    sources = _read_lines(source_path, encoding)
    targets = _read_lines(target_path, encoding)
    if len(sources) != len(targets):
        shorter = source_path if len(sources) < len(targets) else target_path
        raise ValueError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            f"they must be line-aligned ({shorter} ends first, at line "
            f"{min(len(sources), len(targets))})"
        )
    return _pairs_dataset(
        ((number, *pair) for number, pair in enumerate(zip(sources, targets), start=1)),
        "line pairs with an empty side",
        str(source_path),
        f"{source_path} and {target_path} have no non-empty line pairs",
    )


def _is_conllu(lines: list[str]) -> bool:
    """Whether the first token line has CoNLL-U's ten tab-separated columns, a word ID first."""
    for line in lines:
        if line.strip() and not line.startswith("#"):
            fields = line.split("\t")
            return len(fields) == 10 and fields[0].split("-")[0].split(".")[0].isdigit()
    return False


def from_conll(
    path: PathLike,
    token_column: int = 0,
    tag_column: int = -1,
    label_names: Sequence[str] | None = None,
    comment_prefix: str | None = None,
    encoding: str = "utf-8",
) -> tuple[tf.data.Dataset, list[str]]:
    """CoNLL-style tagging data → ``(dataset of (tokens, tag_ids), label_names)``.

    One ``token tag`` line per token (columns split on tabs if the line has one, otherwise on
    whitespace), a blank line between sentences. ``-DOCSTART-`` lines are skipped. A CoNLL-U
    file (ten tab-separated columns, a word ID first) read with the default columns is read
    as one, said in a warning: the FORM and UPOS columns, ``#`` comments, multiword-token and
    empty-node lines skipped.

    >>> from seqapps import datasets
    >>> ds, tags = datasets.from_conll("train.conll")  # doctest: +SKIP
    """
    sentences: list[tuple[list[str], list[str], list[int]]] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    text_lines = _read_lines(path, encoding)
    defaults = (token_column, tag_column) == (0, -1) and comment_prefix in (None, "#")
    conllu = defaults and _is_conllu(text_lines)
    if conllu:
        token_column, tag_column, comment_prefix = 1, 3, "#"
        warnings.warn(
            f"{path} is read as CoNLL-U: tokens from FORM (column 1), tags from UPOS (column 3); "
            f"pass token_column= and tag_column= to read other columns",
            UserWarning,
            stacklevel=2,
        )
    for number, line in enumerate(text_lines, start=1):
        if comment_prefix and line.startswith(comment_prefix):
            continue
        if conllu and not line.split("\t")[0].isdigit() and line.strip():
            continue  # a multiword token ("1-2") or an empty node ("1.1")
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags, lines))
                tokens, tags, lines = [], [], []
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if fields[0] == "-DOCSTART-":
            continue
        # Negative columns count from the end of each line; both must land on distinct fields
        # (a lone "cat" must not be read as token "cat" tagged "cat").
        token_at = token_column + len(fields) if token_column < 0 else token_column
        tag_at = tag_column + len(fields) if tag_column < 0 else tag_column
        valid = 0 <= token_at < len(fields) and 0 <= tag_at < len(fields) and token_at != tag_at
        token = fields[token_at].strip() if valid else ""
        tag = fields[tag_at].strip() if valid else ""
        if not token or not tag:
            raise ValueError(
                f"{path} line {number}: expected a token in column {token_column} and a tag in "
                f"column {tag_column}, got {len(fields)} field(s): {line!r}"
            )
        if any(character.isspace() for character in token):
            raise ValueError(
                f"{path} line {number}: the token {token!r} holds whitespace, which a token "
                f"cannot; write one token per line (or join it, e.g. {'_'.join(token.split())!r})"
            )
        tokens.append(token)
        tags.append(tag)
        lines.append(number)
    if tokens:
        sentences.append((tokens, tags, lines))
    if not sentences:
        raise ValueError(f"{path} has no sentences")
    all_tags = [tag for _, sentence_tags, _ in sentences for tag in sentence_tags]
    places = [f"{path} line {n}" for _, _, numbers in sentences for n in numbers]
    ids, names = _encode_labels(all_tags, label_names or sorted(set(all_tags)), places)
    lengths = [len(sentence_tokens) for sentence_tokens, _, _ in sentences]
    flat_tokens = [token for sentence_tokens, _, _ in sentences for token in sentence_tokens]
    dataset = tf.data.Dataset.from_tensor_slices(
        (
            tf.RaggedTensor.from_row_lengths(tf.constant(flat_tokens, tf.string), lengths),
            tf.RaggedTensor.from_row_lengths(tf.constant(ids, tf.int64), lengths),
        )
    )
    # Slices of a ragged batch arrive as ragged-rank-0 values; the identity map makes them
    # plain 1-D tensors, as the bundled datasets give (padded_batch needs that too).
    return _named(dataset.map(lambda tokens, tag_ids: (tokens, tag_ids)), names), names


def from_image_folder(
    image_dir: PathLike,
    captions_csv: PathLike,
    image_column: str = "image",
    caption_column: str = "caption",
    image_size: tuple[int, int] = (64, 64),
    encoding: str = "utf-8",
) -> tf.data.Dataset:
    """Images plus a captions table → ``(image uint8 [H, W, 3], caption)`` pairs.

    ``captions_csv`` has a header with ``image_column`` (file name relative to ``image_dir``)
    and ``caption_column``; an image may have several rows, one per caption. Images are
    decoded once by the converter ``caption`` and the exported model use (RGB, transparency
    onto white, resized to ``image_size = (height, width)``), and held in memory.

    >>> from seqapps import datasets
    >>> ds = datasets.from_image_folder("photos/", "photos/captions.csv")  # doctest: +SKIP
    """
    from seqapps.tasks.images import to_rgb

    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        problem = "is a file, not a folder" if image_dir.is_file() else "does not exist"
        raise FileNotFoundError(f"image folder {image_dir} {problem}")
    header, rows = _read_table(captions_csv, None, encoding)
    _check_columns(
        {"image_column": image_column, "caption_column": caption_column},
        header,
        str(captions_csv),
    )
    image_at, caption_at = header.index(image_column), header.index(caption_column)
    index_of: dict[str, int] = {}
    images: list[np.ndarray] = []
    image_ids, captions, skipped = [], [], []
    for line, fields in rows:
        name, caption = fields[image_at].strip(), fields[caption_at].strip()
        if not caption:
            skipped.append(f"line {line}")
            continue
        if name not in index_of:
            path = image_dir / name
            try:
                resolved = path.resolve(strict=path.is_symlink())
            except (OSError, RuntimeError) as error:  # a symlink loop or a dangling link
                raise ValueError(
                    f"{captions_csv} line {line}: image {name!r} is a link that leads nowhere "
                    f"({error}); replace the link with the image"
                ) from None
            if name and not resolved.is_relative_to(image_dir.resolve()):
                raise ValueError(
                    f"{captions_csv} line {line}: image {name!r} lies outside the image folder "
                    f"{image_dir}; name images by their path inside it"
                )
            if not name or not path.is_file():
                raise FileNotFoundError(
                    f"{captions_csv} line {line}: image {name!r} not found in {image_dir}"
                )
            index_of[name] = len(images)
            images.append(to_rgb(path, image_size, f"{captions_csv} line {line}: image"))
        image_ids.append(index_of[name])
        captions.append(caption)
    _warn_skipped(len(skipped), "rows with an empty caption", str(captions_csv), skipped)
    if not captions:
        raise ValueError(f"{captions_csv} has no captioned images")
    pixels = np.stack(images)[image_ids]
    return tf.data.Dataset.from_tensor_slices((pixels, tf.constant(captions, tf.string)))
