"""The pictures of "Inside the recurrence" in the README, from the shipped entries.

    python bench/inside.py [--out docs/]

1. Gradient flow: `seqapps.inspect.gradient_flow` of `sentiment-rnn`, `-gru` and
   `-lstm` over the `sentence_polarity` test texts of at least 25 words,
   printed and drawn on one log-scale chart (`gradient-flow.png`); the same for the three
   cells freshly initialised, on random inputs of 100 steps (`gradient-flow-init.png`).
2. Interpretable units of `textgen-shakespeare-lstm`: `inspect.find_units`
   over 3,000 characters of the test plays, printed; the passage's first 500
   characters coloured by the units that best follow the position in the line
   and the speaker's name (`unit-*.png`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs", help="folder for the PNGs")
    p.add_argument("--min-words", type=int, default=25)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import seqapps
    from seqapps import datasets, inspect, plots

    texts = [
        text.decode("utf-8")
        for text, _ in datasets.load("sentence_polarity", split="test").as_numpy_iterator()
    ]
    texts = [t for t in texts if len(t.split()) >= args.min_words]
    curves = {}
    for cell in ("rnn", "gru", "lstm"):
        norms = inspect.gradient_flow(seqapps.load(f"sentiment-{cell}"), texts)
        curves[f"sentiment-{cell}"] = norms[: args.min_words]
    print(f"gradient norm by steps before the output ({len(texts)} test texts):")
    print("steps   " + "  ".join(f"{d:>7d}" for d in range(0, args.min_words, 4)))
    for name, norms in curves.items():
        print(f"{name:16} " + "  ".join(f"{norms[d]:7.3f}" for d in range(0, args.min_words, 4)))
    plots.gradient_flow_chart(
        curves,
        out / "gradient-flow.png",
        title=f"mean over {len(texts)} test texts of 25+ words (bidirectional, last step's output)",
    )

    # The mechanism alone: each cell freshly initialised (Keras defaults, 64 units), fed random
    # inputs of 100 steps.
    import keras
    import numpy as np

    from seqapps.layers import RecurrentStack

    vectors = np.random.default_rng(0).normal(size=(32, 100, 16)).astype("float32")
    fresh = {}
    for cell in ("rnn", "gru", "lstm"):
        keras.utils.set_random_seed(0)
        fresh[cell] = inspect.gradient_flow(RecurrentStack(cell, 64), vectors)
    print("\nfreshly initialised stacks, random inputs (32 x 100 steps):")
    print("steps  " + "  ".join(f"{d:>8d}" for d in range(0, 100, 20)) + "        99")
    for name, norms in fresh.items():
        print(f"{name:6} " + "  ".join(f"{norms[d]:8.2e}" for d in (*range(0, 100, 20), 99)))
    plots.gradient_flow_chart(
        fresh, out / "gradient-flow-init.png", title="freshly initialised, 64 units, random inputs"
    )

    model = seqapps.load("textgen-shakespeare-lstm")
    plays = [
        t.decode("utf-8") for t in datasets.load("shakespeare", split="test").as_numpy_iterator()
    ]
    passage = plays[0][5000:8000]
    found = inspect.find_units(model, passage)
    print("\nunits of textgen-shakespeare-lstm that follow a feature (Pearson r over 3,000 chars):")
    for feature, units in found.items():
        print(f"  {feature:17} " + ", ".join(f"unit {u} (r = {r:+.2f})" for u, r in units))
    states = inspect.trace(model, [passage[:500]])[0]["h"]
    for feature in ("position_in_line", "speaker_name"):
        unit = found[feature][0][0]
        title = f"unit {unit}, the one that best follows {feature.replace('_', ' ')}"
        plots.unit_text(passage[:500], states[:, unit], out / f"unit-{feature}.png", title=title)
    print(f"\nwrote the pictures to {out}/")
    return curves, found


if __name__ == "__main__":
    main()
