"""Argument types that the `speaker wake` subcommands share."""

from __future__ import annotations

import argparse


def between(low: float, high: float, *, open_ends: bool) -> type[float]:
    """An argparse type: a number in low..high (open: the ends themselves not allowed)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        inside = low < value < high if open_ends else low <= value <= high
        if not inside:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    return parse  # type: ignore[return-value]


THRESHOLD = between(0.0, 1.0, open_ends=True)


def phone_threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not -100.0 <= value <= 50.0:
        raise argparse.ArgumentTypeError(f"a phone check threshold is a number from -100 to 50, got {text}")
    return value


def phone_thresholds(text: str) -> tuple[float, ...]:
    values = tuple(phone_threshold(part.strip()) for part in text.split(",") if part.strip())
    if not values:
        raise argparse.ArgumentTypeError("give at least one threshold, e.g. -12,-8,-5")
    return tuple(sorted(set(values)))


def thresholds(text: str) -> tuple[float, ...]:
    """An argparse type: comma-separated thresholds, each in 0..1."""
    values = tuple(THRESHOLD(part.strip()) for part in text.split(",") if part.strip())
    if not values:
        raise argparse.ArgumentTypeError("give at least one threshold, e.g. 0.9,0.95")
    return values
