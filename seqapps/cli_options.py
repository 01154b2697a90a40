"""The command line's options: a declared `Option` (`seqapps.interface`) as an argparse
argument, its value checked as argparse reads it, and read back as a keyword argument."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from seqapps.interface import Option


def option_dest(option: Option) -> str:
    return option.flag.lstrip("-").replace("-", "_")


def add_option(parser, option: Option, default: object = "declared") -> None:
    default = option.default if default == "declared" else default
    shown = f" (default: {option.default})" if option.default not in (None, "") else ""
    kwargs = {"dest": option_dest(option), "help": option.help + shown, "required": option.required}
    if option.type == "flag":
        parser.add_argument(option.flag, action="store_true", **kwargs)
    elif option.type == "append":
        parser.add_argument(option.flag, action="append", **kwargs)
    else:
        types = {"int": int, "positive_int": positive_int, "float": finite_float}
        kwargs["type"] = types.get(option.type, str)
        parser.add_argument(
            option.flag, default=default, metavar=option_dest(option).upper(), **kwargs
        )


def positive_int(value: str) -> int:
    number = int(value) if value.strip().lstrip("+-").isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return number


def finite_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not -float("inf") < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value!r}")
    return number


def float_in(low=None, high=None, *, open_low=False, open_high=False):
    """An argparse type: a finite number in the range, refused at parse time as
    `seqapps.checks.check_float` words it (e.g. `float_in(0, 1, open_high=True)`)."""
    from seqapps.checks import check_float

    def parse(value: str) -> float:
        bounds = {"low": low, "high": high, "open_low": open_low, "open_high": open_high}
        try:
            return check_float(finite_float(value), "it", **bounds)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix("it ")) from None

    return parse


def option_value(args: argparse.Namespace, option: Option):
    value = getattr(args, option_dest(option), None)
    return option.default if value is None else value


def option_values(args: argparse.Namespace, options: Sequence[Option]) -> dict:
    """The verb's keyword arguments: the options set, or declaring a default."""
    values = {option.keyword: option_value(args, option) for option in options}
    return {keyword: value for keyword, value in values.items() if value is not None}
