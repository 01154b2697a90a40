"""One checker of numeric options for all of seqapps: generation options, fine-tuning options and
the tasks' own arguments take NumPy numbers like Python ones, refuse bools, NaN and values out of
range, and say so in one wording: `beam_size must be an integer in 1..64, got 0`."""

import math
import numbers

import numpy as np


def shown(value: object) -> str:
    """`value` as an error shows it: NumPy numbers as Python ones, at most 60 characters."""
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_int(
    value: object,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    accepted: str | None = None,
) -> int:
    """`value` as an `int` if it is an integer (NumPy's included, not a bool) in `low..high`.

    Anything else raises a `ValueError` naming the option, the value and what it
    accepts (`accepted`, e.g. "be a positive integer or None (no filter)", else
    worded from the range), before any work starts.
    """
    if accepted is None:
        if (low, high) == (1, None):
            accepted = "be a positive integer"
        elif low is not None and high is not None:
            accepted = f"be an integer in {low}..{high}"
        else:
            accepted = f"be an integer{_bound(low, high)}"
    valid = not _is_bool(value) and isinstance(value, numbers.Integral)
    if not valid or (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must {accepted}, got {shown(value)}")
    return int(value)


def check_positive_int(value: object, name: str) -> int:
    """`value` as an `int` if it is an integer >= 1 (see `check_int`)."""
    return check_int(value, name, low=1)


def check_float(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    accepted: str | None = None,
    finite: bool = True,
) -> float:
    """`value` as a `float` if it is a real number (NumPy's included, not a bool) in range.

    The range is `[low, high]`, or open at an end with `open_low` / `open_high`;
    `accepted` words it otherwise (see `check_int`). NaN is always refused, and
    infinities too unless `finite=False` (a temperature may be infinite).
    """
    if accepted is None:
        if (low, high, open_low) == (0, None, True):
            accepted = "be a positive number"
        elif low is not None and high is not None:
            brackets = "(" if open_low else "[", ")" if open_high else "]"
            accepted = f"be a number in {brackets[0]}{low}, {high}{brackets[1]}"
        else:
            accepted = f"be a number{_bound(low, high, open_low, open_high)}"
    valid = not _is_bool(value) and isinstance(value, numbers.Real)
    number = float(value) if valid else math.nan
    if (
        math.isnan(number)
        or (finite and math.isinf(number))
        or (low is not None and (number < low or (open_low and number == low)))
        or (high is not None and (number > high or (open_high and number == high)))
    ):
        raise ValueError(f"{name} must {accepted}, got {shown(value)}")
    return number


def _bound(low, high, open_low=False, open_high=False) -> str:
    if low is not None:
        return f" {'>' if open_low else '>='} {low}"
    if high is not None:
        return f" {'<' if open_high else '<='} {high}"
    return ""
