"""The escalation part of the daily sweep: time-based rules for patients whose day moved.

Runs hourly (``backstep jobs run sweep``); each time zone is worked on once per local
date, at the first run after its local midnight, and a run with nothing due costs two
small queries. For a due zone, ``api.alerts.candidates`` picks in SQL the patients with
something to evaluate; they are processed in batches of ``BACKSTEP_SWEEP_BATCH_SIZE``,
one transaction each, in the shape of every scheduled job (``api.batches.run_batches``).
A batch claims its patient rows with ``FOR NO KEY UPDATE SKIP LOCKED`` and stamps
``swept_on``, so several sweep processes share a zone without evaluating anyone twice
(rows a capture request holds are retried at the end, waiting for the lock); the alert
and notification constraints make any double work harmless anyway. A batch that fails
is redone patient by patient; a patient that fails alone is counted, logged and stamped,
so it is retried tomorrow rather than in a loop today. The zone is recorded as swept
only when all its candidates are, so a crash or a failure is picked up by the next
hourly run.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import Engine, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from api.alerts.candidates import (
    Need,
    ZoneDay,
    checkpoint_windows,
    find_candidates,
    no_jit,
    not_swept,
    nudge_key,
)
from api.alerts.service import raise_alerts
from api.alerts.snapshot import load_pain_days_for, record_checkpoints
from api.batches import run_batches_on_threads
from api.config import Settings
from api.db import session_scope
from api.models import NotificationKind, Patient, Plan, SweepZone
from api.notifications.service import NotificationDraft, enqueue_notifications
from api.rules.advice import SILENCE_NUDGE, SILENCE_NUDGE_TITLE
from api.rules.monitoring import prolonged_flare, silence
from api.rules.registry import LogHistory, history_alerts
from api.rules.settings import RuleSettings
from api.rules.types import AlertSpec, PainDay, PatientProfile
from api.rules.windows import (
    CheckpointOutcome,
    checkpoint_alerts,
    checkpoint_outcomes,
    complete_through,
    no_improvement_checkpoints,
    persistent_12w,
)
from api.upsert import insert_for

_log = structlog.get_logger("api.alerts.sweep")


@dataclass
class SweepStats:
    zones: int = 0
    patients: int = 0
    alerts_opened: int = 0
    nudges: int = 0
    failed: int = 0
    deferred: int = 0  # candidates left to the next run (locked by another process throughout)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return {f"escalation_{k}": v for k, v in self.__dict__.items() if not k.startswith("_")}


@dataclass
class _Batch:
    """What one batch decided, persisted together."""

    specs: list[tuple[int, AlertSpec]] = field(default_factory=list)
    outcomes: list[tuple[int, CheckpointOutcome]] = field(default_factory=list)
    nudges: list[NotificationDraft] = field(default_factory=list)


def sweep_escalations(
    engine: Engine, now: datetime, *, rules: RuleSettings, batch_size: int, workers: int = 1
) -> dict[str, int]:
    """Run the time-based escalation rules for every zone whose local date moved since its last sweep.

    ``workers`` > 1 overlaps batches on PostgreSQL; SQLite has one writer, so it is ignored there.
    """
    stats = SweepStats()
    for zone in _due_zones(engine, now):
        stats.add(zones=1)
        with session_scope(engine) as session:
            candidates = find_candidates(session, zone, rules)
        leftovers = _sweep_candidates(
            engine, zone, candidates, now, rules, batch_size, stats, skip_locked=True, workers=workers
        )
        if leftovers:  # held by a request or another sweeper: wait for them this time
            leftovers = _sweep_candidates(engine, zone, leftovers, now, rules, batch_size, stats, skip_locked=False)
        if leftovers:
            stats.add(deferred=len(leftovers))
            continue
        with session_scope(engine) as session:
            _mark_zone(session, zone, now)
        _log.info("zone_swept", timezone=zone.timezone, today=zone.today.isoformat(), candidates=len(candidates))
    return stats.as_dict()


def _due_zones(engine: Engine, now: datetime) -> list[ZoneDay]:
    with session_scope(engine) as session:
        zones = session.exec(select(Patient.timezone).distinct()).all()
        swept: dict[str, date] = {
            row.timezone: row.swept_on
            for row in session.execute(select_columns(col(SweepZone.timezone), col(SweepZone.swept_on)))
        }
    due = []
    for timezone in sorted(zones):
        try:
            today = now.astimezone(ZoneInfo(timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            _log.error("unknown_timezone_skipped", timezone=timezone)
            continue
        previous = swept.get(timezone)
        if previous != today:
            # A clock moved backwards (test clock) leaves no usable "since": start afresh.
            due.append(ZoneDay(timezone, today, previous if previous is not None and previous < today else None))
    return due


def _mark_zone(session: Session, zone: ZoneDay, now: datetime) -> None:
    table = SweepZone.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).values(timezone=zone.timezone, swept_on=zone.today, swept_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.timezone],
            set_={"swept_on": statement.excluded.swept_on, "swept_at": statement.excluded.swept_at},
        )
    )


def _sweep_candidates(
    engine: Engine,
    zone: ZoneDay,
    candidates: dict[int, set[Need]],
    now: datetime,
    rules: RuleSettings,
    batch_size: int,
    stats: SweepStats,
    *,
    skip_locked: bool,
    workers: int = 1,
) -> dict[int, set[Need]]:
    """Sweep the candidates batch by batch; those another transaction held are returned.

    With ``workers`` > 1 that many threads run the batch loop on the same queue (each its
    own connection and transaction), so the database works on one batch while Python
    evaluates another.
    """
    work = _ZoneWork(zone, now, rules, candidates, skip_locked)
    counts = run_batches_on_threads(engine, work, batch_size, workers, len(candidates))
    stats.add(**{name: counts[name] for name in ("patients", "alerts_opened", "nudges", "failed")})
    left = work.unclaimed()
    if not left:
        return {}
    with session_scope(engine) as session:  # drop those another sweeper finished meanwhile
        still = session.exec(select(Patient.id).where(col(Patient.id).in_(left), not_swept(zone))).all()
    return {pid: left[pid] for pid in still if pid is not None}


class _ZoneWork:
    """One zone's candidates, as ``run_batches`` drives them (shared by the worker threads).

    A claim takes candidates off the queue and locks their patient rows with ``FOR NO KEY
    UPDATE`` (SKIP LOCKED in the first pass), so requests writing other tables are not
    blocked; rows it could not lock are kept for the caller's second pass.
    """

    name = "escalation_sweep"

    def __init__(
        self, zone: ZoneDay, now: datetime, rules: RuleSettings, candidates: dict[int, set[Need]], skip_locked: bool
    ) -> None:
        self.zone, self.now, self.rules, self.skip_locked = zone, now, rules, skip_locked
        self.needs = candidates
        self._queue = deque(sorted(candidates))
        self._skipped: list[int] = []
        self._lock = threading.Lock()

    def _take(self, count: int) -> list[int]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(count, len(self._queue)))]

    def unclaimed(self) -> dict[int, set[Need]]:
        with self._lock:
            return {pid: self.needs[pid] for pid in self._skipped}

    def claim(self, session: Session, limit: int) -> list[Any]:
        """Up to ``limit`` locked patient rows: fewer only when the queue runs out."""
        no_jit(session)
        claimed: list[Any] = []
        while len(claimed) < limit:
            ids = self._take(limit - len(claimed))
            if not ids:
                break
            rows = session.execute(
                select_columns(
                    col(Patient.id),
                    col(Patient.user_id),
                    col(Patient.birth_year),
                    col(Patient.cancer_history),
                    col(Patient.osteoporosis_or_steroids),
                    col(Patient.last_log_on),
                    col(Patient.created_at),
                )
                .where(col(Patient.id).in_(ids), not_swept(self.zone))
                .order_by(col(Patient.id))
                .with_for_update(skip_locked=self.skip_locked, key_share=True)
            ).all()
            claimed += rows
            got = {row.id for row in rows}
            with self._lock:
                self._skipped += [pid for pid in ids if pid not in got]
        return claimed

    def key(self, item: Any) -> int:
        return int(item.id)

    def process(self, session: Session, batch: Sequence[Any]) -> Counter[str]:
        """Evaluate the batch's rules, persist what they decided and stamp ``swept_on``."""
        zone, rules = self.zone, self.rules
        ids = [row.id for row in batch]
        needing = {need: [pid for pid in ids if need in self.needs[pid]] for need in Need}
        full = load_pain_days_for(session, needing[Need.LOGS])
        partial = load_pain_days_for(
            session, [pid for pid in needing[Need.WINDOWS] if pid not in full], only=checkpoint_windows(rules)
        )
        flares: dict[int, date | None] = {}
        if needing[Need.FLARE]:
            flares = dict(
                session.execute(
                    select_columns(col(Plan.patient_id), col(Plan.flare_started_on)).where(
                        col(Plan.patient_id).in_(needing[Need.FLARE])
                    )
                ).all()
            )
        decided = _Batch()
        zone_info = ZoneInfo(zone.timezone)
        for row in batch:
            needs = self.needs[row.id]
            profile = PatientProfile(row.birth_year, row.cancer_history, row.osteoporosis_or_steroids)
            as_of = complete_through(zone.today, row.last_log_on)
            if row.id in full:
                _log_rules(decided, row.id, full[row.id], zone.today, as_of, profile, rules)
            elif row.id in partial:
                _checkpoint_rules(decided, row.id, partial[row.id], as_of, profile, rules)
            if Need.SILENCE in needs:
                _silence_rule(decided, row, zone.today, row.created_at.astimezone(zone_info).date(), rules)
            if Need.FLARE in needs:
                spec = prolonged_flare(flares.get(row.id), zone.today, rules)
                if spec is not None:
                    decided.specs.append((row.id, spec))
        record_checkpoints(session, decided.outcomes, self.now)
        raised = raise_alerts(session, decided.specs, self.now)
        nudged = enqueue_notifications(session, decided.nudges, self.now)
        _stamp(session, ids, zone)
        return Counter(patients=len(ids), alerts_opened=sum(1 for r in raised if r.is_news), nudges=len(nudged))

    def give_up(self, session: Session, item: Any) -> None:
        """Stamped as swept: retried tomorrow, not in a loop today."""
        _stamp(session, [item.id], self.zone)


