"""The ``backstep`` command (SPEC §2.11). Every command reads settings from the environment."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import uvicorn
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import Engine

from api.admin.service import add_staff_user
from api.auth.passwords import password_problem
from api.backup import BackupError, backup, restore
from api.clock import Clock
from api.config import Settings, env_name, get_settings
from api.db import make_engine, session_scope
from api.errors import Problem
from api.jobs import JOBS, JobContext, run_job
from api.logs import configure_logging
from api.migrations import upgrade
from api.models import Role
from api.observability.exposition import multiprocess_mode, prepare_multiprocess_dir
from api.observability.listener import start_metrics_listener
from api.observability.metrics import instrument_pool
from api.observability.tracing import instrument_engine, provider_from_env
from api.scheduler import run_until_stopped
from api.seed import seed_demo


def _parse_instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {value!r}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("--now needs an offset, e.g. 2026-11-21T20:00:00+00:00")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backstep", description="Backstep back-pain programme service")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="upgrade the database to the latest migration")

    serve = commands.add_parser("serve", help="run the API (with the in-process scheduler where configured)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="API processes (more than one needs the scheduler run on its own)"
    )

    commands.add_parser("scheduler", help="run the scheduler as its own process")

    create_user = commands.add_parser("create-user", help="create an admin or clinician account")
    create_user.add_argument("--role", choices=["admin", "clinician"], required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password", required=True)
    create_user.add_argument("--clinic-id", type=int)
    create_user.add_argument("--display-name")

    commands.add_parser("seed-demo", help="create the demo clinic, clinicians and patients")

    jobs = commands.add_parser("jobs", help="run scheduled jobs by hand")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    run = job_commands.add_parser("run", help="run one job once")
    run.add_argument("name", choices=list(JOBS))
    run.add_argument("--now", type=_parse_instant, help="application time to run at (default: now)")

    # Issue 17: the embedded database's backup story (PostgreSQL uses pg_dump / pg_basebackup).
    backup_cmd = commands.add_parser(
        "backup", help="copy the embedded SQLite database to PATH while the service runs (not PostgreSQL)"
    )
    backup_cmd.add_argument("path", type=Path, help="the backup file to write")
    backup_cmd.add_argument("--force", action="store_true", help="overwrite PATH if it exists")

    restore_cmd = commands.add_parser(
        "restore", help="replace the embedded SQLite database with the backup at PATH (service stopped)"
    )
    restore_cmd.add_argument("path", type=Path, help="a file written by `backstep backup`")
    restore_cmd.add_argument(
        "--force", action="store_true", help="replace a database that holds data (a copy of it is kept)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        # The first thing a container runs: say plainly why it refuses to start (e.g. the
        # image defaults to production, which refuses the development JWT secret).
        print(_settings_refused(error), file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    handler = _HANDLERS[args.command]
    return handler(args, settings)


def _settings_refused(error: ValidationError) -> str:
    reasons = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        field = str(problem["loc"][0]) if problem["loc"] else None
        reasons.append(f"{env_name(field)}: {message}" if field in Settings.model_fields else message)
    lines = ["error: refusing to start, the settings are not valid:", *(f"  - {r}" for r in reasons)]
    if any("BACKSTEP_JWT_SECRET" in r for r in reasons):
        lines.append("  set BACKSTEP_JWT_SECRET to at least 32 random characters, e.g. `openssl rand -base64 48`")
    return "\n".join(lines)


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings)
    print("database is at the latest migration")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.run_scheduler_in_process:
        # Every worker would start its own scheduler; jobs are safe to race on PostgreSQL
        # but not meant to, and on SQLite there must be one writer of scheduled work.
        print(
            "--workers above 1 needs BACKSTEP_SCHEDULER_IN_PROCESS=false and `backstep scheduler` run on its own",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1 or multiprocess_mode():
        prepare_multiprocess_dir()  # before the workers start: they inherit it and count there
    listener = start_metrics_listener(settings)
    try:
        _run_uvicorn(args)
    finally:
        if listener is not None:
            listener.stop()
    return 0


def _run_uvicorn(args: argparse.Namespace) -> None:
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app itself
        # believes it only from BACKSTEP_TRUSTED_PROXIES (api.main), so a local client
        # cannot pick its own address (and with it, its login throttle).
        proxy_headers=False,
        forwarded_allow_ips=[],
        log_config=None,
    )


def _scheduler(_args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings)
    instrument_pool(engine, "main")
    tracer_provider = provider_from_env()
    if tracer_provider is not None:
        instrument_engine([engine], tracer_provider)
    listener = start_metrics_listener(settings)
    print("scheduler running; Ctrl+C or SIGTERM stops it after the running tick", flush=True)
    try:
        run_until_stopped(JobContext(engine, settings, _clock(engine, settings)))
    finally:
        if listener is not None:
            listener.stop()
        engine.dispose()
    return 0


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    try:
        email = TypeAdapter(EmailStr).validate_python(args.email)
    except ValidationError:
        print(f"error: not a valid e-mail address: {args.email!r}", file=sys.stderr)
        return 2
    weak = password_problem(args.password)
    if weak is not None:
        print(f"error: the password {weak}", file=sys.stderr)
        return 2
    engine = make_engine(settings)
    clock = _clock(engine, settings)
    try:
        with session_scope(engine) as session:
            # An operator at the command line: no account acts, the event says how it was made.
            user = add_staff_user(
                session,
                actor=None,
                via="cli",
                role=Role(args.role),
                email=email,
                password=args.password,
                display_name=args.display_name or email.split("@")[0],
                clinic_id=args.clinic_id,
                now=clock.now(),
                settings=settings,
            )
            user_id = user.id
    except Problem as problem:
        print(f"error: {problem.detail}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(json.dumps({"id": user_id, "email": email, "role": args.role}))
    return 0


def _seed_demo(_args: argparse.Namespace, settings: Settings) -> int:
    for line in seed_demo(settings):
        print(line)
    return 0


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        result = run_job(args.name, JobContext(engine, settings, _clock(engine, settings)), args.now)
    finally:
        engine.dispose()
    print(json.dumps({"job": args.name, **result}, default=str))
    return 0


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        result = backup(settings, args.path, force=args.force)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"backup": str(result.path), "bytes": result.bytes, "revision": result.revision}))
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        result = restore(settings, args.path, force=args.force)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result.previous is not None:
        print(f"the replaced database was kept at {result.previous}", file=sys.stderr)
    if result.needs_migrate:
        print(
            f"the backup is at revision {result.revision}, this release at {result.head}: "
            "run `backstep migrate` before starting the service",
            file=sys.stderr,
        )
    print(json.dumps({"restored": str(result.path), "revision": result.revision}))
    return 0


def _clock(engine: Engine, settings: Settings) -> Clock:
    return Clock(engine, test_clock_enabled=settings.allow_test_clock, cache_seconds=settings.clock_cache_seconds)


_HANDLERS = {
    "migrate": _migrate,
    "serve": _serve,
    "scheduler": _scheduler,
    "create-user": _create_user,
    "seed-demo": _seed_demo,
    "jobs": _jobs,
    "backup": _backup,
    "restore": _restore,
}


if __name__ == "__main__":
    sys.exit(main())
