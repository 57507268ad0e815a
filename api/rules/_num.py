"""Exact arithmetic for threshold decisions.

Pain scores are integers, so window means are exact rationals; deciding "Δ ≥ 2" or
"pct ≥ 30 %" on binary floats can flip a boundary case (44/7 - 30/7 is not always 2.0).
Decisions are therefore taken on ``Fraction``s; floats from callers are read as the
simplest nearby rational, which recovers the exact mean of any realistic window.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

_MAX_DENOMINATOR = 1_000_000


def exact(value: float | Fraction) -> Fraction:
    """``value`` as a Fraction; floats snap to the nearest fraction with a small denominator."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    return _exact_float(value)


@lru_cache(maxsize=4096)
def _exact_float(value: float) -> Fraction:
    # Thresholds are a handful of settings read on every decision: snapping them once
    # keeps a sweep over thousands of patients from redoing the same continued fraction.
    return Fraction(value).limit_denominator(_MAX_DENOMINATOR)


def _decimal(value: float | Fraction) -> Decimal:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    # repr() is the shortest decimal that round-trips: the value the caller meant.
    return Decimal(repr(value))


def round_half_up(value: float | Fraction, places: int) -> Decimal:
    """Round for display, half up (the clinical convention, not banker's rounding)."""
    return _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def percent_words(fraction: float | Fraction) -> str:
    """A share as whole percent for patient- and clinician-facing reasons: ``"67 %"``."""
    return f"{round_half_up(exact(fraction) * 100, 0)} %"
