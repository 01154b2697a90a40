"""The bundled brown_pos dataset, read through the public loader."""

from __future__ import annotations

import pytest

from seqapps import datasets

NAME = "brown_pos"
UPOS = ["NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", ".", "X"]
EXPECTED = {
    "train": {"files": 405, "sentences": 46432, "tokens": 941016},
    "validation": {"files": 43, "sentences": 4706, "tokens": 98881},
    "test": {"files": 52, "sentences": 6202, "tokens": 121295},
}
EXPECTED_X_TOKENS = {"train": 1685, "validation": 124, "test": 203}
VALIDATION_FILES = (
    "ca08 cb10 cc05 cd07 cd12 cd13 cd14 ce09 ce17 ce35 cf07 cf13 cf27 cf42 cg11 cg15 cg20 cg24 "
    "cg26 cg68 cj04 cj06 cj34 cj36 cj44 cj46 cj49 cj55 cj57 cj62 cj67 cj69 ck12 cl04 cl11 cl16 "
    "cm03 cn04 cn11 cp10 cp12 cp13 cr02"
).split()
CA01_FIRST_TOKENS = (
    "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
    "election produced `` no evidence '' that any irregularities took place ."
)
CA01_FIRST_TAGS = (
    "at np-tl nn-tl jj-tl nn-tl vbd nr at nn in np$ jj nn nn vbd `` at nn '' cs dti nns vbd nn ."
)
CA01_FIRST_UPOS = (
    "DET NOUN NOUN ADJ NOUN VERB NOUN DET NOUN ADP NOUN ADJ NOUN NOUN VERB . DET NOUN . ADP DET "
    "NOUN VERB NOUN ."
)


def _as_python(example: dict) -> dict:
    return {
        "file_id": example["file_id"].decode("utf-8"),
        "sentence_index": int(example["sentence_index"]),
        "tokens": [token.decode("utf-8") for token in example["tokens"]],
        "tags": [tag.decode("utf-8") for tag in example["tags"]],
        "upos": [int(i) for i in example["upos"]],
    }


def _load(split: str) -> list[dict]:
    """Every example of the split, in order; read in batches (one by one takes twice as long)."""
    import tensorflow as tf

    dataset = datasets.load(NAME, split=split, as_supervised=False)
    records = []
    for batch in dataset.ragged_batch(4096):
        columns = {
            key: value.to_list() if isinstance(value, tf.RaggedTensor) else value.numpy().tolist()
            for key, value in batch.items()
        }
        for row in range(len(columns["file_id"])):
            records.append(_as_python({key: column[row] for key, column in columns.items()}))
    return records


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {split: _load(split) for split in EXPECTED}


def _find(records: list[dict], file_id: str, sentence_index: int) -> dict:
    matches = [
        r for r in records if r["file_id"] == file_id and r["sentence_index"] == sentence_index
    ]
    assert len(matches) == 1, f"{file_id}/{sentence_index}: {len(matches)} matches"
    return matches[0]


def test_element_spec_matches_schema():
    spec = datasets.load(NAME, split="validation", as_supervised=False).element_spec
    assert set(spec) == {"file_id", "sentence_index", "tokens", "tags", "upos"}
    assert spec["file_id"].dtype.name == "string"
    assert spec["file_id"].shape.rank == 0
    assert spec["sentence_index"].dtype.name == "int64"
    assert spec["sentence_index"].shape.rank == 0
    for field in ("tokens", "tags"):
        assert spec[field].dtype.name == "string"
        assert spec[field].shape.rank == 1
    assert spec["upos"].dtype.name == "int64"
    assert spec["upos"].shape.rank == 1


@pytest.mark.parametrize("split", list(EXPECTED))
def test_files_sentences_and_tokens_per_split(splits, split):
    records = splits[split]
    assert len({r["file_id"] for r in records}) == EXPECTED[split]["files"]
    assert len(records) == EXPECTED[split]["sentences"]
    assert sum(len(r["tokens"]) for r in records) == EXPECTED[split]["tokens"]


def test_splits_are_disjoint_by_file(splits):
    files = {split: {r["file_id"] for r in records} for split, records in splits.items()}
    assert not files["train"] & files["validation"]
    assert not files["train"] & files["test"]
    assert not files["validation"] & files["test"]
    assert len(files["train"] | files["validation"] | files["test"]) == 500
    assert sorted(files["validation"]) == VALIDATION_FILES


def test_loading_twice_gives_the_same_order():
    first = [(r["file_id"], r["sentence_index"], r["tokens"]) for r in _load("validation")]
    second = [(r["file_id"], r["sentence_index"], r["tokens"]) for r in _load("validation")]
    assert first == second


def test_order_is_file_id_then_sentence(splits):
    for records in splits.values():
        keys = [(r["file_id"], r["sentence_index"]) for r in records]
        assert keys == sorted(keys)
        # Sentence indexes count from 0 within each file, with no gaps.
        for (file_id, index), (next_file_id, next_index) in zip(keys, keys[1:], strict=False):
            expected = index + 1 if next_file_id == file_id else 0
            assert next_index == expected, (file_id, index, next_file_id, next_index)
        assert keys[0][1] == 0


def test_first_sentence_of_ca01(splits):
    first = splits["train"][0]
    assert (first["file_id"], first["sentence_index"]) == ("ca01", 0)
    assert first["tokens"] == CA01_FIRST_TOKENS.split()
    assert first["tags"] == CA01_FIRST_TAGS.split()
    assert [UPOS[i] for i in first["upos"]] == CA01_FIRST_UPOS.split()


def test_known_sentences_with_special_tags(splits):
    # A contraction tagged as a compound takes its first part's tag.
    its = _find(splits["validation"], "cb10", 23)
    assert its["tokens"][:3] == ["It's", "the", "same"]
    assert its["tags"][0] == "pps+bez"
    assert UPOS[its["upos"][0]] == "PRON"

    # A foreign word goes to X whatever its tag after `fw-`.
    fermate = _find(splits["test"], "cf02", 99)
    assert fermate["tokens"] == ["``", "Fermate", "''", "!", "!"]
    assert fermate["tags"] == ["``", "fw-vb", "''", ".", "."]
    assert [UPOS[i] for i in fermate["upos"]] == [".", "X", ".", ".", "."]

    # Words holding a slash keep it: the tag follows the last one.
    avocados = _find(splits["train"], "ce02", 123)
    assert avocados["tokens"][4:7] == ["1/2", "to", "1-1/2"]
    assert avocados["tags"][4] == "cd"
    assert UPOS[avocados["upos"][4]] == "NUM"


def test_tags_align_and_upos_ids_are_in_range(splits):
    for split, records in splits.items():
        x_tokens = 0
        for r in records:
            assert r["tokens"], (r["file_id"], r["sentence_index"])
            assert len(r["tokens"]) == len(r["tags"]) == len(r["upos"])
            assert all(0 <= i < len(UPOS) for i in r["upos"])
            x_tokens += r["upos"].count(UPOS.index("X"))
        assert x_tokens == EXPECTED_X_TOKENS[split]


def test_supervised_pairs_are_tokens_and_upos(splits):
    dataset = datasets.load(NAME, split="validation", as_supervised=True)
    tokens, upos = next(iter(dataset.as_numpy_iterator()))
    first = splits["validation"][0]
    assert [t.decode("utf-8") for t in tokens] == first["tokens"]
    assert upos.tolist() == first["upos"]
    assert (first["file_id"], first["sentence_index"]) == ("ca08", 0)
