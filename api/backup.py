"""Online backup and restore of the embedded SQLite database (``backstep backup|restore``).

Backup copies the live database with SQLite's backup API while the API and the scheduler
keep writing. The copy is one consistent snapshot: the source connection opens a read
transaction first and keeps it across every backup step, so each step reads the same
snapshot (without it SQLite restarts the copy whenever another process commits, and a
busy clinic's backup might never finish). Under WAL a reader never blocks a writer, so
writers carry on during the copy; the steps are small with a short pause between them so
the copy does not monopolise the disk. The WAL cannot be checkpointed past the snapshot
while the copy runs, so it grows by what is written meanwhile and shrinks afterwards.

Restore checks the backup before anything is touched (a SQLite file that passes
``integrity_check`` and ``foreign_key_check``, with the Backstep tables, at this release's
migration or an older one), refuses to replace a database that holds the schema unless
forced, keeps a copy of the database it replaces, and swaps the file in with one rename.

PostgreSQL deployments back up with PostgreSQL's own tools; both commands say so.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from api.config import Settings
from api.migrations import alembic_config

# Tables every Backstep revision has; a file without them is not a Backstep database.
CORE_TABLES = frozenset({"alembic_version", "app_user", "patient", "pain_log"})
SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_PAGES_PER_STEP = 256  # 1 MiB at the default 4 KiB page size
DEFAULT_PAUSE_SECONDS = 0.005

POSTGRES_BACKUP_HINT = (
    "DATABASE_URL is PostgreSQL: back it up with PostgreSQL's tools, e.g. "
    "`pg_dump --format=custom --file=backstep.dump DBNAME` (restore with `pg_restore --clean --if-exists "
    "--dbname=DBNAME backstep.dump`), or base backups with WAL archiving for point-in-time recovery"
)

Progress = Callable[[int, int], None]  # (pages copied so far, pages in the database)


class BackupError(Exception):
    """A refusal or failure the operator can act on; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    pages: int
    page_size: int
    revision: str | None

    @property
    def bytes(self) -> int:
        return self.pages * self.page_size


@dataclass(frozen=True, slots=True)
class RestoreResult:
    path: Path
    revision: str
    head: str
    previous: Path | None  # where the replaced database was kept

    @property
    def needs_migrate(self) -> bool:
        return self.revision != self.head


def sqlite_path(settings: Settings) -> Path:
    """The file of the configured SQLite database; refuses PostgreSQL with the tools to use."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(POSTGRES_BACKUP_HINT)
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file to back up or restore")
    return Path(url.database)


def backup(
    settings: Settings,
    target: Path,
    *,
    force: bool = False,
    pages_per_step: int = DEFAULT_PAGES_PER_STEP,
    pause_seconds: float = DEFAULT_PAUSE_SECONDS,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy the live database to ``target`` (a new file unless ``force``)."""
    source = sqlite_path(settings)
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (run `backstep migrate` first)")
    return backup_file(
        source, target, force=force, pages_per_step=pages_per_step, pause_seconds=pause_seconds, progress=progress
    )


def backup_file(
    source: Path,
    target: Path,
    *,
    force: bool = False,
    pages_per_step: int = DEFAULT_PAGES_PER_STEP,
    pause_seconds: float = DEFAULT_PAUSE_SECONDS,
    progress: Progress | None = None,
) -> BackupResult:
    if pages_per_step < 1:
        raise BackupError("pages per step must be at least 1")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose a new file or pass --force to overwrite it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove_database_files(partial)
    try:
        with _connect(source, mode="rw") as live, _connect(partial, mode="rwc") as copy:
            # The service puts the database in WAL mode on every connection; a file no
            # process has opened yet (e.g. just restored) is put there too, because in a
            # rollback-journal mode the snapshot below would block every writer.
            if live.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                live.execute("PRAGMA journal_mode=WAL")
            # The snapshot: a read transaction held across every step (see the module doc).
            live.execute("BEGIN")
            revision = _revision(live)
            total = int(live.execute("PRAGMA page_count").fetchone()[0])

            def _step(_status: int, remaining: int, pages: int) -> None:
                if progress is not None:
                    progress(pages - remaining, pages)
                if remaining and pause_seconds:
                    time.sleep(pause_seconds)  # give the disk back to the API between steps

            live.backup(copy, pages=pages_per_step, progress=_step)
            live.execute("COMMIT")
            # A backup is one self-contained file: no WAL beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            _check_integrity(copy, partial)
            page_size = int(copy.execute("PRAGMA page_size").fetchone()[0])
        _fsync(partial)
        os.replace(partial, target)
        _fsync_directory(target.parent)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the backup of {source} failed ({exc}); nothing was written to {target}") from exc
    finally:
        _remove_database_files(partial)
    return BackupResult(target, total, page_size, revision)


