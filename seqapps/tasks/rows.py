"""Row helpers the tasks share when fine-tuning and batching: a seeded held-out split, and
padding rows of unequal length into one array."""

import numpy as np

from seqapps.tasks.inputs import check_float


def held_out_split(count, fraction, seed, what="examples"):
    """`(train rows, held-out rows)` of `range(count)`, shuffled with `seed`.

    The last `fraction` of the shuffled rows (at least one) is held out for
    validation; at least one row must be left to train on.
    """
    fraction = check_float(
        fraction, "validation_fraction", low=0, high=1, open_low=True, open_high=True
    )
    order = np.random.default_rng(seed).permutation(count)
    held = max(1, int(round(count * fraction)))
    if count < 2:
        raise ValueError(f"need at least 2 {what} to fine-tune, got {count}")
    if count - held < 1:
        raise ValueError(
            f"validation_fraction={fraction} of {count} {what} leaves none to train on"
        )
    return order[:-held], order[-held:]


def padded(rows, pad):
    """Rows of unequal length as one `[len(rows), longest]` array (at least one column)."""
    array = np.full((len(rows), max([1, *map(len, rows)])), pad, dtype=type(pad))
    array = array.astype(object) if isinstance(pad, str) else array
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array
