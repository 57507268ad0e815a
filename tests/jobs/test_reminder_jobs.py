"""The reminder and delivery jobs as operators run them: the CLI, the in-process scheduler,
and ``backstep scheduler`` stopping gracefully on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from api import cli
from api.config import Settings, get_settings
from api.jobs import JobContext
from api.main import create_app
from api.models import Notification
from api.scheduler import build_scheduler
from tests.conftest import open_session, test_settings
from tests.factories import make_patient, patient_auth
from tests.reminders.helpers import fresh, set_clock, utc

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_scheduler_runs_few_jobs_that_coalesce_and_never_overlap(app: FastAPI, engine: Engine) -> None:
    ctx = JobContext(engine, app.state.settings, app.state.clock)
    scheduler = build_scheduler(ctx, blocking=False)
    assert isinstance(scheduler, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"reminders", "deliveries", "sweep", "standings"}  # never one job per patient
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1
    finally:
        scheduler.shutdown(wait=True)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name, value in {
        "DATABASE_URL": url,
        "BACKSTEP_ARGON2_TIME_COST": "1",
        "BACKSTEP_ARGON2_MEMORY_COST": "64",
        "BACKSTEP_LOG_LEVEL": "WARNING",
        "BACKSTEP_ALLOW_TEST_CLOCK": "true",
        "BACKSTEP_ALEMBIC_INI": str(ROOT / "alembic.ini"),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert cli.main(["migrate"]) == 0
    yield url
    get_settings.cache_clear()


def test_jobs_run_reminders_at_a_given_instant(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(get_settings())
    with open_session(app.state.engine) as session:
        set_clock(app, session, utc(2026, 6, 8, 9, 0))
        patient = make_patient(session, app)
    capsys.readouterr()
    assert cli.main(["jobs", "run", "reminders", "--now", "2026-06-08T19:00:30+00:00"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {
        "job": "reminders",
        "due": 1,
        "created": 1,
        "duplicate": 0,
    }
    assert cli.main(["jobs", "run", "reminders", "--now", "2026-06-08T19:00:40+00:00"]) == 0  # same minute
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["created"] == 0
    assert cli.main(["jobs", "run", "deliveries", "--now", "2026-06-08T19:01:00+00:00"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sent"] == 0  # no devices: feed only
    with open_session(app.state.engine) as session:
        assert len(session.exec(select(Notification).where(Notification.patient_id == patient.id)).all()) == 1
    app.state.engine.dispose()


@pytest.mark.sqlite_only  # the in-process scheduler is the single-machine (SQLite) set-up
def test_the_in_process_scheduler_puts_a_due_reminder_in_the_feed(database_url: str) -> None:
    """What `make run` does (SQLite): the API's own scheduler ticks and the reminder appears."""
    settings = test_settings(database_url, scheduler_in_process=True, reminder_tick_seconds=1)
    app = create_app(settings)
    with TestClient(app) as client, open_session(app.state.engine) as session:
        set_clock(app, session, utc(2026, 6, 8, 9, 0))
        patient = make_patient(session, app)
        set_clock(app, session, utc(2026, 6, 8, 18, 59, 58))  # two seconds before 20:00 BST
        headers = patient_auth(session, app, patient)
        session.commit()
        items: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while not items and time.monotonic() < deadline:
            time.sleep(0.25)
            items = client.get("/api/v1/me/notifications", headers=headers).json()["items"]
        assert [i["kind"] for i in items] == ["daily_log_reminder"]
        assert fresh(session).exec(select(Notification)).one().intended_at == utc(2026, 6, 8, 19, 0)


def test_backstep_scheduler_stops_gracefully_on_sigterm(cli_env: str) -> None:
    env = {**os.environ, "BACKSTEP_REMINDER_TICK_SECONDS": "1", "BACKSTEP_LOG_LEVEL": "INFO"}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:  # wait until it has really ticked
            lines.append(line)
            if '"job": "reminders"' in line and "job_finished" in line:
                break
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines += rest.splitlines()
    assert process.returncode == 0, lines
    events = [json.loads(line).get("event") for line in lines if line.startswith("{")]
    assert events.index("scheduler_stopping") < events.index("scheduler_stopped")


def test_settings_refuse_half_configured_providers(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(webhook_url="https://gw.example/push")
    with pytest.raises(ValueError, match="FCM_CREDENTIALS_FILE"):
        Settings(fcm_project_id="demo")