def _stamp(session: Session, patient_ids: Sequence[int], zone: ZoneDay) -> None:
    session.execute(
        update(Patient)
        .where(col(Patient.id).in_(patient_ids))
        .values(swept_on=zone.today)
        .execution_options(synchronize_session=False)
    )


def _checkpoint_rules(
    decided: _Batch, pid: int, days: list[PainDay], as_of: date, profile: PatientProfile, rules: RuleSettings
) -> None:
    """Checkpoints only, from the baseline and checkpoint windows (enough for these rules)."""
    decided.outcomes += [(pid, o) for o in checkpoint_outcomes(days, as_of, rules)]
    decided.specs += [(pid, s) for s in no_improvement_checkpoints(days, as_of, profile, rules)]
    twelve_weeks = persistent_12w(days, as_of, rules)
    if twelve_weeks is not None:
        decided.specs.append((pid, twelve_weeks))


def _log_rules(
    decided: _Batch,
    pid: int,
    days: list[PainDay],
    today: date,
    as_of: date,
    profile: PatientProfile,
    rules: RuleSettings,
) -> None:
    """Every log-based rule, from the full history, judged as the write path judges them."""
    decided.outcomes += [(pid, o) for o in checkpoint_outcomes(days, as_of, rules)]
    decided.specs += [(pid, s) for s in checkpoint_alerts(days, as_of, profile, rules)]
    decided.specs += [(pid, s) for s in history_alerts(LogHistory(days, today, as_of, profile, rules))]


def _silence_rule(decided: _Batch, row: Any, today: date, enrolled_on: date, rules: RuleSettings) -> None:
    result = silence(row.last_log_on, today, rules, enrolled_on=enrolled_on)
    if result.nudge:
        decided.nudges.append(
            NotificationDraft(
                user_id=row.user_id,
                kind=NotificationKind.NUDGE,
                title=SILENCE_NUDGE_TITLE,
                body=SILENCE_NUDGE,
                patient_id=row.id,
                occurrence_key=nudge_key(row.id, row.last_log_on),
                data={"days_silent": result.days_silent},
            )
        )
    if result.alert is not None:
        decided.specs.append((row.id, result.alert))


def run_escalation_sweep(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """The sweep job's escalation step, with the configured rules and batch size."""
    return sweep_escalations(
        engine, now, rules=settings.rules, batch_size=settings.sweep_batch_size, workers=settings.sweep_workers
    )
