"""Retry timing: exponential backoff with full jitter; Retry-After as seconds or HTTP-date."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.delivery.backoff import MIN_DELAY_SECONDS, backoff_delay, parse_retry_after, retry_delay

NOW = datetime(2026, 6, 8, 12, 0, tzinfo=UTC)


@given(attempt=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_full_jitter_stays_under_the_exponential_ceiling(attempt: int, seed: int) -> None:
    delay = backoff_delay(attempt, 30.0, 21600.0, random.Random(seed))
    assert MIN_DELAY_SECONDS <= delay <= max(MIN_DELAY_SECONDS, min(21600.0, 30.0 * 2 ** (attempt - 1)))


def test_the_ceiling_doubles_per_attempt() -> None:
    rng = random.Random(7)
    highest = [max(backoff_delay(n, 10.0, 1000.0, rng) for _ in range(400)) for n in (1, 2, 3, 4)]
    assert highest[0] <= 10 < highest[1] <= 20 < highest[2] <= 40 < highest[3] <= 80


def test_retry_after_is_never_undercut_and_is_capped() -> None:
    rng = random.Random(1)
    assert retry_delay(1, 120.0, 2.0, 600.0, rng) >= 120.0
    assert retry_delay(1, 10**9, 2.0, 600.0, rng) == 600.0


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("120", None, 120.0),
        (" 7 ", None, 7.0),
        ("Mon, 08 Jun 2026 12:01:30 GMT", "Mon, 08 Jun 2026 12:00:00 GMT", 90.0),
        ("Mon, 08 Jun 2026 12:01:00 GMT", None, 60.0),  # measured against now without a Date header
        ("Mon, 08 Jun 2026 11:00:00 GMT", None, 0.0),  # in the past: retry as soon as backoff allows
        ("soon", None, None),
        ("-5", None, None),
        (None, None, None),
    ],
)
def test_parse_retry_after(value: str | None, date: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, date, NOW) == expected
