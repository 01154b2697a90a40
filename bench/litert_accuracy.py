"""What LiteRT costs in quality: every zoo entry on its test split, Keras against LiteRT float32 and int8.

For each entry the test split (or its first `--limit` inputs) is answered by
the Keras model (`seqapps.load(name)`), by `seqapps.load(name,
runtime="litert")` (float32) and by its int8 variant (dynamic-range int8
weights, float activations), and scored the way the entry's card is:
accuracy for sentiment and tagging, corpus BLEU for translation, BLEU-4 for
captions (every reference); for text generation, how far 200 greedy characters
from 20 test prompts follow the Keras model's before they part. Printed with
the agreement of each LiteRT answer with the Keras one, and the file sizes.

    python bench/litert_accuracy.py [--limit 1000] [--entries sentiment-lstm,...]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def answers_and_score(name, model, limit):
    """`(answers, score, metric)` of one model on the entry's test split."""
    if name.startswith("sentiment"):
        from seqapps.zoo.recipes.sentiment import load_split

        texts, labels, _ = load_split("test")
        texts, labels = texts[:limit], labels[:limit]
        names = [model.classify(t)["label"] for t in texts]
        gold = [model.labels[i] for i in labels]
        return names, sum(a == b for a, b in zip(names, gold)) / len(gold), "accuracy"
    if name.startswith("pos"):
        from seqapps.zoo.recipes.tagging import sentences

        rows, tags, _ = sentences("test", "upos")
        rows, tags = rows[:limit], tags[:limit]
        found = [[t for _, t in model.tag([row])[0]] for row in rows]
        pairs = [(g, p) for gr, pr in zip(tags, found) for g, p in zip(gr, pr)]
        return found, sum(g == p for g, p in pairs) / len(pairs), "token accuracy"
    if name.startswith("translate"):
        import sacrebleu

        from seqapps.zoo.recipes.translation import pairs

        english, spanish = pairs("test")
        english, spanish = english[:limit], spanish[:limit]
        written = [model.translate(t) for t in english]
        return written, sacrebleu.corpus_bleu(written, [spanish]).score, "BLEU"
    if name.startswith("caption"):
        from seqapps.tasks.image_captioner import caption_scores
        from seqapps.zoo.recipes.captioning import split

        images, _, references = split("test")
        written = [model.caption(image) for image in images[:limit]]
        return written, caption_scores(written, references[:limit])["bleu4"], "BLEU"
    from seqapps.zoo.recipes.textgen import load_works

    text = "\n".join(load_works("test").values())
    step = len(text) // 20
    prompts = [text[i * step : i * step + 40] for i in range(min(20, limit))]
    written = [model.generate(p, 200) for p in prompts]
    return written, None, "greedy text"


def agreement(answer, reference) -> float:
    """1 for the same answer; for generated text, the share of characters before they part."""
    if answer == reference or not isinstance(reference, str) or not reference:
        return float(answer == reference)
    shared = next((i for i, (a, b) in enumerate(zip(answer, reference)) if a != b), len(reference))
    return shared / len(reference)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", help="comma-separated zoo names (default: every entry)")
    parser.add_argument("--limit", type=int, default=1000, help="test inputs per entry")
    args = parser.parse_args(argv)

    import seqapps
    from seqapps.litert import MODEL_FILES

    print(
        f"{'entry':26} {'metric':15} {'keras':>8} {'f32':>8} {'int8':>8} {'int8 Δ':>8} "
        f"{'f32 same':>9} {'int8 same':>9} {'f32 MB':>7} {'int8 MB':>8}"
    )
    names = args.entries.split(",") if args.entries else seqapps.list_models()
    for name in names:
        keras_model = seqapps.load(name)
        base, score, metric = answers_and_score(name, keras_model, args.limit)
        row = {"keras": score}
        same = {}
        sizes = {}
        for variant in ("float32", "int8"):
            model = seqapps.load(name, runtime="litert", variant=variant)
            answers, row[variant], _ = answers_and_score(name, model, args.limit)
            same[variant] = sum(map(agreement, answers, base)) / len(base)
            sizes[variant] = os.path.getsize(model.folder / MODEL_FILES[variant]) / 1e6

        def shown(value, metric=metric):
            if value is None:
                return "—"
            return f"{value:.2f}" if metric == "BLEU" else f"{value:.4f}"

        delta = None if score is None else row["int8"] - score
        print(
            f"{name:26} {metric:15} {shown(score):>8} {shown(row['float32']):>8} "
            f"{shown(row['int8']):>8} {shown(delta):>8} {same['float32']:9.1%} {same['int8']:9.1%} "
            f"{sizes['float32']:7.1f} {sizes['int8']:8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
