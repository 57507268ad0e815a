"""The ``backstep`` console script, run in-process against a scratch database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, create_engine, select

from api import cli
from api.config import get_settings
from api.models import AuditEvent, ClinicMember, User


@pytest.fixture
def scratch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BACKSTEP_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("BACKSTEP_ARGON2_MEMORY_COST", "64")
    monkeypatch.setenv("BACKSTEP_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("BACKSTEP_ALEMBIC_INI", str(Path(__file__).resolve().parent.parent / "alembic.ini"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_migrate_then_create_staff_users(scratch_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    admin = ["create-user", "--role", "admin", "--email", "Root@Example.org", "--password", "staff-room-kettle"]
    assert cli.main(admin) == 0
    created = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert created["role"] == "admin"

    assert (
        cli.main(
            [
                "create-user",
                "--role",
                "clinician",
                "--email",
                "p@example.org",
                "--password",
                "staff-room-kettle",
                "--clinic-id",
                "99",
            ]
        )
        == 2
    )
    assert "clinic" in capsys.readouterr().err

    engine = create_engine(scratch_env)
    with Session(engine) as session:
        users = session.exec(select(User)).all()
        assert [(u.email, u.role) for u in users] == [("root@example.org", "admin")]
        assert session.exec(select(ClinicMember)).all() == []
        events = session.exec(select(AuditEvent)).all()
        assert [(e.action, e.resource, e.actor_id, e.detail) for e in events] == [
            ("create", f"admin/{users[0].id}", None, {"via": "cli"})
        ]
    engine.dispose()


def test_create_user_refuses_a_short_password_and_a_bad_email(scratch_env: str) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["create-user", "--role", "admin", "--email", "a@example.org", "--password", "short"]) == 2
    assert cli.main(["create-user", "--role", "admin", "--email", "nope", "--password", "staff-room-kettle"]) == 2


@pytest.mark.parametrize("password", ["password12", "Password123", "aaaaaaaaaa", "0123456789", "qwertyuiop!!"])
def test_create_user_refuses_a_common_password(
    scratch_env: str, capsys: pytest.CaptureFixture[str], password: str
) -> None:
    assert cli.main(["migrate"]) == 0
    capsys.readouterr()
    assert cli.main(["create-user", "--role", "admin", "--email", "a@example.org", "--password", password]) == 2
    assert "password" in capsys.readouterr().err
    engine = create_engine(scratch_env)
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []
    engine.dispose()


def test_seed_demo_is_idempotent_and_prints_logins(scratch_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed-demo"]) == 0
    first = capsys.readouterr().out
    assert "demo clinic created" in first
    assert "physio@demo.backstep.app" in first
    assert cli.main(["seed-demo"]) == 0
    assert "already present" in capsys.readouterr().out


@pytest.mark.parametrize("job", ["reminders", "deliveries", "sweep", "standings"])
def test_jobs_run_at_a_given_instant(scratch_env: str, job: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["jobs", "run", job, "--now", "2026-03-29T19:00:00Z"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["job"] == job


def test_jobs_refuse_a_naive_instant(scratch_env: str) -> None:
    with pytest.raises(SystemExit):
        cli.main(["jobs", "run", "sweep", "--now", "2026-03-29T19:00:00"])


def test_serve_with_several_workers_needs_the_scheduler_on_its_own(
    scratch_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    started: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *_a, **kw: started.append(kw))
    # SQLite runs the scheduler in-process by default: one per worker would be several.
    assert cli.main(["serve", "--workers", "2"]) == 2
    assert "BACKSTEP_SCHEDULER_IN_PROCESS=false" in capsys.readouterr().err
    assert cli.main(["serve", "--workers", "0"]) == 2
    assert started == []

    monkeypatch.setenv("BACKSTEP_SCHEDULER_IN_PROCESS", "false")
    # Several workers point PROMETHEUS_MULTIPROC_DIR at a directory in this process's
    # environment: given here, so it goes with the test instead of switching every later
    # test of this worker into multiprocess metrics (their scrapes then came back empty).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    get_settings.cache_clear()
    assert cli.main(["serve", "--workers", "2", "--port", "8123"]) == 0
    assert started[0]["workers"] == 2
    assert started[0]["port"] == 8123


def test_migrate_creates_the_directory_of_the_sqlite_file(
    scratch_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh checkout has no ./var for the default database: `make run` must not need one.
    target = tmp_path / "var" / "nested" / "backstep.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    get_settings.cache_clear()
    assert cli.main(["migrate"]) == 0
    assert target.exists()
