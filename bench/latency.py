"""Batch-1 latency of every verb: the TensorFlow path against the LiteRT runtime, in one run.

Each verb runs on its zoo entry and real inputs from the entry's test split,
one input per call, through every path: `tensorflow` (the Keras model as
`seqapps.load(name)` gives it), `litert` (`seqapps.load(name,
runtime="litert")`, float32: for tagging, translation and captioning the
NumPy path over the export's float32 weights), `litert-interp` (the same
float32 file in LiteRT's interpreter, as an export without the NumPy weights
is served; only where a NumPy path exists) and `litert-int8` (the
dynamic-range int8 variant, in the interpreter). Printed: median and p99 milliseconds per call (per character for
generation, timed between the characters `stream` yields), the ratio of the
TensorFlow median to each path's (above 1: faster than TensorFlow), how many
answers equal TensorFlow's, and for tagging the tokens per second beside a
linear-chain CRF tagging one sentence at a time (the peer of
`bench/tagging.py`). Then the same verbs on 64 inputs in one call.

    python bench/latency.py [--repeats 50] [--chars 1000] [--batch-repeats 3]
        [--verbs classify,tag,generate,translate,caption] [--threads 1]

The first run exports every entry to LiteRT (~15 s each, kept under
`~/.cache/seqapps/litert`). Needs `pip install seqapps[litert] sklearn-crfsuite`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ENTRIES = {
    "classify": "sentiment-lstm",
    "tag": "pos-brown-lstm",
    "generate": "textgen-shakespeare-lstm",
    "translate": "translate-en-es-gru",
    "caption": "caption-emoji-gru",
}
PATHS = ("tensorflow", "litert", "litert-interp", "litert-int8")
#: Calls a path makes in a row before the next path's turn.
BLOCK = 10


def inputs_for(verb, count):
    """`count` test inputs of the verb's entry, and how one is passed to the verb."""
    if verb == "classify":
        from seqapps.zoo.recipes.sentiment import load_split

        return load_split("test")[0][:count]
    if verb == "tag":
        from seqapps.zoo.recipes.tagging import sentences

        return sentences("test", "upos")[0][:count]
    if verb == "translate":
        from seqapps.zoo.recipes.translation import pairs

        return pairs("test")[0][:count]
    if verb == "caption":
        from seqapps.zoo.recipes.captioning import split

        return list(split("test")[0][:count])
    return [""]  # generate: from the start state


def call(model, verb, item):
    if verb == "tag":
        if not hasattr(model, "task_name"):  # the CRF peer
            return [str(tag) for tag in model.tag([item])[0]]
        return [t for _, t in model.tag([item])[0]]
    if verb == "classify":
        return model.classify(item)["label"]
    return getattr(model, verb)(item)


def per_call(models, verb, items, repeats):
    """Per path, the milliseconds of `repeats` calls (cycling through `items`) and the answers.

    The paths take turns, `BLOCK` inputs each, so that a busy machine slows them
    alike, while the threads TensorFlow leaves spinning after its calls do not.
    """
    for model in models.values():
        call(model, verb, items[0])  # warm up (tracing)
    times = {path: [] for path in models}
    answers = {path: [] for path in models}
    for first in range(0, repeats, BLOCK):
        for path, model in models.items():
            call(model, verb, items[first % len(items)])  # after another path's turn
            for index in range(first, min(first + BLOCK, repeats)):
                start = time.perf_counter()
                answer = call(model, verb, items[index % len(items)])
                times[path].append((time.perf_counter() - start) * 1000)
                if index < len(items):
                    answers[path].append(answer)
    return times, answers


