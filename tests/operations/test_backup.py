"""``backstep backup`` and ``backstep restore`` of the embedded SQLite database (issue 17).

The main test runs a real ``backstep serve`` (API plus in-process scheduler) on
127.0.0.1 and keeps it writing while the backup runs. "Acknowledged" and "consistent"
are checked precisely:

- every write acknowledged before the backup began (its 2xx response was received
  before ``backup()`` was called) is in the copy;
- the copy is one point in time: each writer's writes form a sequence, and the copy holds
  exactly a prefix of every sequence (no write missing before one that is present), with
  each patient's ``last_log_on`` covering their logs (rows written by one transaction
  arrive together);
- writers are not starved: the backup pauses inside its snapshot until writers have had
  more writes acknowledged, which only happens if they can commit while it runs;
- the copy passes ``integrity_check`` and, restored, ``alembic check``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlmodel import Session, select

from api import cli
from api.backup import BackupError, backup, restore
from api.config import get_settings
from api.migrations import alembic_config, head_revision, upgrade
from api.models import PainLog, Patient, User
from tests.conftest import test_settings
from tests.operations.processes import (
    PASSWORD,
    api_servers,
    backstep_env,
    free_port,
    run_cli,
    wait_for,
)

WRITERS = 3
DATES = 27  # back-dated 2..28 days: inside the 30-day window whatever the patient's zone
WRITES_DURING_BACKUP = 10
MAX_WRITES = 4000  # client_updated_at advances a second per write, from two hours ago


@pytest.fixture
def live_db(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "backstep.db"
    path.parent.mkdir()
    upgrade(test_settings(f"sqlite:///{path}"))
    return path


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass
class Writer:
    """One patient's stream of pain-log PUTs; write ``i`` goes to date ``i % DATES``."""

    index: int
    email: str
    headers: dict[str, str]
    base: datetime
    today: date
    acked: int = -1  # the last write whose 2xx response came back
    errors: list[str] = field(default_factory=list)

    def log_date(self, i: int) -> date:
        return self.today - timedelta(days=2 + i % DATES)

    def client_updated_at(self, i: int) -> datetime:
        return self.base + timedelta(seconds=i)

    @staticmethod
    def back_pain(i: int) -> int:
        return i % 11

    def run(self, url: str, stop: threading.Event, acks: threading.Semaphore) -> None:
        with httpx2.Client(base_url=url, headers=self.headers, timeout=10) as client:
            for i in range(MAX_WRITES):
                if stop.is_set():
                    return
                body = {"back_pain": self.back_pain(i), "client_updated_at": self.client_updated_at(i).isoformat()}
                while not stop.is_set():
                    response = client.put(f"/api/v1/me/pain-logs/{self.log_date(i)}", json=body)
                    if response.status_code in (200, 201):
                        self.acked = i
                        acks.release()
                        break
                    if response.status_code != 503:  # busy is an answer to retry, anything else a bug
                        self.errors.append(f"write {i}: {response.status_code} {response.text[:300]}")
                        return


def register(url: str, email: str) -> dict[str, str]:
    name = email.split("@")[0]
    with httpx2.Client(base_url=url, timeout=10) as client:
        body = {"email": email, "password": PASSWORD, "display_name": name}
        assert client.post("/api/v1/auth/register", json=body).status_code == 201
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}


def logs_in(path: Path) -> dict[str, dict[date, PainLog]]:
    """Each user's pain logs in the database at ``path``, by e-mail."""
    engine = sa.create_engine(url_of(path))
    try:
        with Session(engine) as session:
            by_email: dict[str, dict[date, PainLog]] = {}
            for patient, email in session.exec(select(Patient, User.email).join(User)).all():
                logs = session.exec(select(PainLog).where(PainLog.patient_id == patient.id)).all()
                by_email[email] = {log.log_date: log for log in logs}
                # One transaction wrote each log and widened last_log_on: they arrive together.
                if logs:
                    assert patient.last_log_on is not None and patient.last_log_on >= max(by_email[email])
            return by_email
    finally:
        engine.dispose()


def assert_prefix(writer: Writer, stored: dict[date, PainLog]) -> int:
    """The copy holds writes 0..k of this writer and nothing else; returns k."""
    indexes = {
        d: round((log.client_updated_at.astimezone(UTC) - writer.base).total_seconds()) for d, log in stored.items()
    }
    last = max(indexes.values())
    expected: dict[date, int] = {}
    for i in range(last + 1):
        expected[writer.log_date(i)] = i
    assert indexes == expected, f"writer {writer.index}: the copy is not a prefix of its writes"
    for d, log in stored.items():
        assert log.back_pain == Writer.back_pain(indexes[d])
    return last


