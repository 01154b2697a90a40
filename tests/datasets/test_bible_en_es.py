"""The bundled bible_en_es dataset (WEB English → RV1909 Spanish), read through the public loader."""

from __future__ import annotations

import pytest

from seqapps import datasets

NAME = "bible_en_es"
EXPECTED_PAIRS = {"train": 29_908, "validation": 144, "test": 916}
BOOKS_PER_SPLIT = {
    "validation": ["Joel", "Titus", "Jude"],
    "test": ["Ruth", "Jonah", "Mark", "Jas"],
}
KNOWN_PAIRS = {
    "Gen.1.1": (
        "train",
        "In the beginning, God created the heavens and the earth.",
        "EN el principio crió Dios los cielos y la tierra.",
    ),
    "John.3.16": (
        "train",
        "For God so loved the world, that he gave his only born Son, that whoever believes in "
        "him should not perish, but have eternal life.",
        "Porque de tal manera amó Dios al mundo, que ha dado á su Hijo unigénito, para que todo "
        "aquel que en él cree, no se pierda, mas tenga vida eterna.",
    ),
    "Mark.1.1": (
        "test",
        "The beginning of the Good News of Jesus Christ, the Son of God.",
        "PRINCIPIO del evangelio de Jesucristo, Hijo de Dios.",
    ),
    # RV1909 marks "también" as an added word glued to "allí"; it must stay a separate word.
    "Gen.2.12": (
        "train",
        "and the gold of that land is good. Bdellium and onyx stone are also there.",
        "Y el oro de aquella tierra es bueno: hay allí también bdelio y piedra cornerina.",
    ),
    # The superscription ("A Psalm by David, when he fled...") is cut from both sides.
    "Ps.3.1": (
        "train",
        "Yahweh, how my adversaries have increased! Many are those who rise up against me.",
        "¡OH Jehová, cuánto se han multiplicado mis enemigos! muchos se levantan contra mí.",
    ),
    # RV1909 numbers Numbers 13 the Hebrew way: its 13:3 is this verse 13:2.
    "Num.13.2": (
        "train",
        "“Send men, that they may spy out the land of Canaan, which I give to the children of "
        "Israel. Of every tribe of their fathers, you shall send a man, every one a prince "
        "among them.”",
        "Envía tú hombres que reconozcan la tierra de Canaán, la cual yo doy á los hijos de "
        "Israel: de cada tribu de sus padres enviaréis un varón, cada uno príncipe entre ellos.",
    ),
    # The WEB glossary after the book's end marker is not part of the verse.
    "Rev.22.21": (
        "train",
        "The grace of the Lord Jesus Christ be with all the saints. Amen.",
        "La gracia de nuestro Señor Jesucristo sea con todos vosotros. Amén.",
    ),
}


def _load(split: str) -> list[dict[str, str]]:
    dataset = datasets.load(NAME, split=split, as_supervised=False)
    return [
        {key: value.decode("utf-8") for key, value in example.items()}
        for example in dataset.as_numpy_iterator()
    ]


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict[str, str]]]:
    return {split: _load(split) for split in EXPECTED_PAIRS}


def test_element_spec_matches_schema():
    spec = datasets.load(NAME, split="validation", as_supervised=False).element_spec
    assert set(spec) == {"ref", "book", "en", "es"}
    assert all(spec[key].dtype.name == "string" for key in spec)


@pytest.mark.parametrize("split", list(EXPECTED_PAIRS))
def test_pairs_per_split(splits, split):
    assert len(splits[split]) == EXPECTED_PAIRS[split]


@pytest.mark.parametrize("split", list(BOOKS_PER_SPLIT))
def test_held_out_books(splits, split):
    books = list(dict.fromkeys(record["book"] for record in splits[split]))
    assert books == BOOKS_PER_SPLIT[split]


def test_train_holds_the_other_59_books(splits):
    books = {record["book"] for record in splits["train"]}
    assert len(books) == 59
    assert not books & {b for names in BOOKS_PER_SPLIT.values() for b in names}


def test_splits_are_disjoint_by_ref(splits):
    refs = {split: [record["ref"] for record in records] for split, records in splits.items()}
    assert all(len(set(r)) == len(r) for r in refs.values())
    train, validation, test = (set(refs[s]) for s in ("train", "validation", "test"))
    assert not train & validation
    assert not train & test
    assert not validation & test


def test_records_are_non_empty_and_named_by_book(splits):
    for records in splits.values():
        for record in records:
            assert record["en"] and record["es"], record["ref"]
            assert record["en"] == record["en"].strip() and "  " not in record["en"]
            assert "<" not in record["en"] + record["es"], record["ref"]
            assert record["ref"].rsplit(".", 2)[0] == record["book"]


def test_order_is_book_chapter_verse(splits):
    test_refs = [record["ref"] for record in splits["test"]]
    assert test_refs[0] == "Ruth.1.1"
    mark = [tuple(int(n) for n in ref.split(".")[1:]) for ref in test_refs if ref[:5] == "Mark."]
    assert mark == sorted(mark)
    assert splits["train"][0]["ref"] == "Gen.1.1"
    assert splits["train"][-1]["ref"] == "Rev.22.21"


def test_loading_twice_gives_the_same_order():
    first = [record["ref"] for record in _load("test")]
    second = [record["ref"] for record in _load("test")]
    assert first == second


def test_known_pairs(splits):
    by_ref = {
        record["ref"]: (split, record) for split, records in splits.items() for record in records
    }
    for ref, (split, english, spanish) in KNOWN_PAIRS.items():
        found_split, record = by_ref[ref]
        assert (found_split, record["en"], record["es"]) == (split, english, spanish), ref


def test_misaligned_verses_are_left_out(splits):
    refs = {record["ref"] for records in splits.values() for record in records}
    # Job 39-40 follow the Hebrew division in the RV1909; Acts 8:37 is not in the WEB;
    # 1 John 5:7 differs in content (Textus Receptus addition); 3 John 1:15 is empty on both sides.
    assert not {"Job.39.1", "Job.40.15", "Acts.8.37", "1John.5.7", "3John.1.15"} & refs
    assert {"Job.38.38", "Job.41.1", "Acts.8.36", "Acts.8.38", "3John.1.14"} <= refs


def test_supervised_pairs_are_english_to_spanish():
    dataset = datasets.load(NAME, split="validation", as_supervised=True)
    english, spanish = next(iter(dataset.as_numpy_iterator()))
    assert english.decode("utf-8") == "Yahweh’s word that came to Joel, the son of Pethuel."
    assert spanish.decode("utf-8") == "PALABRA de Jehová que fué á Joel hijo de Pethuel."
