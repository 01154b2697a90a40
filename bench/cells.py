"""Task × cell: every zoo entry of a task side by side, with the metric split by distance.

The lecture says the gates (LSTM, GRU) are what let a dependency survive many
steps. For each task this measures every entry the zoo has for it on the test
split, split into buckets by how far the model must carry information:

- tagging: token accuracy by the token's position in its sentence;
- sentiment: accuracy by the text's length in words (quarters of the test split);
- translation: greedy BLEU by the source verse's length (quarters);
- captioning: greedy BLEU-4 against all references, by the length of the name in words;
- text generation: bits per character by the distance into the line.

Beside it: the card's test metric, parameters, weight file size, training
minutes (the card's history) and batch-1 latency of the task's verb (median of
`--repeats` calls on one test input, in the same run).

    python bench/cells.py [--tasks tagging sentiment translation captioning textgen] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TASKS = {
    "tagging": "token-classification",
    "sentiment": "text-classification",
    "translation": "translation",
    "captioning": "image-captioning",
    "textgen": "text-generation",
}


# Where each task's card keeps its headline test metric.
CARD_METRIC = {
    "tagging": ("accuracy",),
    "sentiment": ("accuracy", "pooled"),
    "translation": ("greedy", "bleu"),
    "captioning": ("greedy", "bleu4"),
    "textgen": ("bits_per_char", "pooled"),
}


def buckets_by(values, edges):
    """The bucket index of each value: edges `[5, 15]` give buckets <5, 5–14, ≥15."""
    return [sum(v >= e for e in edges) for v in values]


def bucket_names(edges, unit=""):
    names = [f"<{edges[0]}{unit}"]
    names += [f"{lo}–{hi - 1}{unit}" for lo, hi in zip(edges, edges[1:])]
    return names + [f"≥{edges[-1]}{unit}"]


def quarter_edges(values):
    ordered = sorted(values)
    return sorted({ordered[len(ordered) * k // 4] for k in (1, 2, 3)})


def tagging(model, data):
    sentences, tags = data
    predicted = model.tag(sentences)
    edges = [5, 15, 30]
    hits = collections_of(len(edges) + 1)
    for gold_row, guess_row in zip(tags, predicted):
        for position, (gold, (_, guess)) in enumerate(zip(gold_row, guess_row)):
            hits[buckets_by([position], edges)[0]].append(gold == guess)
    return {
        f"position {name}": round(100 * sum(h) / len(h), 2)
        for name, h in zip(bucket_names(edges), hits)
    }, " ".join(sentences[0])


def sentiment(model, data):
    texts, labels = data
    guesses = [r["label"] for r in model.classify(texts)]
    lengths = [len(t.split()) for t in texts]
    edges = quarter_edges(lengths)
    hits = collections_of(len(edges) + 1)
    for bucket, guess, label in zip(buckets_by(lengths, edges), guesses, labels):
        hits[bucket].append(guess == model.labels[label])
    return {
        f"{name} words": round(100 * sum(h) / len(h), 1)
        for name, h in zip(bucket_names(edges), hits)
    }, texts[0]


def translation(model, data):
    import sacrebleu

    english, spanish = data
    output = model.translate(english)
    lengths = [len(t.split()) for t in english]
    edges = quarter_edges(lengths)
    result = {}
    for k, name in enumerate(bucket_names(edges)):
        rows = [i for i, b in enumerate(buckets_by(lengths, edges)) if b == k]
        bleu = sacrebleu.corpus_bleu([output[i] for i in rows], [[spanish[i] for i in rows]])
        result[f"{name} words"] = round(bleu.score, 2)
    return result, english[0]


def captioning(model, data):
    from seqapps.tasks.image_captioner import caption_scores

    images, names, references = data
    captions = model.caption(images)
    lengths = [len(n.split()) for n in names]
    edges = [2, 3]
    result = {}
    for k, name in enumerate(bucket_names(edges)):
        rows = [i for i, b in enumerate(buckets_by(lengths, edges)) if b == k]
        scores = caption_scores([captions[i] for i in rows], [references[i] for i in rows])
        result[f"name {name} words"] = scores["bleu4"]
    return result, images[0]


def textgen(model, works):
    """Bits per character by how far into its line a character is, state carried through."""
    import numpy as np
    import tensorflow as tf

    from seqapps.tasks.text_scoring import traced_read

    read = traced_read(model)  # as `score` reads
    edges = [10, 30]
    nats = np.zeros(len(edges) + 1)
    counts = np.zeros(len(edges) + 1)
    for text in works.values():
        ids = np.asarray(model.token_ids(text), "int32")
        inputs = np.concatenate([[model.start_id], ids[:-1]]).astype("int32")[None]
        column = np.zeros(len(text), "int64")
        for i in range(1, len(text)):
            column[i] = 0 if text[i - 1] == "\n" else column[i - 1] + 1
        state = model.zero_state(1)
        losses = []
        for start in range(0, len(ids), 2000):
            logits, state = read(tf.constant(inputs[:, start : start + 2000]), state)
            losses.append(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    ids[None, start : start + 2000], logits
                ).numpy()[0]
            )
        losses = np.concatenate(losses)
        bucket = np.searchsorted(edges, column, side="right")
        np.add.at(nats, bucket, losses)
        np.add.at(counts, bucket, 1)
    return {
        f"column {name}": round(float(n / c / math.log(2)), 3)
        for name, n, c in zip(bucket_names(edges), nats, counts)
    }, "ROMEO:"


def collections_of(n):
    return [[] for _ in range(n)]


def load_data(task):
    if task == "tagging":
        from seqapps.zoo.recipes.tagging import sentences

        tokens, tags, _ = sentences("test")
        return tokens, tags
    if task == "sentiment":
        from seqapps.zoo.recipes.sentiment import load_split

        texts, labels, _ = load_split("test")
        return texts, labels
    if task == "translation":
        from seqapps.zoo.recipes.translation import pairs

        return pairs("test")
    if task == "captioning":
        from seqapps.zoo.recipes.captioning import split

        return split("test")
    from seqapps.zoo.recipes.textgen import load_works

    return load_works("test")


def card_facts(task, card):
    test = card["metrics"]["test"]
    for key in CARD_METRIC[task]:
        test = test[key]
    history = card["dataset"].get("history") or card["metrics"].get("training") or []
    minutes = max((row.get("minutes", 0) for row in history), default=None)
    return {
        "test (card)": test,
        "parameters": card["num_parameters"],
        "file MB": round(card["weights"]["size_bytes"] / 1e6, 1),
        "training min": minutes,
        "cell": card["architecture"].get("cell"),
    }


def batch1_ms(model, example, repeats):
    verb = getattr(model, model.interface.verb)
    options = {"max_length": 100} if model.interface.verb == "generate" else {}
    call = lambda: verb(example, **options)  # noqa: E731
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return round(statistics.median(times), 2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--repeats", type=int, default=30, help="batch-1 calls timed per entry")
    p.add_argument("--json", help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    import seqapps

    rows = {}
    for task in args.tasks:
        names = seqapps.list_models(task=TASKS[task])
        if not names:
            continue
        data = load_data(task)
        print(f"\n## {task}\n", flush=True)
        table = []
        for name in names:
            model = seqapps.load(name)
            buckets, example = globals()[task](model, data)
            row = {"entry": name, **card_facts(task, seqapps.describe(name)), **buckets}
            row["batch-1 ms"] = batch1_ms(model, example, args.repeats)
            table.append(row)
        header = list(table[0])
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(str(row.get(k, "")) for k in header) + " |", flush=True)
        rows[task] = table
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
