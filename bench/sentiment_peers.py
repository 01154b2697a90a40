"""Accuracy of the sentiment entries against linear bag-of-words peers, in one run, on the same rows.

    python bench/sentiment_peers.py [--entries sentiment-lstm,sentiment-gru,sentiment-rnn]
                                    [--preset NAME=PATH ...]

Peers, trained here on `sentence_polarity` train, their one hyperparameter (the
inverse regularization C) chosen on validation, scored on test (pooled and per domain):

- NB-SVM (Wang & Manning, 2012): binary word 1–2 grams scaled by their naive-Bayes
  log-count ratio, then an L2-regularized logistic regression (the NB-LR form of
  Mesnil et al., 2014);
- TF-IDF + logistic regression on the same 1–2 grams.

Only NumPy and SciPy; tokens are lower-cased words with punctuation split off,
as the entries' tokenizer makes them. `--preset NAME=PATH` scores a `.keras`
file beside the entries (e.g. a `--dry-run` candidate saved elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")


def ngrams(text: str) -> set[str]:
    words = _TOKEN.findall(text.lower())
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}


def features(texts, index):
    import numpy as np
    import scipy.sparse as sparse

    rows, cols = [], []
    for row, text in enumerate(texts):
        for gram in ngrams(text):
            if gram in index:
                rows.append(row)
                cols.append(index[gram])
    data = np.ones(len(rows), dtype="float64")
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), len(index)))


def logistic_regression(x, y, c):
    """Weights and bias of an L2-regularized logistic regression (L-BFGS)."""
    import numpy as np
    from scipy.optimize import minimize

    signs = 2.0 * np.asarray(y) - 1.0

    def loss(theta):
        w, b = theta[:-1], theta[-1]
        margin = signs * (x @ w + b)
        value = np.logaddexp(0, -margin).sum() + 0.5 / c * w @ w
        weight = -signs * np.exp(-np.logaddexp(0, margin))
        gradient = np.concatenate([x.T @ weight + w / c, [weight.sum()]])
        return value, gradient

    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return theta[:-1], theta[-1]


def scores(predicted, labels, domains) -> dict[str, float]:
    import numpy as np

    correct = np.asarray(predicted) == np.asarray(labels)
    result = {"pooled": float(correct.mean())}
    for domain in sorted(set(domains)):
        result[domain] = float(correct[np.asarray(domains) == domain].mean())
    return {name: round(value, 4) for name, value in result.items()}


def linear_peer(kind, train, validation, test):
    """Trains NB-SVM or TF-IDF + LR, C chosen on validation; returns (C, validation, test)."""
    import numpy as np

    index: dict[str, int] = {}
    for text in train[0]:
        for gram in ngrams(text):
            index.setdefault(gram, len(index))
    x_train, x_val, x_test = (features(split[0], index) for split in (train, validation, test))
    y = np.asarray(train[1])
    if kind == "nbsvm":
        p = 1.0 + np.asarray(x_train[y == 1].sum(axis=0)).ravel()
        q = 1.0 + np.asarray(x_train[y == 0].sum(axis=0)).ravel()
        scale = np.log((p / p.sum()) / (q / q.sum()))
    else:
        document_frequency = np.asarray(x_train.sum(axis=0)).ravel()
        scale = np.log((1 + len(y)) / (1 + document_frequency)) + 1
    import scipy.sparse as sparse

    def transform(x):
        x = x @ sparse.diags(scale)
        if kind == "tfidf":
            norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
            x = sparse.diags(1 / np.maximum(norms, 1e-12)) @ x
        return x.tocsr()

    x_train, x_val, x_test = transform(x_train), transform(x_val), transform(x_test)
    best = None
    for c in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0):
        w, b = logistic_regression(x_train, y, c)
        accuracy = float((((x_val @ w + b) > 0) == np.asarray(validation[1])).mean())
        if best is None or accuracy > best[1]:
            best = (c, accuracy, w, b)
    c, _, w, b = best
    return (
        c,
        scores((x_val @ w + b) > 0, validation[1], validation[2]),
        scores((x_test @ w + b) > 0, test[1], test[2]),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", default="sentiment-lstm,sentiment-gru,sentiment-rnn")
    parser.add_argument("--preset", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args(argv)

    from seqapps.zoo.recipes.sentiment import accuracy_by_domain, load_split

    train, validation, test = (load_split(s) for s in ("train", "validation", "test"))
    rows = {}
    for kind, title in (
        ("nbsvm", "NB-SVM (word 1-2 grams)"),
        ("tfidf", "TF-IDF + LR (word 1-2 grams)"),
    ):
        c, val, tst = linear_peer(kind, train, validation, test)
        rows[title] = {"C": c, "validation": val, "test": tst}
        print(json.dumps({title: rows[title]}), flush=True)

    import seqapps

    models = [(name, name) for name in args.entries.split(",") if name]
    models += [tuple(item.split("=", 1)) for item in args.preset]
    for name, source in models:
        model = seqapps.load(source)
        rows[name] = {
            "validation": accuracy_by_domain(model, *validation),
            "test": accuracy_by_domain(model, *test),
        }
        print(json.dumps({name: rows[name]}), flush=True)

    print("\n| model | validation | test pooled | movie / tweets / amazon / nyt |")
    print("|---|---:|---:|---|")
    for name, row in rows.items():
        t = row["test"]
        print(
            f"| {name} | {row['validation']['pooled']:.3f} | {t['pooled']:.3f} | "
            f"{t['movie']:.3f} / {t['tweets']:.3f} / {t['amazon']:.3f} / {t['nyt']:.3f} |"
        )


if __name__ == "__main__":
    main()