def restore(settings: Settings, backup_path: Path, *, force: bool = False) -> RestoreResult:
    """Replace the configured database with ``backup_path`` after checking the backup."""
    target = sqlite_path(settings)
    head, known = _revisions(settings)
    if not backup_path.is_file():
        raise BackupError(f"there is no backup file at {backup_path}")
    with backup_path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{backup_path} is not a SQLite database")

    live = _live_schema(target)
    if live is not None and not force:
        raise BackupError(
            f"{target} holds a database ({live}); stop the API and the scheduler, "
            "then pass --force to replace it (a copy of it is kept beside it)"
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    _remove_database_files(staged)
    try:
        # Stage a copy first: the checks run on exactly the bytes that will be swapped in,
        # and the backup file itself is only ever opened read-only.
        try:
            with _connect(backup_path, mode="ro") as source, _connect(staged, mode="rwc") as copy:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{backup_path} cannot be read as a SQLite database ({exc})") from exc
        revision = _check_backstep_database(staged, backup_path, head, known)
        _fsync(staged)

        previous = None
        if live is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            previous = target.with_name(f"{target.name}.before-restore-{stamp}")
            backup_file(target, previous)
        # The old WAL must not be replayed onto the restored file: remove it first (a
        # crash between the two steps leaves the old file without its WAL, which was
        # being replaced anyway, never the new file with a foreign WAL).
        _remove_sidecars(target)
        os.replace(staged, target)
        _fsync_directory(target.parent)
    finally:
        _remove_database_files(staged)
    return RestoreResult(target, revision, head, previous)


# --- checks --------------------------------------------------------------------------


def _revisions(settings: Settings) -> tuple[str, frozenset[str]]:
    script = ScriptDirectory.from_config(alembic_config(settings))
    head = script.get_current_head()
    if head is None:
        raise BackupError("this release has no migrations")
    # One head: every revision of the script directory is the head or older.
    return head, frozenset(r.revision for r in script.walk_revisions())


def _check_backstep_database(path: Path, shown: Path, head: str, known: frozenset[str]) -> str:
    try:
        with _connect(path, mode="ro") as connection:
            _check_integrity(connection, shown)
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = sorted(CORE_TABLES - tables)
            if missing:
                raise BackupError(f"{shown} is not a Backstep database (no table {', '.join(missing)})")
            revision = _revision(connection)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{shown} fails integrity_check: {exc}") from exc
    if revision is None:
        raise BackupError(f"{shown} has no migration revision (alembic_version is empty)")
    if revision not in known:
        raise BackupError(
            f"{shown} is at revision {revision}, which this release does not know (head {head}): "
            "it was made by a newer release; restore it with that release"
        )
    return revision


def _check_integrity(connection: sqlite3.Connection, shown: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{shown} fails integrity_check: {'; '.join(problems[:5])}")
    broken = connection.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise BackupError(f"{shown} fails foreign_key_check ({len(broken)} rows, first in table {broken[0][0]})")


def _live_schema(path: Path) -> str | None:
    """What a database at ``path`` holds, or None when there is nothing to lose.

    "Live" means the file exists and has any table: a Backstep schema (at any revision)
    or anything else someone put there. An absent or empty file, or one with no tables
    (e.g. created by a failed start), is replaced without ``--force``.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        with _connect(path, mode="ro") as connection:
            tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if not tables:
                return None
            revision = _revision(connection)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} exists but is not a readable SQLite database ({exc}); move it away first") from exc
    return f"revision {revision}" if revision is not None else f"{tables} tables, no Backstep revision"


def _revision(connection: sqlite3.Connection) -> str | None:
    if not _has_table(connection, "alembic_version"):
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    found = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


# --- files ---------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(path: Path, *, mode: str) -> Iterator[sqlite3.Connection]:
    # A URI with an explicit mode: never create a database by opening a path that is missing.
    connection = sqlite3.connect(f"file:{path.resolve()}?mode={mode}", uri=True, isolation_level=None, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def _remove_sidecars(path: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _remove_database_files(path: Path) -> None:
    path.unlink(missing_ok=True)
    _remove_sidecars(path)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
