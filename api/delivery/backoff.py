"""Retry timing: exponential backoff with full jitter, and ``Retry-After`` parsing."""

from __future__ import annotations

import random
from datetime import datetime
from email.utils import parsedate_to_datetime

MIN_DELAY_SECONDS = 1.0  # a retry never lands in the tick that failed


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1-based): uniform in [0, min(cap, base·2^(n-1))].

    Full jitter spreads the retries of many failed messages so a recovering provider is
    not hit by all of them at once (AWS architecture blog, "Exponential Backoff And Jitter").
    """
    ceiling = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return max(MIN_DELAY_SECONDS, rng.uniform(0.0, ceiling))


def retry_delay(attempt: int, retry_after: float | None, base: float, cap: float, rng: random.Random) -> float:
    """The backoff delay, but never sooner than the provider's ``Retry-After`` (capped)."""
    delay = backoff_delay(attempt, base, cap, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def parse_retry_after(value: str | None, response_date: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    An HTTP-date is measured against the response's own ``Date`` header when present, so
    a skewed local clock (or the test clock) does not distort it. Garbage is ignored.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        until = parsedate_to_datetime(value)
        reference = parsedate_to_datetime(response_date) if response_date else now
    except (TypeError, ValueError, IndexError):
        return None
    if until.tzinfo is None or reference.tzinfo is None:
        return None
    return max(0.0, (until - reference).total_seconds())
