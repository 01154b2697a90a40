"""A part-of-speech entry against three peers trained in the same run on the same `brown_pos` split.

Peers: the most-frequent tag of each word form (unseen words get the most
common tag), NLTK's averaged perceptron (`PerceptronTagger(load=False)`, 5
passes) and a linear-chain CRF (sklearn-crfsuite, L-BFGS with L1 + L2, on the
usual word, affix, shape and neighbour features). Each is trained on train and
scored on test: all tokens, and tokens whose form never occurs in train.

    python bench/tagging.py [--model pos-brown-lstm [OTHER ...]] [--tagset upos] [--crf-iterations 100]

Several `--model` entries or `.keras` presets (e.g. the ablation of the
pretrained vectors) are scored side by side; the confusions and the speed are
the first one's.

Printed: the accuracy table, the entry's ten most common confusions, and
tokens per second tagged one sentence at a time and all at once, with the
ratios ours / peer (above 1: seqapps faster). Needs `pip install nltk
sklearn-crfsuite`.
"""

from __future__ import annotations

import argparse
import collections
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def crf_features(tokens, i):
    word = tokens[i]
    features = {
        "bias": 1.0,
        "lower": word.lower(),
        "suffix3": word[-3:],
        "suffix2": word[-2:],
        "prefix2": word[:2],
        "upper": word.isupper(),
        "title": word.istitle(),
        "digit": any(c.isdigit() for c in word),
        "hyphen": "-" in word,
    }
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if 0 <= j < len(tokens):
            features[f"{offset}:lower"] = tokens[j].lower()
            features[f"{offset}:title"] = tokens[j].istitle()
            features[f"{offset}:suffix3"] = tokens[j][-3:]
        else:
            features[f"{offset}:edge"] = True
    return features


class MostFrequent:
    def __init__(self, sentences, tags):
        counts = collections.defaultdict(collections.Counter)
        for row, row_tags in zip(sentences, tags):
            for token, tag in zip(row, row_tags):
                counts[token][tag] += 1
        self.best = {token: c.most_common(1)[0][0] for token, c in counts.items()}
        self.default = collections.Counter(t for row in tags for t in row).most_common(1)[0][0]

    def tag(self, sentences):
        return [[self.best.get(t, self.default) for t in row] for row in sentences]


class Perceptron:
    def __init__(self, sentences, tags):
        from nltk.tag.perceptron import PerceptronTagger

        self.tagger = PerceptronTagger(load=False)
        self.tagger.train([list(zip(row, t)) for row, t in zip(sentences, tags)], nr_iter=5)

    def tag(self, sentences):
        return [[tag for _, tag in self.tagger.tag(row)] for row in sentences]


class CRF:
    def __init__(self, sentences, tags, iterations):
        import sklearn_crfsuite

        self.crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=iterations
        )
        self.crf.fit([self.features(row) for row in sentences], tags)

    @staticmethod
    def features(row):
        return [crf_features(row, i) for i in range(len(row))]

    def tag(self, sentences):
        return self.crf.predict([self.features(row) for row in sentences])


def accuracy(sentences, gold, predicted, known):
    pairs = [
        (token, g, p)
        for row, gold_row, guess_row in zip(sentences, gold, predicted)
        for token, g, p in zip(row, gold_row, guess_row)
    ]
    unseen = [g == p for token, g, p in pairs if token not in known]
    return sum(g == p for _, g, p in pairs) / len(pairs), sum(unseen) / len(unseen)


def tokens_per_second(tag, sentences, one_at_a_time):
    count = sum(len(row) for row in sentences)
    started = time.perf_counter()
    if one_at_a_time:
        for row in sentences:
            tag([row])
    else:
        tag(sentences)
    return count / (time.perf_counter() - started)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model", nargs="+", default=["pos-brown-lstm"], help="zoo entries or .keras presets"
    )
    p.add_argument("--tagset", default="upos", choices=["upos", "brown"])
    p.add_argument("--crf-iterations", type=int, default=100)
    p.add_argument("--speed-sentences", type=int, default=300, help="for batch-1 speed")
    args = p.parse_args(argv)

    import seqapps
    from seqapps.zoo.recipes.tagging import sentences

    train, train_tags, _ = sentences("train", args.tagset)
    test, test_tags, _ = sentences("test", args.tagset)
    known = {token for row in train for token in row}
    unseen_share = sum(t not in known for row in test for t in row) / sum(map(len, test))
    print(f"test: {sum(map(len, test))} tokens, {unseen_share:.1%} unseen in train")

    systems = {}
    for name in args.model:
        model = seqapps.load(name)
        systems[f"seqapps {name}"] = lambda rows, model=model: [
            [t for _, t in r] for r in model.tag(rows)
        ]
    for name, build in (
        ("most frequent tag", lambda: MostFrequent(train, train_tags)),
        ("NLTK perceptron", lambda: Perceptron(train, train_tags)),
        ("CRF (sklearn-crfsuite)", lambda: CRF(train, train_tags, args.crf_iterations)),
    ):
        started = time.perf_counter()
        peer = build()
        print(f"trained {name} in {time.perf_counter() - started:.0f} s", flush=True)
        systems[name] = peer.tag

    results = {}
    print(f"\n{'system':34} {'accuracy':>9} {'unseen':>8}")
    for name, tag in systems.items():
        predicted = tag(test)
        results[name] = predicted
        overall, unseen = accuracy(test, test_tags, predicted, known)
        print(f"{name:34} {overall:9.2%} {unseen:8.2%}", flush=True)

    ours = next(iter(results))
    confusions = collections.Counter(
        (g, p)
        for gold_row, guess_row in zip(test_tags, results[ours])
        for g, p in zip(gold_row, guess_row)
        if g != p
    )
    errors = sum(confusions.values())
    print(f"\n{ours}: {errors} errors; the most common (gold → predicted):")
    for (g, p), n in confusions.most_common(10):
        print(f"  {g:>5} → {p:<5} {n:6d}  ({n / errors:.1%} of errors)")

    sample = test[: args.speed_sentences]
    print(f"\n{'tokens per second':34} {'batch 1':>10} {'all at once':>12}")
    speeds = {}
    for name in (ours, "NLTK perceptron", "CRF (sklearn-crfsuite)"):
        systems[name](sample[:5])  # warm up (tracing)
        speeds[name] = (
            tokens_per_second(systems[name], sample, one_at_a_time=True),
            tokens_per_second(systems[name], test, one_at_a_time=False),
        )
        print(f"{name:34} {speeds[name][0]:10.0f} {speeds[name][1]:12.0f}")
    for name in ("NLTK perceptron", "CRF (sklearn-crfsuite)"):
        one, many = (a / b for a, b in zip(speeds[ours], speeds[name]))
        print(f"ratio ours / {name}: batch 1 {one:.2f}x, all at once {many:.2f}x")


if __name__ == "__main__":
    main()
