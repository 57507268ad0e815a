"""The outbox dispatcher end to end, against the fake push server on 127.0.0.1: failures are
retried (honouring Retry-After), dead tokens retired, dead letters kept, nothing lost and
nothing delivered twice."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.config import Settings
from api.delivery import dispatcher
from api.delivery.dispatcher import _Verdict, claim, deliver_due, record
from api.delivery.providers import Providers
from api.models import Delivery, DeliveryStatus, Device, DevicePlatform, NotificationKind
from api.notifications.devices import register_device, retire_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from tests.delivery.conftest import ServiceAccountKey, push_settings
from tests.delivery.fake_push import FakePush, Reply
from tests.factories import make_clinician, make_patient, patient_user
from tests.reminders.helpers import fresh, set_clock, utc

T0 = utc(2026, 6, 8, 12, 0)  # 13:00 BST, outside quiet hours


@pytest.fixture
def fake(service_account_key: ServiceAccountKey) -> Iterator[FakePush]:
    with FakePush(webhook_secret="", public_key_pem=service_account_key.public_pem) as server:
        yield server


def settings_for(
    database_url: str, tmp_path: Path, key: ServiceAccountKey, fake: FakePush, **overrides: object
) -> Settings:
    settings = push_settings(database_url, tmp_path, key, fake.url, **overrides)
    fake.webhook_secret = settings.webhook_secret or ""
    return settings


def devices_with_messages(
    app: FastAPI, session: Session, tokens: dict[str, DevicePlatform], per_device: int = 1
) -> dict[str, int]:
    """One patient per token, each with a device and ``per_device`` notifications."""
    set_clock(app, session, T0)
    device_ids = {}
    drafts = []
    for token, platform in tokens.items():
        user = patient_user(session, make_patient(session, app))
        assert user.id is not None
        device_ids[token] = register_device(session, user.id, platform, token, T0)
        drafts += [
            NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="Hello", body=f"{token} {n}")
            for n in range(per_device)
        ]
    enqueue_notifications(session, drafts, T0)
    session.commit()
    return device_ids


def deliveries(session: Session) -> list[Delivery]:
    return list(fresh(session).exec(select(Delivery).order_by(col(Delivery.id))).all())


def run(engine: Engine, settings: Settings, providers: Providers, at: datetime) -> dict[str, int]:
    return deliver_due(engine, settings, at, providers=providers, rng=random.Random(3), elapsed=lambda: 0.0)


def test_failures_are_retried_until_delivered_exactly_once_and_dead_tokens_retired(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
) -> None:
    settings = settings_for(database_url, tmp_path, service_account_key, fake, delivery_retry_hours=1.0)
    fcm, hook = DevicePlatform.FCM, DevicePlatform.WEBHOOK
    devices = devices_with_messages(
        app,
        session,
        {
            "fcm-ok": fcm,
            "fcm-flaky": fcm,
            "fcm-throttled": fcm,
            "fcm-dead": fcm,
            "hook-ok": hook,
            "hook-flaky": hook,
            "hook-dead": hook,
            "hook-broken": hook,
        },
        per_device=2,
    )
    fake.script("fcm-flaky", Reply(500), Reply(503, fcm_error="UNAVAILABLE"))
    fake.script("fcm-throttled", Reply(429, "120", "QUOTA_EXCEEDED"))
    fake.script("hook-flaky", Reply(503), Reply(429, "5"))
    fake.always_answer("fcm-dead", Reply(404, fcm_error="UNREGISTERED"))
    fake.always_answer("hook-dead", Reply(410))
    fake.always_answer("hook-broken", Reply(500))
    with Providers(settings) as providers:
        first = run(engine, settings, providers, T0)
        assert first["sent"] == 5 and first["retired_devices"] == 2  # the ok ones, and one throttled
        throttled = [d for d in deliveries(session) if d.device_id == devices["fcm-throttled"]]
        retry_at = [d.next_attempt_at for d in throttled if d.status == DeliveryStatus.PENDING]
        assert retry_at and min(retry_at) >= T0 + timedelta(seconds=120)  # Retry-After honoured
        attempts_before = fake.attempts_for("fcm-throttled")
        run(engine, settings, providers, T0 + timedelta(seconds=60))
        assert fake.attempts_for("fcm-throttled") == attempts_before  # not retried early
        at = T0
        for _ in range(8):  # rounds far enough apart for any backoff, past the 1-hour window
            at += timedelta(minutes=30)
            run(engine, settings, providers, at)
    assert fake.token_fetches == 1  # the access token was cached across every round

    rows = deliveries(session)
    assert all(d.status != DeliveryStatus.PENDING for d in rows)  # nothing left behind, nothing lost
    by_token = {token: [d for d in rows if d.device_id == device_id] for token, device_id in devices.items()}
    for token in ("fcm-ok", "fcm-flaky", "fcm-throttled", "hook-ok", "hook-flaky"):
        for row in by_token[token]:
            assert row.status == DeliveryStatus.SENT and row.sent_at is not None
            assert fake.delivered[f"backstep-delivery-{row.id}"] == 1  # exactly once
    flaky = by_token["fcm-flaky"]
    assert sum(d.attempts for d in flaky) == 4 and all(d.intended_at == T0 for d in flaky)
    assert any(d.failed_at is not None and d.last_error for d in flaky)  # failed then recovered, recorded

    for token in ("fcm-dead", "hook-dead"):
        device = session.get(Device, devices[token])
        assert device is not None and device.retired_at is not None
        assert device.retired_reason and ("UNREGISTERED" in device.retired_reason or "410" in device.retired_reason)
        statuses = {d.status for d in by_token[token]}
        assert DeliveryStatus.DEAD in statuses and statuses <= {DeliveryStatus.DEAD, DeliveryStatus.CANCELLED}
    for row in by_token["hook-broken"]:  # the dead letter, visible with its reason
        # Failed at T0, retried (T0+60 s, +30 min) for the whole hour, then given up at its end.
        assert row.status == DeliveryStatus.DEAD and row.attempts == 4
        assert row.failed_at == T0 + timedelta(hours=1) and row.give_up_at == T0 + timedelta(hours=1)
        assert row.last_error == "gave up after 4 attempts in 1 h: webhook HTTP 500"
    assert sum(fake.delivered.values()) == 10
    assert fake.rejected == []  # every webhook carried a valid, fresh signature


def test_a_wrong_webhook_secret_is_refused_by_the_receiver(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
) -> None:
    settings = settings_for(database_url, tmp_path, service_account_key, fake)
    fake.webhook_secret = "the-receivers-real-secret"
    devices_with_messages(app, session, {"hook": DevicePlatform.WEBHOOK})
    with Providers(settings) as providers:
        assert run(engine, settings, providers, T0)["dead"] == 1
    [row] = deliveries(session)
    assert row.last_error == "webhook refused the message: HTTP 401"
    assert len(fake.rejected) == 1 and fake.delivered == {}


def test_unconfigured_providers_dead_letter_visibly(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    devices_with_messages(app, session, {"a": DevicePlatform.FCM, "b": DevicePlatform.WEBHOOK})
    assert deliver_due(engine, settings, T0)["dead"] == 2
    rows = deliveries(session)
    assert {r.status for r in rows} == {DeliveryStatus.DEAD}
    assert sorted(r.last_error or "" for r in rows) == [
        "FCM push is not configured (set BACKSTEP_FCM_PROJECT_ID and BACKSTEP_FCM_CREDENTIALS_FILE)",
        "webhook push is not configured (set BACKSTEP_WEBHOOK_URL and BACKSTEP_WEBHOOK_SECRET)",
    ]
    assert all(r.attempts == 0 for r in rows)  # nothing was attempted


def test_a_dispatcher_that_dies_after_sending_loses_nothing_and_the_resend_keeps_its_id(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
) -> None:
    settings = settings_for(database_url, tmp_path, service_account_key, fake, delivery_lease_seconds=60)
    devices_with_messages(app, session, {"hook": DevicePlatform.WEBHOOK})
    with Providers(settings) as providers:
        [claimed] = claim(engine, settings, T0)
        notifier = providers.notifier("webhook")
        assert notifier is not None
        notifier.send(claimed.message)  # ... and the process dies before recording it
        assert run(engine, settings, providers, T0 + timedelta(seconds=30))["sent"] == 0  # leased: untouched
        assert run(engine, settings, providers, T0 + timedelta(seconds=61))["sent"] == 1  # lease over: resent
    [row] = deliveries(session)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    # At least once: the receiver saw the same message id twice and can drop the copy.
    assert fake.delivered == {f"backstep-delivery-{row.id}": 2}


def test_a_dispatcher_that_lost_its_lease_cannot_overwrite_the_newer_claim(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
) -> None:
    from api.delivery.dispatcher import _Verdict, record

    settings = settings_for(database_url, tmp_path, service_account_key, fake, delivery_lease_seconds=60)
    devices_with_messages(app, session, {"hook": DevicePlatform.WEBHOOK})
    stale = claim(engine, settings, T0)
    newer = claim(engine, settings, T0 + timedelta(seconds=61))
    assert [c.attempts for c in stale + newer] == [1, 2]
    record(engine, settings, newer, [_Verdict("sent")], T0 + timedelta(seconds=62), random.Random(1))
    record(engine, settings, stale, [_Verdict("retry", "late answer")], T0 + timedelta(seconds=63), random.Random(1))
    [row] = deliveries(session)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, None)


def test_safety_messages_are_claimed_before_a_backlog(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    devices = devices_with_messages(app, session, {"phone": DevicePlatform.FCM}, per_device=5)
    clinician = make_clinician(session, app)
    assert clinician.id is not None
    register_device(session, clinician.id, DevicePlatform.FCM, "ward", T0)
    enqueue_notifications(
        session,
        [
            NotificationDraft(
                user_id=clinician.id, kind=NotificationKind.CARE_TEAM_ALERT, title="t", body="b", safety=True
            )
        ],
        T0 + timedelta(seconds=5),  # queued after the backlog
    )
    session.commit()
    small = settings.model_copy(update={"delivery_batch_size": 2})
    first = claim(engine, small, T0 + timedelta(seconds=10))
    assert first[0].message.safety and not first[1].message.safety
    assert devices["phone"] == first[1].device_id


def test_the_claim_uses_the_partial_index_on_pending_rows(engine: Engine) -> None:
    from sqlalchemy import text

    with engine.connect() as connection:
        sql = (
            "SELECT id FROM delivery WHERE status = 'pending' AND safety = :safety AND next_attempt_at <= :now "
            "ORDER BY next_attempt_at LIMIT 200"
        )
        params = {"safety": True, "now": "2026-06-08 12:00:00"}
        if connection.dialect.name == "sqlite":
            plan = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params).all()
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = connection.execute(text(f"EXPLAIN {sql} FOR UPDATE SKIP LOCKED"), params).all()
        connection.rollback()
    assert any("ix_delivery_pending_safety_next_attempt" in str(row) for row in plan), plan


def test_an_outcome_that_cannot_be_written_does_not_undo_the_others(
    app: FastAPI, session: Session, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record step falls back row by row: the good outcome is kept, the bad row stays
    leased and pending, so it is sent again (same id) when its lease expires."""
    devices = devices_with_messages(app, session, {"ok": DevicePlatform.WEBHOOK, "bad": DevicePlatform.WEBHOOK})
    claimed = claim(engine, settings, T0)
    assert len(claimed) == 2
    bad = devices["bad"]

    def failing(db: Session, device_id: int, why: str, at: datetime) -> int:
        if device_id == bad:
            raise RuntimeError("a bug on one device's row")
        return retire_device(db, device_id, why, at)

    monkeypatch.setattr(dispatcher, "retire_device", failing)
    verdicts = [
        _Verdict("dead", "gone; device retired", retire=True) if item.device_id == bad else _Verdict("sent")
        for item in claimed
    ]
    counts = record(engine, settings, claimed, verdicts, T0, random.Random(1))
    assert (counts["sent"], counts["dead"], counts["failed"]) == (1, 0, 1)
    rows = {row.device_id: row for row in deliveries(session)}
    assert rows[devices["ok"]].status == DeliveryStatus.SENT
    assert rows[bad].status == DeliveryStatus.PENDING
    assert rows[bad].next_attempt_at > T0  # still leased: retried after the lease, not now