@pytest.mark.slow
def test_backup_under_write_load_holds_every_acknowledged_write(live_db: Path, tmp_path: Path) -> None:
    env = backstep_env(url_of(live_db))  # SQLite: the scheduler runs inside `backstep serve`
    with api_servers(env, [free_port()], tmp_path) as (url,):
        now = datetime.now(UTC)
        emails = [f"writer{n}-{uuid.uuid4().hex[:8]}@example.org" for n in range(WRITERS)]
        base = now.replace(microsecond=0) - timedelta(hours=2)
        writers = [Writer(n, email, register(url, email), base, now.date()) for n, email in enumerate(emails)]
        stop, acks = threading.Event(), threading.Semaphore(0)
        threads = [threading.Thread(target=w.run, args=(url, stop, acks), daemon=True) for w in writers]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: all(w.acked >= DATES for w in writers), "every writer to fill its dates")

            during: list[int] = []

            def hold_the_snapshot(copied: int, total: int) -> None:
                if during:
                    return
                # Inside the backup's read snapshot: writers must still get writes acknowledged.
                for _ in range(WRITES_DURING_BACKUP):
                    assert acks.acquire(timeout=30), "writers were starved by the backup"
                during.append(copied)

            while acks.acquire(blocking=False):  # count only what is acknowledged from here on
                pass
            acked_before = {w.index: w.acked for w in writers}
            first = backup(
                test_settings(url_of(live_db)), tmp_path / "first.db", pages_per_step=1, progress=hold_the_snapshot
            )
            assert during, "the backup finished in one step"

            # The command, too, while the writers go on.
            acked_before_cli = {w.index: w.acked for w in writers}
            made = run_cli(env, "backup", str(tmp_path / "backups" / "second.db"))
            assert made.returncode == 0, made.stderr
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
        assert [e for w in writers for e in w.errors] == []

        # Restoring over the running service's database is refused without --force.
        refused = run_cli(env, "restore", str(first.path))
        assert refused.returncode == 2
        assert "--force" in refused.stderr and "stop the API" in refused.stderr

    for copy, before in ((first.path, acked_before), (tmp_path / "backups" / "second.db", acked_before_cli)):
        with sqlite3.connect(copy) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert not Path(f"{copy}-wal").exists()
        rows = logs_in(copy)
        for writer in writers:
            last = assert_prefix(writer, rows[writer.email])
            assert last >= before[writer.index], f"writer {writer.index}: an acknowledged write is missing"
    assert first.revision == head_revision(test_settings(url_of(live_db)))

    # Restore into a fresh place: the schema matches the models, the rows are the copy's.
    restored = tmp_path / "restored" / "backstep.db"
    done = run_cli(backstep_env(url_of(restored)), "restore", str(first.path))
    assert done.returncode == 0, done.stderr
    command.check(alembic_config(test_settings(url_of(restored))))
    assert _rows(restored) == _rows(first.path)

    # And over the stopped service's database, with --force: the old one is kept aside.
    live_rows = _rows(live_db)
    forced = run_cli(env, "restore", "--force", str(first.path))
    assert forced.returncode == 0, forced.stderr
    assert _rows(live_db) == _rows(first.path)
    kept = list(live_db.parent.glob("backstep.db.before-restore-*"))
    assert len(kept) == 1 and _rows(kept[0]) == live_rows
    command.check(alembic_config(test_settings(url_of(live_db))))


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute(
            "SELECT patient_id, log_date, back_pain, client_updated_at FROM pain_log ORDER BY patient_id, log_date"
        ).fetchall()


# --- refusals ------------------------------------------------------------------------------


