"""Decide once: every rule a pain-log write triggers, as one pure function of a snapshot.

``evaluate(snapshot, event, now, settings) -> Decisions`` calls the existing rule
functions (triage, the checkpoint windows, persistent numbness, medication review, the
flare protocol, prolonged flare) exactly as the escalation service and the flare
protocol call them, over one frozen ``PatientSnapshot`` loaded before (see
``api.escalation.snapshot``). It reads no database and no clock: the caller persists
the ``Decisions``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.rules.flare import FlareState, FlareStep, flare_step
from api.rules.monitoring import prolonged_flare
from api.rules.progression import usual_pain
from api.rules.registry import LogHistory, history_alerts
from api.rules.settings import RuleSettings
from api.rules.triage import TriageResult, triage
from api.rules.types import AlertSpec, PainDay, PatientProfile, Symptom, Tier, highest_tier
from api.rules.windows import CheckpointOutcome, checkpoint_alerts, checkpoint_outcomes, complete_through

# Plan statuses as the plans domain stores them (api.models.PlanStatus values).
PAUSED = "paused"
REDUCED = "reduced"


@dataclass(frozen=True, slots=True)
class PlanState:
    """What the flare protocol reads of the patient's plan."""

    status: str
    flare_started_on: date | None = None
    reduced_until: date | None = None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint outcome as already recorded (``checkpoint_result``)."""

    baseline_mean: float | None
    current_mean: float | None
    classification: str
    ruleset_version: str


@dataclass(frozen=True, slots=True)
class PatientSnapshot:
    """Everything the pain-log rules read about one patient, frozen at load time."""

    timezone: str
    profile: PatientProfile
    days: tuple[PainDay, ...]  # every pain log, oldest first
    known_symptoms: frozenset[Symptom]  # true in the latest red-flag screening
    plan: PlanState | None
    checkpoints: Mapping[int, StoredCheckpoint] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogsWritten:
    """The event: pain logs created or changed (one PUT, or a synced batch), by local date."""

    dates: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class Decisions:
    """What the rules decided for one event; the persist step applies it."""

    today: date
    triaged: tuple[TriageResult, ...]
    tier: Tier  # the red-flag triage of what was reported
    red_flag_alerts: tuple[AlertSpec, ...]
    timed_alerts: tuple[AlertSpec, ...]
    checkpoints: tuple[CheckpointOutcome, ...]  # every reached checkpoint
    checkpoints_to_record: tuple[CheckpointOutcome, ...]  # those not stored as they are
    flare_steps: tuple[FlareStep, ...]  # one per log of today (none without an unpaused plan)
    flare_alert: AlertSpec | None

    @property
    def quiet(self) -> bool:
        """Nothing to raise, pause, reduce or restore: only bookkeeping to save."""
        return (
            self.tier is Tier.NONE
            and not self.red_flag_alerts
            and not self.timed_alerts
            and self.flare_alert is None
            and all(step.action is None for step in self.flare_steps)
        )

    @property
    def asks_red_flags(self) -> FlareStep | None:
        """The last flare step that re-asks the red-flag questions, if any."""
        return next((s for s in reversed(self.flare_steps) if s.ask_red_flags), None)


def local_date(timezone: str, now: datetime) -> date:
    """The patient's local calendar date at ``now`` (``api.clock.local_today``, kept pure here)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def _same(stored: StoredCheckpoint | None, outcome: CheckpointOutcome) -> bool:
    if stored is None:
        return False
    return (
        stored.classification == str(outcome.classification)
        and stored.ruleset_version == outcome.ruleset_version
        and _close(stored.baseline_mean, outcome.baseline_mean)
        and _close(stored.current_mean, outcome.current_mean)
    )


def _close(a: float | None, b: float | None) -> bool:
    # A stored mean may come back through JSON text with fewer digits (SQLite): the same
    # computation, not a different value.
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _flare_steps(snapshot: PatientSnapshot, logs: list[PainDay], today: date, rules: RuleSettings) -> list[FlareStep]:
    """``api.plans.flare.flare_check`` for each log, while the plan does not change."""
    plan = snapshot.plan
    if plan is None or plan.status == PAUSED:
        return []
    lookback = timedelta(days=rules.usual_pain_lookback_days)
    first = min(today, plan.flare_started_on or today) - lookback
    window = [PainDay(on=d.on, back_pain=d.back_pain, flare=d.flare) for d in snapshot.days if first <= d.on <= today]
    state = None
    if plan.status == REDUCED and plan.flare_started_on is not None and plan.reduced_until is not None:
        state = FlareState(plan.flare_started_on, plan.reduced_until, usual_pain(window, plan.flare_started_on, rules))
    usual_now = usual_pain(window, today, rules)
    steps = []
    for log in logs:
        day = PainDay(on=log.on, back_pain=log.back_pain, flare=log.flare, activity_minutes=log.activity_minutes)
        step = flare_step(state, day, today, usual_now, rules)
        steps.append(step)
        if step.action is not None:
            break  # the plan changes: the persist step takes it from here
    return steps


def evaluate(snapshot: PatientSnapshot, event: LogsWritten, now: datetime, settings: RuleSettings) -> Decisions:
    """Every decision the written logs trigger, judged as the escalation service judges them.

    Red-flag triage of each log on its own date (known symptoms from the latest red-flag
    screening); the window rules and medication review through the last complete day;
    persistent numbness through today; the flare protocol for each log in date order.
    """
    today = local_date(snapshot.timezone, now)
    by_date = {d.on: d for d in snapshot.days}
    logs = [by_date[on] for on in sorted(set(event.dates)) if on in by_date]
    triaged = tuple(triage(d.symptoms, snapshot.profile, d.on, snapshot.known_symptoms, settings) for d in logs)
    days = list(snapshot.days)
    as_of = complete_through(today, max((d.on for d in days if d.on <= today), default=None))
    outcomes = tuple(checkpoint_outcomes(days, as_of, settings))
    timed: list[AlertSpec] = [*checkpoint_alerts(days, as_of, snapshot.profile, settings)]
    timed += history_alerts(LogHistory(days, today, as_of, snapshot.profile, settings))  # the registry's rules
    steps = _flare_steps(snapshot, logs, today, settings)
    flare_alert = None
    if snapshot.plan is not None and snapshot.plan.status != PAUSED:
        flare_alert = prolonged_flare(snapshot.plan.flare_started_on, today, settings)
    return Decisions(
        today=today,
        triaged=triaged,
        tier=highest_tier(r.tier for r in triaged),
        red_flag_alerts=tuple(spec for r in triaged for spec in r.alerts),
        timed_alerts=tuple(timed),
        checkpoints=outcomes,
        checkpoints_to_record=tuple(o for o in outcomes if not _same(snapshot.checkpoints.get(o.checkpoint_day), o)),
        flare_steps=tuple(steps),
        flare_alert=flare_alert,
    )
