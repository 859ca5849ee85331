"""Argument types that the `speaker wake` subcommands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _listed(parse: Callable[[str], float], text: str, example: str) -> tuple[float, ...]:
    """Comma-separated values, each read by `parse`; at least one."""
    values = tuple(parse(part.strip()) for part in text.split(",") if part.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"give at least one threshold, e.g. {example}")
    return values


def between(low: float, high: float, *, open_ends: bool) -> type[float]:
    """An argparse type: a number in low..high (open: the ends themselves not allowed)."""

    def parse(text: str) -> float:
        value = _number(text)
        inside = low < value < high if open_ends else low <= value <= high
        if not inside:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    return parse  # type: ignore[return-value]


THRESHOLD = between(0.0, 1.0, open_ends=True)
HOURS = between(0.0, 1000.0, open_ends=False)


def count(text: str) -> int:
    """An argparse type: how many of something, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def phone_threshold(text: str) -> float:
    value = _number(text)
    if not -100.0 <= value <= 50.0:
        raise argparse.ArgumentTypeError(f"a phone check threshold is a number from -100 to 50, got {text}")
    return value


def phone_thresholds(text: str) -> tuple[float, ...]:
    return tuple(sorted(set(_listed(phone_threshold, text, "-12,-8,-5"))))


def thresholds(text: str) -> tuple[float, ...]:
    """An argparse type: comma-separated thresholds, each in 0..1."""
    return _listed(THRESHOLD, text, "0.9,0.95")
