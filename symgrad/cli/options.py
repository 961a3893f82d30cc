"""Helpers the subcommands share: option types and writing output."""

from __future__ import annotations

import argparse

from symgrad.core.errors import OptionError

FORMATS = ("text", "latex", "json")


def comma_list(text: str) -> list[str]:
    """``"w,b"`` -> ``["w", "b"]`` (for argparse ``type=``)."""
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"empty name in {text!r}")
    return items


def positive_int(text: str) -> int:
    """An integer >= 1 (for argparse ``type=``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (for argparse ``type=``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def need(value: object, option: str, because: str) -> None:
    """Raise an OptionError when an option another one depends on is missing."""
    if value is None:
        raise OptionError(f"{option} is required {because}")


def one_of_loss_or_expr(loss: str | None, expr: str | None) -> None:
    """Raise an OptionError unless exactly one of a catalogue loss and ``--expr`` is given."""
    if loss is None and expr is None:
        raise OptionError("give a catalogue loss (mse, bce, cross_entropy) or --expr TEXT")
    if loss is not None and expr is not None:
        raise OptionError(f"give a catalogue loss ({loss}) or --expr, not both")