def test_postgresql_is_refused_naming_its_tools(tmp_path: Path) -> None:
    settings = test_settings("postgresql+psycopg://backstep@127.0.0.1:1/backstep")
    with pytest.raises(BackupError, match="pg_dump"):
        backup(settings, tmp_path / "x.db")
    with pytest.raises(BackupError, match="pg_restore"):
        restore(settings, tmp_path / "x.db")
    result = run_cli(backstep_env("postgresql+psycopg://backstep@127.0.0.1:1/backstep"), "backup", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "pg_dump" in result.stderr
    assert not (tmp_path / "x").exists()


def test_backup_never_overwrites_without_force_and_never_creates_a_database(live_db: Path, tmp_path: Path) -> None:
    settings = test_settings(url_of(live_db))
    target = tmp_path / "b.db"
    backup(settings, target)
    with pytest.raises(BackupError, match="--force"):
        backup(settings, target)
    assert backup(settings, target, force=True).path == target
    missing = tmp_path / "nothing-here" / "backstep.db"
    with pytest.raises(BackupError, match="backstep migrate"):
        backup(test_settings(url_of(missing)), tmp_path / "c.db")
    assert not missing.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file left


def test_restore_refuses_what_is_not_a_sound_backstep_backup(live_db: Path, tmp_path: Path) -> None:
    settings = test_settings(url_of(tmp_path / "target" / "backstep.db"))
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    with pytest.raises(BackupError, match="not a SQLite database"):
        restore(settings, not_sqlite)

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="not a Backstep database"):
        restore(settings, foreign)

    newer = tmp_path / "newer.db"
    backup(test_settings(url_of(live_db)), newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    with pytest.raises(BackupError, match="newer release"):
        restore(settings, newer)

    corrupt = tmp_path / "corrupt.db"
    backup(test_settings(url_of(live_db)), corrupt)
    _damage_a_table(corrupt)
    with pytest.raises(BackupError, match="integrity_check"):
        restore(settings, corrupt)
    assert not (tmp_path / "target" / "backstep.db").exists()  # nothing was put in place


def _damage_a_table(path: Path) -> None:
    """Overwrite the page-type byte of a table's root page, as a bad disk sector would."""
    with sqlite3.connect(path) as connection:
        root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'pain_log'").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size] = 0x00  # no longer a valid b-tree page type
    path.write_bytes(bytes(data))


def test_restore_removes_stale_wal_files_and_fills_an_empty_database(live_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    backup(test_settings(url_of(live_db)), copy)
    target = tmp_path / "t" / "backstep.db"
    target.parent.mkdir()
    # A leftover WAL of some other database must never be replayed onto the restored file.
    Path(f"{target}-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
    Path(f"{target}-shm").write_bytes(b"\x00" * 128)
    result = restore(test_settings(url_of(target)), copy)
    assert result.previous is None
    assert not result.needs_migrate
    assert not Path(f"{target}-wal").exists() and not Path(f"{target}-shm").exists()
    command.check(alembic_config(test_settings(url_of(target))))

    # A database at the base revision (no schema yet) is not "live": no --force needed.
    empty = tmp_path / "e" / "backstep.db"
    empty.parent.mkdir()
    sqlite3.connect(empty).close()
    assert restore(test_settings(url_of(empty)), copy).previous is None


def test_an_older_backup_is_restored_and_the_command_says_to_migrate(
    live_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = test_settings(url_of(live_db))
    script = ScriptDirectory.from_config(alembic_config(settings))
    head = script.get_current_head()
    assert head is not None
    older = script.get_revision(head).down_revision
    assert isinstance(older, str)  # the chain has an older revision to stand for a past release
    old_backup = tmp_path / "old.db"
    backup(settings, old_backup)
    with sqlite3.connect(old_backup) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (older,))

    target = tmp_path / "r" / "backstep.db"
    for key, value in backstep_env(url_of(target)).items():
        if key.startswith("BACKSTEP_") or key == "DATABASE_URL":
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert cli.main(["restore", str(old_backup)]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out) == {"restored": str(target), "revision": older}
        assert "run `backstep migrate`" in err
        # Now it holds data: a second restore needs --force, and keeps what it replaces.
        assert cli.main(["restore", str(old_backup)]) == 2
        assert "--force" in capsys.readouterr().err
        assert cli.main(["restore", "--force", str(old_backup)]) == 0
        assert "kept at" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_a_database_in_rollback_journal_mode_is_backed_up_in_wal_mode(live_db: Path, tmp_path: Path) -> None:
    """A freshly restored file is in DELETE mode until the service opens it; the backup's
    long read transaction must not hold off writers there either."""
    restored = tmp_path / "restored.db"
    restore(test_settings(url_of(restored)), backup(test_settings(url_of(live_db)), tmp_path / "b.db").path)
    with sqlite3.connect(restored) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)

    writer = sqlite3.connect(restored, timeout=0.1, isolation_level=None)
    written: list[int] = []

    def write_during_the_copy(copied: int, total: int) -> None:
        if not written:  # inside the snapshot: a write from another connection must not wait
            writer.execute("INSERT INTO clinic (name, created_at) VALUES ('during', '2026-06-08 12:00:00')")
            written.append(copied)

    try:
        backup(test_settings(url_of(restored)), tmp_path / "c.db", pages_per_step=1, progress=write_during_the_copy)
    finally:
        writer.close()
    assert written
    # Written after the snapshot began: not in the copy.
    with sqlite3.connect(tmp_path / "c.db") as copy:
        assert copy.execute("SELECT count(*) FROM clinic WHERE name = 'during'").fetchone() == (0,)
