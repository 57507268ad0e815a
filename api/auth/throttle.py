"""Login throttling that an attacker cannot turn against the account holder.

OWASP's Authentication Cheat Sheet warns that locking an *account* after N failures lets
anyone lock its owner out. So failures are counted per (account, client) pair and per
client, never per account alone:

- **(account, client)**: ``BACKSTEP_LOGIN_MAX_FAILURES`` failures in a row are free; after
  that every try must wait ``BACKSTEP_LOGIN_DELAY_SECONDS``, doubled by each further
  failure, at most ``BACKSTEP_LOGIN_DELAY_MAX_MINUTES``. The failures are forgotten
  ``BACKSTEP_LOGIN_FAILURE_MEMORY_HOURS`` after the first one, or at a successful login.
- **client**: ``BACKSTEP_LOGIN_IP_MAX_FAILURES`` failures on any accounts within
  ``BACKSTEP_LOGIN_IP_WINDOW_MINUTES`` block that client until the window ends (one
  address guessing one password across many accounts).

A "client" is the IP address (an IPv6 address's /64, which one subscriber controls
whole), taken from ``X-Forwarded-For`` only when the peer is a trusted proxy
(``api.main``). Unknown e-mail addresses are counted exactly like real ones, so a wait
never tells whether an account exists. All times are wall-clock: the test clock neither
lifts nor extends a wait.

Concurrency: the pair row is created if missing and row-locked before the password is
checked, so one client's parallel guesses at one account queue and each sees the wait
the previous one earned. The per-client count is read before and written after the
check, so parallel requests may overshoot it by the number in flight.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlmodel import Session, col

from api.config import Settings
from api.models import LoginThrottle
from api.upsert import insert_for

_PRUNE_BATCH = 100


def normalise_email(email: str) -> str:
    return email.strip().lower()


def client_key(client_ip: str | None) -> str:
    """The throttled unit for an address: an IPv4 address, an IPv6 /64, or the raw value."""
    if not client_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def account_prefix(email: str) -> str:
    # Hashed: the table should not keep what strangers typed (sometimes a password).
    return f"pair:{hashlib.sha256(normalise_email(email).encode()).hexdigest()}:"


def pair_key(email: str, client_ip: str | None) -> str:
    return account_prefix(email) + client_key(client_ip)


def ip_key(client_ip: str | None) -> str:
    return f"ip:{client_key(client_ip)}"


def delay_after(failures: int, settings: Settings) -> timedelta | None:
    """The wait earned by ``failures`` failures in a row from one client on one account."""
    extra = failures - settings.login_max_failures
    if extra < 0:
        return None
    cap = settings.login_delay_max_minutes * 60
    seconds = settings.login_delay_seconds * 2 ** min(extra, 32)  # 2**32 s is past any cap
    return timedelta(seconds=min(seconds, cap))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class Attempt:
    """A password check about to happen; ``retry_after`` (seconds) when it may not."""

    pair_key: str
    ip_key: str
    failures: int  # this client's earlier failures on this account that still count
    retry_after: int | None = None


def begin(session: Session, email: str, client_ip: str | None, settings: Settings, now: datetime) -> Attempt:
    """Lock this client's counter for this account and say whether it may try now.

    The caller checks the password only when ``retry_after`` is None, then calls
    ``failed`` or ``succeeded``; a refused attempt needs neither. A refusal checks no
    password, so it counts as no failure and lengthens no wait.
    """
    pair, ip = pair_key(email, client_ip), ip_key(client_ip)
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    # Insert-or-touch: the row is locked (PostgreSQL) until the request commits.
    stmt = insert_for(session, table).values(key=pair, failures=0, window_started_at=now, locked_until=None)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={"failures": table.c.failures})
    row = session.execute(stmt.returning(table.c.failures, table.c.window_started_at, table.c.locked_until)).one()
    failures = row.failures
    if failures and row.window_started_at <= now - timedelta(hours=settings.login_failure_memory_hours):
        failures = 0  # forgotten
    if row.locked_until is not None and row.locked_until > now:
        return Attempt(pair, ip, failures, _seconds_until(row.locked_until, now))
    budget = session.execute(
        select(col(LoginThrottle.failures), col(LoginThrottle.window_started_at)).where(col(LoginThrottle.key) == ip)
    ).first()
    if budget is not None and budget.failures >= settings.login_ip_max_failures:
        window_end = budget.window_started_at + timedelta(minutes=settings.login_ip_window_minutes)
        if window_end > now:
            _drop_if_empty(session, pair)
            return Attempt(pair, ip, failures, _seconds_until(window_end, now))
    return Attempt(pair, ip, failures)


def failed(session: Session, attempt: Attempt, settings: Settings, now: datetime) -> None:
    """Count a wrong password against the pair (maybe earning a wait) and the client."""
    failures = attempt.failures + 1
    values: dict[str, object] = {"failures": failures}
    if attempt.failures == 0:
        values["window_started_at"] = now
    delay = delay_after(failures, settings)
    values["locked_until"] = now + delay if delay is not None else None
    session.execute(update(LoginThrottle).where(col(LoginThrottle.key) == attempt.pair_key).values(**values))

    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    window_start = now - timedelta(minutes=settings.login_ip_window_minutes)
    expired = table.c.window_started_at <= window_start
    stmt = insert_for(session, table).values(key=attempt.ip_key, failures=1, window_started_at=now, locked_until=None)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_started_at": case((expired, now), else_=table.c.window_started_at),
        },
    )
    session.execute(stmt)
    _prune(session, settings, now)


def succeeded(session: Session, attempt: Attempt) -> None:
    """The right password: this client's failures on this account are forgiven."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == attempt.pair_key))


def _drop_if_empty(session: Session, key: str) -> None:
    """Drop the pair row ``begin`` created if it holds nothing (a refused first attempt)."""
    session.execute(
        delete(LoginThrottle).where(
            col(LoginThrottle.key) == key,
            col(LoginThrottle.failures) == 0,
            col(LoginThrottle.locked_until).is_(None),
        )
    )


def forget_account(session: Session, email: str) -> None:
    """Remove every counter of this account (erasure: they are keyed by its e-mail)."""
    prefix = account_prefix(email)
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key).startswith(prefix, autoescape=True)))


def _prune(session: Session, settings: Settings, now: datetime) -> None:
    """Delete a batch of rows that no longer count, so strangers' typing cannot grow the table.

    Run on failures only: they are what creates lasting rows, so each prunes more than it adds.
    SKIP LOCKED (PostgreSQL) leaves rows other requests hold, so pruning never waits or deadlocks.
    """
    memory = max(
        timedelta(hours=settings.login_failure_memory_hours), timedelta(minutes=settings.login_ip_window_minutes)
    )
    stale = (
        select(col(LoginThrottle.key))
        .where(
            col(LoginThrottle.window_started_at) < now - memory,
            or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) <= now),
        )
        .limit(_PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    keys = list(session.execute(stale).scalars())
    if keys:
        session.execute(delete(LoginThrottle).where(col(LoginThrottle.key).in_(keys)))
