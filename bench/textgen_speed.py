"""Time per generated character: the step function over state against re-running the text.

`TextGenerator.stream` reads the prompt once and then one character per step,
with the recurrent state as the cache, so each character should cost the same
however long the text already is. The naive way re-runs the model over the
whole text so far for every new character, so its cost per character grows
with the length. Both are measured side by side in one run, on the same model,
machine and thread count, and printed as ratios:

    python bench/textgen_speed.py [--model textgen-shakespeare-lstm] [--threads 1]

Columns: length; step ms/char; step cost relative to 100 characters (flat ≈ 1);
naive ms/char; naive / step. The naive run is measured in full up to
`--naive-max` characters; beyond that its per-character cost is estimated from
re-runs at four prefix lengths (midpoint rule over the text), marked `~`.
"""

from __future__ import annotations

import argparse
import time


def stepped_ms_per_char(model, length: int, seed: int) -> float:
    start = time.perf_counter()
    count = sum(1 for _ in model.stream("", length, temperature=1.0, seed=seed))
    return (time.perf_counter() - start) / count * 1000


def naive_generation(model, length: int, seed: int) -> float:
    """Generates `length` characters by re-reading the whole text each step; ms per character."""
    import tensorflow as tf

    from seqapps import decoding

    rerun = naive_function(model)
    ids = [model.start_id]
    start = time.perf_counter()
    for step in range(length):
        logits = rerun(tf.constant([ids]))
        token = decoding.sample(
            decoding.exclude(logits, model.tokenizer.never_written_ids),
            decoding.step_seed(seed, step),
        )
        ids.append(int(token[0]))
    return (time.perf_counter() - start) / length * 1000


def naive_estimate(model, length: int, repeats: int = 3) -> float:
    """Mean cost of one re-run over the text as it grows to `length`, from four prefix lengths."""
    import numpy as np
    import tensorflow as tf

    rerun = naive_function(model)
    times = []
    for fraction in (1 / 8, 3 / 8, 5 / 8, 7 / 8):
        ids = tf.constant(np.full([1, int(length * fraction)], model.start_id, "int32"))
        rerun(ids)  # warm-up at this shape
        start = time.perf_counter()
        for _ in range(repeats):
            rerun(ids).numpy()
        times.append((time.perf_counter() - start) / repeats)
    return float(np.mean(times)) * 1000


def naive_function(model):
    import tensorflow as tf

    if "_naive" not in model.__dict__:
        model.__dict__["_naive"] = tf.function(
            lambda ids: model.read(ids, model.zero_state())[0][:, -1],
            input_signature=[tf.TensorSpec([1, None], tf.int32)],
        )
    return model.__dict__["_naive"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="textgen-shakespeare-lstm", help="entry or .keras file")
    parser.add_argument("--lengths", default="100,250,500,1000,2000")
    parser.add_argument("--naive-max", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import seqapps

    model = seqapps.load(args.model)
    lengths = [int(n) for n in args.lengths.split(",")]
    stepped_ms_per_char(model, 20, seed=0)  # trace once before timing
    naive_generation(model, 5, seed=0)
    print(f"{args.model}: {model.count_params():,} parameters, {args.threads} thread(s)")
    print(
        f"{'length':>7} {'step ms/char':>13} {'vs 100':>7} {'naive ms/char':>14} {'naive/step':>11}"
    )
    baseline = None
    for length in lengths:
        step = stepped_ms_per_char(model, length, seed=length)
        baseline = baseline or step
        if length <= args.naive_max:
            naive, mark = naive_generation(model, length, seed=length), " "
        else:
            naive, mark = naive_estimate(model, length), "~"
        print(
            f"{length:>7} {step:>13.3f} {step / baseline:>7.2f} {mark}{naive:>13.3f} "
            f"{naive / step:>10.1f}x"
        )


if __name__ == "__main__":
    main()
