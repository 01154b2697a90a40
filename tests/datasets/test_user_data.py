"""Readers of the user's own data: shapes like the bundled datasets, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from seqapps import datasets


def as_python(value):
    if isinstance(value, tuple):
        return tuple(as_python(item) for item in value)
    value = value.numpy()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [item.decode("utf-8") for item in value]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    return value.item()


def items(dataset):
    return [as_python(element) for element in dataset]


# --- classification -----------------------------------------------------------------------


def test_from_lists_maps_string_labels_to_sorted_names():
    dataset, names = datasets.from_lists(["great", "awful", "fine"], ["pos", "neg", "pos"])
    assert names == ["neg", "pos"]
    assert dataset.element_spec[0].dtype.name == "string"
    assert dataset.element_spec[1].dtype.name == "int64"
    assert items(dataset) == [("great", 1), ("awful", 0), ("fine", 1)]


def test_from_lists_follows_given_label_names_and_rejects_others():
    dataset, names = datasets.from_lists(["a", "b"], ["neg", "pos"], label_names=["pos", "neg"])
    assert names == ["pos", "neg"]
    assert items(dataset) == [("a", 1), ("b", 0)]
    with pytest.raises(ValueError, match=r"texts\[1\]: label 'meh' is not in label_names"):
        datasets.from_lists(["a", "b"], ["pos", "meh"], label_names=["neg", "pos"])


def test_from_lists_keeps_integer_ids_and_float_targets():
    dataset, names = datasets.from_lists(["a", "b"], [3, 0])
    assert names is None and items(dataset) == [("a", 3), ("b", 0)]
    dataset, names = datasets.from_lists(["a", "b"], [0.5, -1.25])
    assert names is None and dataset.element_spec[1].dtype.name == "float32"
    assert items(dataset) == [("a", 0.5), ("b", -1.25)]
    with pytest.raises(ValueError, match=r"texts\[0\]: label id 2 is outside label_names"):
        datasets.from_lists(["a", "b"], [2, 0], label_names=["neg", "pos"])


def test_from_lists_without_labels_gives_texts():
    dataset, names = datasets.from_lists(["one", "two"])
    assert names is None and items(dataset) == ["one", "two"]


def test_from_lists_length_mismatch():
    with pytest.raises(ValueError, match="texts has 2 items but labels has 1"):
        datasets.from_lists(["a", "b"], ["x"])


def test_empty_texts_are_skipped_and_counted():
    with pytest.warns(
        UserWarning, match=r"skipped 2 rows with empty text .*texts\[1\], texts\[3\]"
    ):
        dataset, _ = datasets.from_lists(["a", "  ", "b", ""], ["x", "y", "x", "y"])
    assert items(dataset) == [("a", 0), ("b", 0)]


def test_from_dataframe_string_and_numeric_labels():
    frame = pd.DataFrame({"review": ["good", "bad", "ok"], "mood": ["up", "down", "up"]})
    dataset, names = datasets.from_dataframe(frame, text_column="review", label_column="mood")
    assert names == ["down", "up"]
    assert items(dataset) == [("good", 1), ("bad", 0), ("ok", 1)]
    frame = pd.DataFrame({"text": ["good", "bad"], "label": [1, 0]})
    dataset, names = datasets.from_dataframe(frame, label_names=["neg", "pos"])
    assert names == ["neg", "pos"] and items(dataset) == [("good", 1), ("bad", 0)]


def test_from_dataframe_missing_column_names_the_available_ones():
    frame = pd.DataFrame({"review": ["good"], "stars": [5]})
    with pytest.raises(ValueError, match=r"text_column 'text' .*\['review', 'stars'\]"):
        datasets.from_dataframe(frame)
    with pytest.raises(ValueError, match=r"label_column 'label' is not a column"):
        datasets.from_dataframe(frame, text_column="review")


def test_from_dataframe_missing_text_skipped_missing_label_raises():
    frame = pd.DataFrame({"text": ["good", None, "bad"], "label": ["p", "n", None]})
    with pytest.warns(UserWarning, match="skipped 1 rows with empty text"):
        with pytest.raises(ValueError, match=r"DataFrame row 2: the label is empty"):
            datasets.from_dataframe(frame)


def test_from_csv_with_header_quotes_and_integer_labels(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"fine, really",1\nawful,0\n\n"two\nlines",1\n', encoding="utf-8")
    dataset, names = datasets.from_csv(path)
    assert names is None
    assert items(dataset) == [("fine, really", 1), ("awful", 0), ("two\nlines", 1)]


def test_from_csv_tsv_is_tab_separated_and_names_map(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text("\ufeffsentence\tpolarity\nok, fine\tpos\nbad\tneg\n", encoding="utf-8")
    dataset, names = datasets.from_csv(path, text_column="sentence", label_column="polarity")
    assert names == ["neg", "pos"] and items(dataset) == [("ok, fine", 1), ("bad", 0)]


def test_from_csv_sniffs_other_suffixes(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("text;label\nnice;pos\nmeh;neg\n", encoding="utf-8")
    dataset, names = datasets.from_csv(path)
    assert names == ["neg", "pos"] and items(dataset) == [("nice", 1), ("meh", 0)]


def test_from_csv_errors_name_file_and_line(tmp_path):
    missing = tmp_path / "a.csv"
    missing.write_text("review,label\ngood,1\n")
    with pytest.raises(ValueError, match=r"text_column 'text' .*a\.csv.*\['review', 'label'\]"):
        datasets.from_csv(missing)
    ragged = tmp_path / "b.csv"
    ragged.write_text("text,label\ngood,1\nbad,0,extra\n")
    with pytest.raises(ValueError, match=r"b\.csv line 3: 3 fields where the header has 2"):
        datasets.from_csv(ragged)
    empty = tmp_path / "c.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"c\.csv is empty"):
        datasets.from_csv(empty)
    latin = tmp_path / "d.csv"
    latin.write_bytes("text,label\ngood,1\nse\u00f1or,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"d\.csv line 3: .*re-save the file as UTF-8 or pass enc"):
        datasets.from_csv(latin)
    dataset, _ = datasets.from_csv(latin, encoding="latin-1")
    assert items(dataset)[1] == ("señor", 0)
    no_label = tmp_path / "e.csv"
    no_label.write_text("text,label\ngood,1\nbad,\n")
    with pytest.raises(ValueError, match=r"e\.csv line 3: the label is empty"):
        datasets.from_csv(no_label)
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        datasets.from_csv(tmp_path / "nowhere.csv")


# --- generation ---------------------------------------------------------------------------


def test_from_text_files_one_document_per_file(tmp_path):
    (tmp_path / "b.txt").write_text("second\ndocument\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third", encoding="utf-8")
    (tmp_path / ".hidden").write_text("not data", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"skipped 1 empty files .*empty\.txt"):
        dataset = datasets.from_text_files(tmp_path)
    assert items(dataset) == ["first", "second\ndocument\n", "third"]
    single = datasets.from_text_files(tmp_path / "a.txt")
    assert items(single) == ["first"]
    listed = datasets.from_text_files([tmp_path / "sub" / "c.txt", tmp_path / "a.txt"])
    assert items(listed) == ["third", "first"]


def test_from_text_files_errors(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"fine\nfine\n\xff\xfe broken\n")
    with pytest.raises(ValueError, match=r"bad\.txt line 3: .*pass encoding="):
        datasets.from_text_files(tmp_path / "bad.txt")
    with pytest.raises(FileNotFoundError, match="missing"):
        datasets.from_text_files(tmp_path / "missing")
    (tmp_path / "void").mkdir()
    with pytest.raises(ValueError, match="holds no files"):
        datasets.from_text_files(tmp_path / "void")


# --- translation --------------------------------------------------------------------------


def test_from_parallel_tsv_pairs_and_extra_columns(tmp_path):
    path = tmp_path / "en_es.tsv"
    path.write_text("Go.\tVe.\tCC-BY 2.0\nHi.\tHola.\tCC-BY 2.0\n\nRun!\t\tCC-BY 2.0\n")
    with pytest.warns(UserWarning, match=r"skipped 1 pairs with an empty side .*line 4"):
        dataset = datasets.from_parallel_tsv(path)
    assert items(dataset) == [("Go.", "Ve."), ("Hi.", "Hola.")]
    with pytest.warns(UserWarning, match="skipped 1 pairs"):
        swapped = datasets.from_parallel_tsv(path, source_column=1, target_column=0)
    assert items(swapped)[0] == ("Ve.", "Go.")


def test_from_parallel_tsv_errors(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("Go.\tVe.\nHello there\n")
    with pytest.raises(ValueError, match=r"pairs\.tsv line 2: no tab .*'Hello there'"):
        datasets.from_parallel_tsv(path)
    path.write_text("Go.\tVe.\n")
    with pytest.raises(ValueError, match=r"pairs\.tsv line 1: 2 tab-separated fields, need at"):
        datasets.from_parallel_tsv(path, target_column=2)
    path.write_text("")
    with pytest.raises(ValueError, match=r"pairs\.tsv is empty"):
        datasets.from_parallel_tsv(path)


def test_from_parallel_files_aligned_and_unequal(tmp_path):
    (tmp_path / "train.en").write_text("Hello.\nThanks.\n")
    (tmp_path / "train.es").write_text("Hola.\nGracias.\n")
    dataset = datasets.from_parallel_files(tmp_path / "train.en", tmp_path / "train.es")
    assert items(dataset) == [("Hello.", "Hola."), ("Thanks.", "Gracias.")]
    (tmp_path / "short.es").write_text("Hola.\n")
    with pytest.raises(ValueError, match=r"train\.en has 2 lines but .*short\.es has 1"):
        datasets.from_parallel_files(tmp_path / "train.en", tmp_path / "short.es")


def test_parallel_readers_skip_a_pair_with_an_empty_side_and_warn_at_the_callers_line(tmp_path):
    (tmp_path / "train.en").write_text("Hello.\n  \nThanks.\n")
    (tmp_path / "train.es").write_text(" Hola. \nVacío.\nGracias.\n")
    with pytest.warns(UserWarning, match=r"skipped 1 line pairs with an empty side .*line 2") as w:
        dataset = datasets.from_parallel_files(tmp_path / "train.en", tmp_path / "train.es")
    assert items(dataset) == [("Hello.", "Hola."), ("Thanks.", "Gracias.")]
    assert w[0].filename == __file__  # the user's call, not the reader's insides
    (tmp_path / "pairs.tsv").write_text("Go.\tVe.\nRun!\t \n")
    with pytest.warns(UserWarning, match="skipped 1 pairs with an empty side") as w:
        datasets.from_parallel_tsv(tmp_path / "pairs.tsv")
    assert w[0].filename == __file__
    (tmp_path / "half.en").write_text(" \nThanks.\n")
    (tmp_path / "half.es").write_text("Hola.\n\n")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no non-empty line pairs"):
        datasets.from_parallel_files(tmp_path / "half.en", tmp_path / "half.es")


# --- tagging ------------------------------------------------------------------------------


def test_from_conll_sentences_and_tag_ids(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(
        "-DOCSTART- -X- O O\n\nEU NNP B-ORG\nrejects VBZ O\n\n\nPeter NNP B-PER\n",
        encoding="utf-8",
    )
    dataset, names = datasets.from_conll(path)
    assert names == ["B-ORG", "B-PER", "O"]
    assert dataset.element_spec[0].shape.as_list() == [None]
    assert dataset.element_spec[1].dtype.name == "int64"
    assert items(dataset) == [(["EU", "rejects"], [0, 2]), (["Peter"], [1])]
    pos, pos_names = datasets.from_conll(path, tag_column=1)
    assert pos_names == ["NNP", "VBZ"] and items(pos)[0] == (["EU", "rejects"], [0, 1])


def test_from_conll_tabs_comments_and_given_names(tmp_path):
    path = tmp_path / "ud.conllu"
    path.write_text("# sent_id = 1\n1\tDogs\tNOUN\n2\tbark\tVERB\n", encoding="utf-8")
    dataset, names = datasets.from_conll(
        path, token_column=1, tag_column=2, comment_prefix="#", label_names=["VERB", "NOUN"]
    )
    assert names == ["VERB", "NOUN"] and items(dataset) == [(["Dogs", "bark"], [1, 0])]


def test_a_conllu_file_read_with_the_default_columns_is_read_as_conllu(tmp_path):
    path = tmp_path / "u.conllu"
    rows = [
        "# text = The dog runs.",
        "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_",
        "2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_",
        "3-4\truns.\t_\t_\t_\t_\t_\t_\t_\t_",
        "3\truns\trun\tVERB\tVBZ\t_\t0\troot\t_\t_",
        "3.1\tfast\tfast\tADV\tRB\t_\t_\t_\t_\t_",
        "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="read as CoNLL-U: tokens from FORM .* UPOS"):
        dataset, names = datasets.from_conll(path)
    assert names == ["DET", "NOUN", "PUNCT", "VERB"]
    assert items(dataset) == [(["The", "dog", "runs", "."], [0, 1, 3, 2])]
    with pytest.warns(UserWarning, match="read as CoNLL-U"):  # as the earlier docs advised
        assert datasets.from_conll(path, comment_prefix="#")[1] == names


def test_from_conll_malformed_line_names_file_line_content(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("The DET\ncat\nsat VERB\n")
    with pytest.raises(ValueError, match=r"bad\.conll line 2: expected a token .*'cat'"):
        datasets.from_conll(path)
    with pytest.raises(ValueError, match=r"bad\.conll line 1: expected a token in column 5"):
        datasets.from_conll(path, token_column=5)
    path.write_text("The DET\ncat NOUN\n")
    with pytest.raises(ValueError, match=r"bad\.conll line 2: label 'NOUN' is not in label_names"):
        datasets.from_conll(path, label_names=["DET"])


# --- captioning ---------------------------------------------------------------------------


def test_from_image_folder_resizes_and_repeats_images(tmp_path):
    Image.new("RGB", (10, 6), (255, 0, 0)).save(tmp_path / "red.png")
    transparent = Image.new("RGBA", (8, 8), (0, 0, 255, 0))
    transparent.save(tmp_path / "clear.png")
    (tmp_path / "captions.csv").write_text(
        "image,caption\nred.png,a red box\nclear.png,nothing\nred.png,crimson\nred.png,\n"
    )
    with pytest.warns(UserWarning, match=r"skipped 1 rows with an empty caption .*line 5"):
        dataset = datasets.from_image_folder(tmp_path, tmp_path / "captions.csv", image_size=(4, 3))
    assert dataset.element_spec[0].shape.as_list() == [4, 3, 3]
    assert dataset.element_spec[0].dtype.name == "uint8"
    examples = [(image.numpy(), caption.numpy().decode()) for image, caption in dataset]
    assert [caption for _, caption in examples] == ["a red box", "nothing", "crimson"]
    np.testing.assert_array_equal(examples[0][0], np.full((4, 3, 3), [255, 0, 0], np.uint8))
    np.testing.assert_array_equal(examples[1][0], np.full((4, 3, 3), 255, np.uint8))


def test_from_image_folder_errors(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    (tmp_path / "broken.png").write_bytes(b"not really a png")
    (tmp_path / "captions.csv").write_text("file,text\nok.png,fine\n")
    with pytest.raises(ValueError, match=r"image_column 'image' .*\['file', 'text'\]"):
        datasets.from_image_folder(tmp_path, tmp_path / "captions.csv")
    (tmp_path / "captions.csv").write_text("image,caption\nok.png,fine\nbroken.png,bad\n")
    with pytest.raises(
        ValueError, match=r"line 3: image .*broken\.png\) cannot be decoded as an image"
    ):
        datasets.from_image_folder(tmp_path, tmp_path / "captions.csv")
    (tmp_path / "captions.csv").write_text("image,caption\ngone.png,lost\n")
    with pytest.raises(FileNotFoundError, match=r"captions\.csv line 2: image 'gone\.png' not"):
        datasets.from_image_folder(tmp_path, tmp_path / "captions.csv")


def test_from_image_folder_refuses_paths_out_of_the_folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "secret.png")
    Image.new("RGB", (4, 4)).save(images / "ok.png")
    for name in ("../secret.png", str(tmp_path / "secret.png")):
        (images / "captions.csv").write_text(f"image,caption\nok.png,fine\n{name},leak\n")
        with pytest.raises(ValueError, match=r"line 3: image .* lies outside the image folder"):
            datasets.from_image_folder(images, images / "captions.csv")
