"""Retry timing: exponential backoff with full jitter; Retry-After as seconds or HTTP-date."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.delivery.backoff import MIN_DELAY_SECONDS, backoff_delay, next_attempt_at, parse_retry_after

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
    far = NOW + timedelta(days=1)
    assert next_attempt_at(NOW, 1, 120.0, far, base=2.0, cap=600.0, rng=rng) >= NOW + timedelta(seconds=120)
    assert next_attempt_at(NOW, 1, 10**9, far, base=2.0, cap=600.0, rng=rng) == NOW + timedelta(seconds=600)


@given(attempt=st.integers(1, 60), seed=st.integers(0, 2**32), left=st.floats(0, 7200))
def test_the_next_attempt_never_overshoots_the_window_nor_lands_in_the_same_second(
    attempt: int, seed: int, left: float
) -> None:
    give_up_at = NOW + timedelta(seconds=left)
    at = next_attempt_at(NOW, attempt, None, give_up_at, base=30.0, cap=1800.0, rng=random.Random(seed))
    assert at >= NOW + timedelta(seconds=MIN_DELAY_SECONDS)
    assert at <= max(give_up_at, NOW + timedelta(seconds=MIN_DELAY_SECONDS))


def test_the_default_policy_keeps_retrying_for_the_whole_window() -> None:
    """Failing every time, attempts continue until the window ends and the last lands on its end."""
    rng = random.Random(5)
    give_up_at = NOW + timedelta(hours=24)
    at, attempt, tries = NOW, 1, [NOW]
    while at < give_up_at:
        at = next_attempt_at(at, attempt, None, give_up_at, base=30.0, cap=1800.0, rng=rng)
        attempt += 1
        tries.append(at)
    assert tries[-1] == give_up_at
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(tries)]
    assert max(gaps) <= 1800.0  # capped: a recovered provider is tried again within 30 minutes
    assert 24 <= len(tries) < 24 * 60  # tens of attempts, not a storm


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
