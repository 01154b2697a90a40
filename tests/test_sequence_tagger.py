"""SequenceTagger on a toy grammar: masking, every input form, unseen words, export, NER fine-tuning."""

import json
import random

import keras
import pytest
import tensorflow as tf

from harness import (
    assert_config_round_trip,
    assert_same_outputs,
    load_export_without_seqapps,
    zoo_entry_for,
)
from seqapps import datasets
from seqapps.cli import main
from seqapps.tasks import SequenceTagger, Task
from seqapps.tasks.sequence_tagger import TokenAccuracy
from seqapps.text import split_words
from seqapps.zoo import register, registry

TAGS = ["DET", "ADJ", "NOUN", "VERB", "ADV", "."]
# Adverbs end in -ly, adjectives in -ous: a word never seen in training is tagged by its spelling.
WORDS = {
    "DET": ["the", "a", "every"],
    "ADJ": ["famous", "nervous", "joyous", "curious"],
    "NOUN": ["cat", "dog", "bird", "fish"],
    "VERB": ["sees", "eats", "likes"],
    "ADV": ["quickly", "slowly", "happily", "rarely"],
}


def sentence(rng, adjectives=WORDS["ADJ"], adverbs=WORDS["ADV"]):
    pattern = ["DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "ADV", "."]
    if rng.random() < 0.5:
        pattern = ["DET", "NOUN", "ADV", "VERB", "DET", "ADJ", "NOUN", "."]
    pools = {**WORDS, "ADJ": adjectives, "ADV": adverbs, ".": ["."]}
    tokens = [rng.choice(pools[tag]) for tag in pattern]
    tokens[0] = tokens[0].capitalize()
    return tokens, pattern


def corpus(n, seed=0, **pools):
    rng = random.Random(seed)
    rows = [sentence(rng, **pools) for _ in range(n)]
    return [tokens for tokens, _ in rows], [tags for _, tags in rows]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    tokens, tags = corpus(300)
    vocabulary = sorted({t.lower() for row in tokens for t in row})
    characters = sorted({c for row in tokens for t in row for c in t} | set("zvwmnkrpt"))
    tagger = SequenceTagger(vocabulary, characters, TAGS, units=16, embedding_dim=8, dropout=0.1)
    tagger.compile(optimizer=keras.optimizers.Adam(1e-2))
    tagger.fit(tagger.make_dataset(tokens, tags, batch_size=16, shuffle=True), epochs=15, verbose=0)
    return tagger


def test_tags_held_out_sentences_and_unseen_words_by_their_spelling(model):
    held_out, gold = corpus(50, seed=1, adjectives=["zealous", "vigorous"], adverbs=["wmnly"])
    result = model.score(held_out, gold, known_words={t for row in corpus(300)[0] for t in row})
    assert result["accuracy"] > 0.95
    assert result["unseen_tokens"] > 50 and result["accuracy_unseen"] > 0.9
    ids = [[TAGS.index(tag) for tag in row] for row in gold]  # tag ids score the same as names
    assert model.score(held_out, ids)["accuracy"] == result["accuracy"]


def test_padding_never_changes_an_answer_or_counts(model):
    sentences = corpus(5, seed=2)[0]
    sentences[1] = sentences[1][:3]
    batched = model.tag(sentences, all_scores=True)
    for tokens, row in zip(sentences, batched):
        single = model.tag(tokens, is_split_into_words=True, all_scores=True)
        assert [t for t, _ in single] == tokens
        for (_, a), (_, b) in zip(single, row):
            assert_same_outputs(list(a.values()), list(b.values()))
    # Padded steps (target -1) count in neither the accuracy nor the loss.
    metric = TokenAccuracy()
    metric.update_state([[0, 1, -1, -1]], tf.one_hot([[0, 0, 3, 3]], 4))
    assert float(metric.result()) == 0.5
    narrow = model.evaluate(model.make_dataset(sentences[1:2], [["DET", "NOUN", "ADV"]]), verbose=0)
    padded = tf.data.Dataset.from_tensors(
        (tf.constant([sentences[1] + [""] * 5]), tf.constant([[0, 2, 4] + [-1] * 5]))
    )
    assert_same_outputs(model.evaluate(padded, verbose=0), narrow)


def test_every_input_form(model):
    one = model.tag("The famous cat sees a dog quickly.")
    assert [t for t, _ in one] == ["The", "famous", "cat", "sees", "a", "dog", "quickly", "."]
    assert dict(one)["quickly"] == "ADV"
    raw = model.tag(["A dog eats.", "Every bird sees the fish rarely ."], is_split_into_words=False)
    assert len(raw) == 2 and raw[0][-1] == (".", ".")
    split = model.tag([["A", "dog", "eats", "."], ["The", "cat"]])
    assert [len(row) for row in split] == [4, 2] and split[0] == raw[0]
    scores = model.tag("the cat", all_scores=True)
    assert set(scores[0][1]) == set(TAGS) and abs(sum(scores[0][1].values()) - 1) < 1e-5
    assert model.tag("") == [] and model.tag([]) == []
    assert [token for token, _ in model.tag("! ? .")] == ["!", "?", "."]
    long = model.tag(["the"] * 10_000, is_split_into_words=True)
    assert len(long) == 10_000


def test_bad_input_is_refused_naming_the_item(model):
    with pytest.raises(ValueError, match="ambiguous"):
        model.tag(["the", "cat"])
    with pytest.raises(ValueError, match=r"sentences\[1\]\[0\].*whitespace"):
        model.tag([["the"], ["big cat"]])
    with pytest.raises(TypeError, match=r"sentences\[0\]\[1\]"):
        model.tag([["the", None]])
    with pytest.raises(TypeError, match=r"sentences\[1\]"):
        model.tag([["the"], None])
    with pytest.raises(ValueError, match="lacks"):
        model.make_dataset([["the"]], [["PROPN"]])
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        model.make_dataset([["the", "cat"]], [["DET"]])


def test_split_words_keeps_contractions_numbers_and_splits_punctuation():
    rows = split_words(["Didn't he pay $3.50 -- in the U.S., today?", ""]).to_list()
    assert [t.decode() for t in rows[0]] == [
        "Didn't", "he", "pay", "$", "3.50", "--", "in", "the", "U.S.", ",", "today", "?",
    ]  # fmt: skip
    assert rows[1] == []


def test_config_preset_and_export_round_trip(model, tmp_path):
    clone = assert_config_round_trip(model)
    tokens = tf.constant([["The", "cat", "sees", "."]])
    assert_same_outputs(clone(tokens), model(tokens))
    restored = Task.from_preset(model.save_preset(tmp_path / "tagger.keras"))
    texts = ["The curious dog likes a fish slowly.", "", "A cat"]
    assert restored.tag(texts, is_split_into_words=False) == model.tag(
        texts, is_split_into_words=False
    )
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", texts)
    expected = model.tag(texts, is_split_into_words=False)
    assert served["lengths"] == [len(row) for row in expected]
    width = max(served["lengths"])
    flat_tags = [tag for row in expected for tag in [t for _, t in row] + [""] * (width - len(row))]
    assert served["tags"] == flat_tags
    assert served["tokens"][:4] == ["The", "curious", "dog", "likes"]


NER_NAMES = ["Anna", "Boris", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo"]
NER_PLACES = ["Paris", "Lima", "Oslo", "Quito", "Riga", "Sofia"]


def test_the_same_tags_in_another_order_keep_the_trained_head(model):
    sentences = corpus(20, seed=2)[0]
    reordered = model.reconfigure(tags=model.tags[::-1])
    assert reordered.tags == model.tags[::-1]
    assert reordered.tag(sentences) == model.tag(sentences)
    with pytest.raises(TypeError, match="tags must be a list of names"):
        model.reconfigure(tags="NOUN")


def write_conll(path, n, seed, names, places):
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        first, last = rng.choice(names), rng.choice(names) + "son"
        words = [(first, "B-PER"), (last, "I-PER"), ("sees", "O"), ("the", "O")]
        words += [("dog", "O"), ("in", "O"), (rng.choice(places), "B-LOC"), (".", "O")]
        lines += [f"{w}\t{t}" for w, t in words] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_ner_fine_tuning_gets_a_fresh_head_and_a_held_out_entity_f1(model, tmp_path):
    train = write_conll(tmp_path / "train.conll", 120, 0, NER_NAMES[:5], NER_PLACES[:4])
    test = write_conll(tmp_path / "test.conll", 30, 1, NER_NAMES[5:], NER_PLACES[4:])
    dataset, tags = datasets.from_conll(train)
    tagger = model.reconfigure(tags=tags)
    assert_same_outputs(
        tagger.get_layer("encoder").get_weights()[0], model.get_layer("encoder").get_weights()[0]
    )
    tagger.finetune(dataset, epochs=20, learning_rate=1e-2, patience=20, verbose=0)
    rows = list(datasets.from_conll(test, label_names=tagger.tags)[0].as_numpy_iterator())
    sentences = [[t.decode() for t in tokens] for tokens, _ in rows]
    gold = [[tagger.tags[i] for i in ids] for _, ids in rows]
    result = tagger.score(sentences, gold)
    assert result["entity_f1"] > 0.8, result  # names and places never seen in training
    with pytest.raises(ValueError, match=r"test.conll line 1: .*B-PER"):
        datasets.from_conll(test, label_names=model.tags)


def test_command_line_tags_and_finetunes_on_conll(model, tmp_path, capsys):
    path = model.save_preset(tmp_path / "tiny.keras")
    register(zoo_entry_for(path, "tagger-tiny", task="token-classification"))
    try:
        assert main(["tag", "tagger-tiny", "The cat sees a dog.", "--json"]) == 0
        row = json.loads(capsys.readouterr().out)
        assert row["tokens"] == ["The", "cat", "sees", "a", "dog", "."]
        assert len(row["tags"]) == 6 and set(row["tags"]) <= set(TAGS)
        assert main(["tag", "tagger-tiny", "A bird eats."]) == 0
        assert capsys.readouterr().out.strip().endswith("./.")
        conll = write_conll(tmp_path / "ner.conll", 20, 0, NER_NAMES, NER_PLACES)
        out = tmp_path / "tuned.keras"
        args = ["finetune", "tagger-tiny", "--conll", str(conll), "--out", str(out)]
        assert main([*args, "--epochs", "1", "--quiet"]) == 0
        captured = capsys.readouterr()
        assert "fresh head" in captured.err and out.is_file()
        assert Task.from_preset(out).tags == ["B-LOC", "B-PER", "I-PER", "O"]
    finally:
        registry._REGISTRY.pop("tagger-tiny")