def per_char(models, chars, seed=0):
    """Per path, the milliseconds between the characters `stream` yields, and the text.

    The paths' streams advance in turns, `BLOCK` characters each.
    """
    for model in models.values():
        "".join(model.stream("", 20, temperature=1.0, seed=seed))  # warm up (tracing)
    streams = {
        path: model.stream("", chars, temperature=1.0, seed=seed) for path, model in models.items()
    }
    times = {path: [] for path in models}
    pieces = {path: [] for path in models}
    for first in range(0, chars, BLOCK):
        for path, stream in streams.items():
            for _ in range(first, min(first + BLOCK, chars)):
                start = time.perf_counter()
                piece = next(stream, None)
                times[path].append((time.perf_counter() - start) * 1000)
                if piece is not None:
                    pieces[path].append(piece)
    return times, {path: ["".join(p)] for path, p in pieces.items()}


def p99(times):
    return sorted(times)[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbs", default=",".join(ENTRIES))
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--repeats", type=int, default=50, help="batch-1 calls per verb and path")
    parser.add_argument("--chars", type=int, default=1000, help="characters generated")
    parser.add_argument("--batch-repeats", type=int, default=3, help="batch-64 calls (0: none)")
    parser.add_argument("--crf-train", type=int, default=4000, help="CRF training sentences")
    parser.add_argument("--crf-iterations", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None, help="LiteRT threads")
    args = parser.parse_args(argv)
    verbs, paths = args.verbs.split(","), args.paths.split(",")

    import seqapps

    print(f"{'verb':9} {'path':13} {'median ms':>10} {'p99 ms':>8} {'vs TF':>7} {'same':>9}  unit")
    batch_rows = []
    for verb in verbs:
        name = ENTRIES[verb]
        items = inputs_for(verb, args.repeats)
        models = {}
        for path in paths:
            if path == "tensorflow":
                models[path] = seqapps.load(name)
                continue
            variant = "int8" if path.endswith("int8") else "float32"
            model = seqapps.load(name, runtime="litert", variant=variant, num_threads=args.threads)
            if path == "litert-interp":  # float32 in the interpreter, where NumPy serves it
                if getattr(model, "numpy", None) is None:
                    continue
                model.numpy = None
            models[path] = model
        if verb == "tag":
            from tagging import CRF

            from seqapps.zoo.recipes.tagging import sentences

            train, train_tags, _ = sentences("train", "upos")
            crf = CRF(train[: args.crf_train], train_tags[: args.crf_train], args.crf_iterations)
            models["CRF peer"] = crf
        if verb == "generate":
            times, answers = per_char(models, args.chars)
            unit = "per character"
        else:
            times, answers = per_call(models, verb, items, args.repeats)
            unit = "per " + {"tag": "sentence", "classify": "text"}.get(verb, "input")
        reference = statistics.median(times[paths[0]]), answers[paths[0]]
        for path in models:
            median = statistics.median(times[path])
            same = sum(a == b for a, b in zip(answers[path], reference[1]))
            line = f"{verb:9} {path:13} {median:10.3f} {p99(times[path]):8.3f} "
            line += f"{reference[0] / median:6.2f}x {same:>4}/{len(answers[path]):<4}  {unit}"
            if verb == "tag":
                # Median over sentences of tokens / time: a busy moment moves it little.
                rates = [len(items[i % len(items)]) / t for i, t in enumerate(times[path])]
                line += f", {statistics.median(rates) * 1000:,.0f} tokens/s"
            print(line, flush=True)
        models.pop("CRF peer", None)
        if args.batch_repeats and verb != "generate":
            batch = (items * (64 // len(items) + 1))[:64]
            times = {path: [] for path in models}
            for repeat in range(args.batch_repeats + 1):  # the first warms up
                for path, model in models.items():
                    start = time.perf_counter()
                    getattr(model, verb)(batch)
                    if repeat:
                        times[path].append((time.perf_counter() - start) * 1000)
            batch_rows.extend((verb, path, statistics.median(t)) for path, t in times.items())
    if batch_rows:
        print(f"\nbatch of 64 in one call: {'median ms':>10} {'vs TF':>7}")
        baseline = {}
        for verb, path, median in batch_rows:
            baseline.setdefault(verb, median)
            print(f"{verb:9} {path:14} {median:10.1f} {baseline[verb] / median:6.2f}x")


if __name__ == "__main__":
    main()
