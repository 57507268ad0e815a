"""Retry timing: capped exponential backoff with full jitter inside a retry window, and
``Retry-After`` parsing.

The retry state lives in the outbox row (``next_attempt_at``, ``give_up_at``), not in a
sleeping process, so a retry library (tenacity, stamina) has nothing to hold: what is
needed is one pure function from (failure time, attempt, provider hint, window) to the
next attempt time, which is ``next_attempt_at`` below.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

MIN_DELAY_SECONDS = 1.0  # a retry never lands in the tick that failed


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1-based): uniform in [0, min(cap, base·2^(n-1))].

    Full jitter spreads the retries of many failed messages so a recovering provider is
    not hit by all of them at once (AWS architecture blog, "Exponential Backoff And Jitter").
    """
    ceiling = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return max(MIN_DELAY_SECONDS, rng.uniform(0.0, ceiling))


def next_attempt_at(
    failed_at: datetime,
    attempt: int,
    retry_after: float | None,
    give_up_at: datetime,
    *,
    base: float,
    cap: float,
    rng: random.Random,
) -> datetime:
    """When to try again after attempt number ``attempt`` failed at ``failed_at``.

    The jittered backoff, pulled in to ``give_up_at`` so the last try lands at the end of
    the window (the window is fully used, never overshot by a long delay), but never
    sooner than the provider's ``Retry-After`` (itself capped at ``cap``, so a bogus
    header cannot park a message for days) nor within ``MIN_DELAY_SECONDS``.
    """
    at = failed_at + timedelta(seconds=backoff_delay(attempt, base, cap, rng))
    at = min(at, give_up_at)
    if retry_after is not None:
        at = max(at, failed_at + timedelta(seconds=min(retry_after, cap)))
    return max(at, failed_at + timedelta(seconds=MIN_DELAY_SECONDS))


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
