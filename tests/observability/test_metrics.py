"""``/metrics`` after a short load: every family is there and moves as the work it counts.

The process's counters are shared by every test of the run, so process metrics are
compared before and after; the database gauges are absolute (each test has its own data).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.clock import Clock
from api.config import Settings
from api.db import make_engine
from api.delivery.providers import Providers
from api.jobs import JobContext, run_job
from api.models import AlertStatus, DevicePlatform, NotificationKind
from api.notifications.devices import register_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from api.observability.collector import DATABASE_FAMILIES, DatabaseCollector
from api.observability.listener import MetricsListener, start_metrics_listener
from api.observability.metrics import PROCESS_FAMILIES, UNMATCHED_ROUTE
from api.rules.types import RuleCode, Tier
from tests.clinicians.helpers import add_alert
from tests.conftest import test_settings
from tests.factories import auth, make_clinician, make_patient, patient_user
from tests.observability.helpers import delta, label_values, scrape, total, value
from tests.reminders.helpers import set_clock, utc

MONDAY_MORNING = utc(2026, 6, 8, 9, 0)  # 10:00 in London
ROUTE = "/api/v1/clinician/patients/{patient_id}"


def listening(settings: Settings, **overrides: object) -> MetricsListener:
    started = start_metrics_listener(settings.model_copy(update={"metrics_port": 0, **overrides}))
    assert started is not None
    return started


@pytest.fixture
def listener(settings: Settings) -> Iterator[MetricsListener]:
    started = listening(settings)
    yield started
    started.stop()


def test_a_scrape_shows_every_family(client: TestClient, listener: MetricsListener) -> None:
    client.get("/healthz")
    families, samples = scrape(listener)
    assert set(PROCESS_FAMILIES) <= families  # with HELP and TYPE even before a first sample
    assert set(DATABASE_FAMILIES) <= families
    assert value(samples, "backstep_metrics_database_up") == 1


def test_requests_are_counted_by_route_template_and_status(
    client: TestClient, app: FastAPI, session: Session, listener: MetricsListener
) -> None:
    clinician = make_clinician(session, app)
    mine = make_patient(session, app, clinician, name="Zelda Quarrington")
    stranger = make_patient(session, app)
    headers = auth(app, clinician)
    _, before = scrape(listener)

    for _ in range(5):
        assert client.get(f"/api/v1/clinician/patients/{mine.id}", headers=headers).status_code == 200
    for _ in range(3):
        assert client.get(f"/api/v1/clinician/patients/{stranger.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/no/such/thing/{mine.id}?email=zelda@example.org").status_code == 404
    assert client.get("/wp-login.php").status_code == 404

    _, after = scrape(listener)
    requests = "backstep_http_requests_total"
    assert delta(before, after, requests, method="GET", route=ROUTE, status="200") == 5
    assert delta(before, after, requests, method="GET", route=ROUTE, status="404") == 3
    assert (
        delta(before, after, "backstep_http_request_duration_seconds_count", method="GET", route=ROUTE, status="200")
        == 5
    )
    assert delta(before, after, requests, method="GET", route=UNMATCHED_ROUTE, status="404") == 2
    # Route templates only: never a raw path, an id or a query string.
    routes = label_values(after, requests, "route")
    assert ROUTE in routes and UNMATCHED_ROUTE in routes
    assert not any(str(mine.id) in route.replace("/api/v1", "") for route in routes if "{" not in route)
    assert not any("?" in route or "wp-login" in route or "no/such" in route for route in routes)


def test_nothing_that_identifies_a_patient_reaches_the_scrape(
    client: TestClient, app: FastAPI, session: Session, listener: MetricsListener
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, name="Zelda Quarrington")
    user = patient_user(session, patient)
    client.get(f"/api/v1/clinician/patients/{patient.id}", headers=auth(app, clinician))
    client.get(f"/api/v1/clinician/patients/{patient.id}/pain-logs?from=2026-01-01", headers=auth(app, clinician))
    text = httpx2.get(f"http://127.0.0.1:{listener.port}/metrics", timeout=10).text
    assert "Zelda" not in text and user.email not in text and "2026-01-01" not in text
    assert f"/patients/{patient.id}" not in text


def test_a_reminder_tick_records_its_lateness_and_the_job_run(
    app: FastAPI, session: Session, engine: Engine, settings: Settings, listener: MetricsListener
) -> None:
    set_clock(app, session, MONDAY_MORNING)
    make_patient(session, app)
    _, before = scrape(listener)

    # The daily log reminder is due at 20:00 BST (19:00 UTC); this tick runs 20 s later.
    result = run_job("reminders", JobContext(engine, settings, app.state.clock), utc(2026, 6, 8, 19, 0, 20))
    assert (result["due"], result["created"]) == (1, 1)

    _, after = scrape(listener)
    lateness = "backstep_reminder_lateness_seconds"
    kind = {"kind": "daily_log_reminder"}
    assert delta(before, after, f"{lateness}_count", **kind) == 1
    assert delta(before, after, f"{lateness}_sum", **kind) == pytest.approx(20.0)
    assert delta(before, after, f"{lateness}_bucket", le="15.0", **kind) == 0
    assert delta(before, after, f"{lateness}_bucket", le="30.0", **kind) == 1
    assert delta(before, after, "backstep_job_runs_total", job="reminders", outcome="success") == 1
    assert delta(before, after, "backstep_job_runs_total", job="reminders", outcome="failure") == 0
    assert delta(before, after, "backstep_job_duration_seconds_count", job="reminders") == 1
    assert delta(before, after, "backstep_job_rows_claimed_total", job="reminders") == 1
    assert delta(before, after, "backstep_job_items_total", job="reminders", result="created") == 1
    assert value(after, "backstep_job_last_success_timestamp_seconds", job="reminders") > 0


def test_a_failing_job_counts_as_a_failure(
    app: FastAPI, engine: Engine, settings: Settings, listener: MetricsListener, tmp_path: Path
) -> None:
    broken = make_engine(test_settings(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables
    _, before = scrape(listener)
    with pytest.raises(Exception, match="no such table"):
        run_job("reminders", JobContext(broken, settings, app.state.clock), MONDAY_MORNING)
    broken.dispose()
    _, after = scrape(listener)
    assert delta(before, after, "backstep_job_runs_total", job="reminders", outcome="failure") == 1
    assert delta(before, after, "backstep_job_runs_total", job="reminders", outcome="success") == 0
    assert delta(before, after, "backstep_job_duration_seconds_count", job="reminders") == 1


def test_failed_deliveries_move_the_outcome_counters_and_the_outbox_gauges(
    app: FastAPI, session: Session, engine: Engine, settings: Settings, listener: MetricsListener
) -> None:
    at = utc(2026, 6, 8, 11, 0)  # noon in London: no quiet hours
    set_clock(app, session, at)
    user = patient_user(session, make_patient(session, app))
    assert user.id is not None
    register_device(session, user.id, DevicePlatform.WEBHOOK, "phone-webhook", at)
    register_device(session, user.id, DevicePlatform.FCM, "phone-fcm", at)  # FCM is not configured: dead letter
    enqueue_notifications(
        session, [NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="t", body="b")], at
    )
    session.commit()

    _, queued = scrape(listener)
    assert value(queued, "backstep_outbox_deliveries", state="due") == 2
    assert value(queued, "backstep_outbox_deliveries", state="dead") == 0
    assert value(queued, "backstep_outbox_oldest_due_age_seconds") >= 0

    push = settings.model_copy(update={"webhook_url": "https://push.invalid/hook", "webhook_secret": "s" * 32})
    gateway_down = httpx2.MockTransport(lambda _request: httpx2.Response(503))
    with Providers(push, transport=gateway_down) as providers:
        result = run_job("deliveries", JobContext(engine, push, app.state.clock, providers), at)
    assert (result["retry"], result["dead"]) == (1, 1)

    _, after = scrape(listener)
    deliveries = "backstep_deliveries_total"
    assert delta(queued, after, deliveries, platform="webhook", outcome="retry") == 1
    assert delta(queued, after, deliveries, platform="fcm", outcome="dead") == 1
    assert delta(queued, after, deliveries, platform="webhook", outcome="sent") == 0
    assert delta(queued, after, "backstep_dead_letters_total", platform="fcm") == 1
    assert delta(queued, after, "backstep_job_rows_claimed_total", job="deliveries") == 2
    # The retry waits for its back-off; the dead letter waits for an admin.
    assert value(after, "backstep_outbox_deliveries", state="due") == 0
    assert value(after, "backstep_outbox_deliveries", state="waiting") == 1
    assert value(after, "backstep_outbox_deliveries", state="dead") == 1
    assert value(after, "backstep_outbox_oldest_due_age_seconds") == 0


def test_the_oldest_due_delivery_ages_with_the_application_clock(
    app: FastAPI, session: Session, listener: MetricsListener
) -> None:
    at = utc(2026, 6, 8, 11, 0)
    set_clock(app, session, at)
    user = patient_user(session, make_patient(session, app))
    assert user.id is not None
    register_device(session, user.id, DevicePlatform.WEBHOOK, "phone", at)
    enqueue_notifications(
        session, [NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="t", body="b")], at
    )
    session.commit()
    set_clock(app, session, at + timedelta(minutes=45))  # nobody delivered for 45 minutes
    _, samples = scrape(listener)
    assert value(samples, "backstep_outbox_deliveries", state="due") == 1
    assert 45 * 60 <= value(samples, "backstep_outbox_oldest_due_age_seconds") < 46 * 60


def test_unresolved_alerts_by_tier_and_the_oldest_unacknowledged_ages(
    app: FastAPI, session: Session, settings: Settings, listener: MetricsListener
) -> None:
    now = utc(2026, 6, 8, 11, 0)
    set_clock(app, session, now)
    first, second, third = (make_patient(session, app) for _ in range(3))
    add_alert(session, first, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY, now=now)  # opened an hour ago
    add_alert(session, second, RuleCode.RED_FLAG_URGENT_SAME_DAY, Tier.URGENT_SAME_DAY, status=AlertStatus.ACKNOWLEDGED)
    add_alert(session, third, RuleCode.START_BACK_MEDIUM, Tier.ROUTINE, now=now)
    add_alert(session, second, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY, status=AlertStatus.RESOLVED)

    _, samples = scrape(listener)
    unresolved = "backstep_alerts_unresolved"
    assert value(samples, unresolved, tier="emergency", status="open") == 1
    assert value(samples, unresolved, tier="urgent_same_day", status="acknowledged") == 1
    assert value(samples, unresolved, tier="urgent_same_day", status="open") == 0
    assert value(samples, unresolved, tier="routine", status="open") == 1
    assert total(samples, unresolved) == 3  # the resolved one is not counted
    age = "backstep_alert_oldest_unacknowledged_age_seconds"
    assert 3600 <= value(samples, age, tier="emergency") < 3660
    assert value(samples, age, tier="urgent_same_day") == 0  # acknowledged: nobody is waiting
    assert value(samples, "backstep_alert_renotify_delay_seconds", tier="emergency") == 60 * (
        settings.renotify_emergency_minutes
    )


def test_the_database_pool_gauges_follow_checkouts(
    client: TestClient, app: FastAPI, settings: Settings, listener: MetricsListener
) -> None:
    _, before = scrape(listener)
    for _ in range(3):
        client.get("/readyz")
        client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    _, after = scrape(listener)
    # Every checkout was given back; PostgreSQL pools count their capacity, SQLite's are unpooled.
    assert value(after, "backstep_db_pool_connections_in_use", pool="main") == value(
        before, "backstep_db_pool_connections_in_use", pool="main"
    )
    expected = 0 if settings.is_sqlite else settings.db_pool_size + settings.db_max_overflow
    assert value(after, "backstep_db_pool_connections_max", pool="main") >= expected


def test_the_token_protects_the_listener_and_only_metrics_is_served(settings: Settings) -> None:
    token = "t" * 40
    started = listening(settings, metrics_token=token)
    try:
        base = f"http://127.0.0.1:{started.port}"
        assert httpx2.get(f"{base}/metrics", timeout=10).status_code == 401
        wrong = httpx2.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10)
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
        assert (
            httpx2.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 404
        )
        families, _ = scrape(started, token)
        assert "backstep_http_requests" in families
    finally:
        started.stop()


def test_a_database_that_does_not_answer_leaves_the_process_metrics(tmp_path: Path) -> None:
    empty = make_engine(test_settings(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables: every query fails
    collector = DatabaseCollector(empty, Clock(None, test_clock_enabled=False).now, {Tier.EMERGENCY: 30})
    names = {family.name: family for family in collector.collect()}
    empty.dispose()
    assert set(names) == {"backstep_metrics_database_up", "backstep_alert_renotify_delay_seconds"}
    assert names["backstep_metrics_database_up"].samples[0].value == 0
