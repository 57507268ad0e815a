"""Plan state changes, each recorded as a decision with its reasons.

The plans' public interface for other domains:

- ``plan_for`` / ``locked_plan`` — the patient's plan (one row per patient).
- ``assign_plan_for_risk_group`` (api.plans.assign) — call after every STarT Back result.
- ``pause_plan`` — call on an emergency or urgent red-flag triage.
- ``flare_check`` (api.plans.flare) — call after every pain log upsert.
- ``sweep_plans`` (api.plans.sweep) — the plans' part of the daily sweep.

Statuses: ``active`` (weekly reviews run), ``reduced`` (flare protocol: lighter
prescription, reviews still run), ``paused`` (emergency/urgent triage or a clinician:
no reviews, no flare changes, only a clinician resumes it), ``completed`` (top level
held: maintenance, no more reviews). ``status_before_pause`` holds the status a
pause or a flare returns to (``active`` or ``completed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Update, bindparam, insert, update
from sqlmodel import Session, select

from api.clock import local_today
from api.errors import Problem
from api.models import ActorType, Patient, Plan, PlanDecision, PlanStatus
from api.notifications.service import NotificationDraft
from api.plans.notify import draft_for, notify_decision
from api.rules.types import PlanAction
from api.rules.version import RULESET_VERSION

REVIEW_INTERVAL = timedelta(days=7)
# Statuses a flare or a pause can return to.
BASE_STATUSES = frozenset({PlanStatus.ACTIVE, PlanStatus.COMPLETED})


def plan_for(session: Session, patient_id: int) -> Plan | None:
    return session.exec(select(Plan).where(Plan.patient_id == patient_id)).first()


def locked_plan(session: Session, patient_id: int) -> Plan | None:
    """The patient's plan, row-locked for this transaction on PostgreSQL and re-read.

    Every state change goes through this lock, so a pain log's flare step, the sweep's
    review and a clinician's override of the same plan are serialised.
    """
    query = (
        select(Plan).where(Plan.patient_id == patient_id).with_for_update().execution_options(populate_existing=True)
    )
    return session.exec(query).first()


def require_plan(session: Session, patient_id: int) -> Plan:
    plan = locked_plan(session, patient_id)
    if plan is None:
        raise Problem(409, "no_plan", "this patient has no exercise plan yet: assign a template first")
    return plan


def return_status(plan: Plan) -> PlanStatus:
    """The status a flare restore or a resume goes back to."""
    before = plan.status_before_pause
    return PlanStatus(before) if before in BASE_STATUSES else PlanStatus.ACTIVE


def set_base_status(plan: Plan, status: PlanStatus) -> None:
    """Set ``active``/``completed``; while reduced or paused it becomes the status to return to."""
    if plan.status in (PlanStatus.PAUSED, PlanStatus.REDUCED):
        plan.status_before_pause = status
    else:
        plan.status = status


def record_decision(
    session: Session,
    plan: Plan,
    *,
    action: PlanAction,
    from_level: int | None,
    from_status: str | None,
    reasons: Sequence[str],
    inputs: dict[str, Any],
    now: datetime,
    actor_type: ActorType = ActorType.SYSTEM,
    actor_id: int | None = None,
    ruleset_version: str = RULESET_VERSION,
    notify: bool = True,
) -> PlanDecision:
    """Persist the plan (already changed by the caller) and its decision; tell the patient."""
    assert plan.id is not None
    plan.updated_at = now
    decision = PlanDecision(
        plan_id=plan.id,
        patient_id=plan.patient_id,
        action=action,
        template_id=plan.template_id,
        from_level=from_level,
        to_level=plan.level,
        from_status=from_status,
        to_status=plan.status,
        reasons=list(reasons),
        inputs=inputs,
        ruleset_version=ruleset_version,
        actor_type=actor_type,
        actor_id=actor_id,
        decided_at=now,
    )
    session.add_all([plan, decision])
    session.flush()
    if notify:
        notify_decision(session, plan, decision, now)
    return decision


def pause_plan(
    session: Session,
    patient_id: int,
    *,
    reason: str,
    now: datetime,
    actor_type: ActorType = ActorType.SYSTEM,
    actor_id: int | None = None,
    inputs: dict[str, Any] | None = None,
) -> PlanDecision | None:
    """Pause the patient's plan (emergency/urgent triage, or a clinician); None if nothing to pause.

    Only a clinician resumes it: a paused plan never restarts by itself. A flare in
    progress ends with the pause (the clinician reviews the patient before anything
    restarts); the plan resumes to the status it had before the flare.
    """
    plan = locked_plan(session, patient_id)
    if plan is None or plan.status == PlanStatus.PAUSED:
        return None
    from_level, from_status = plan.level, plan.status
    recorded = dict(inputs or {})
    if plan.status == PlanStatus.REDUCED:
        recorded["flare_ended"] = {
            "flare_started_on": plan.flare_started_on.isoformat() if plan.flare_started_on else None,
            "reduced_until": plan.reduced_until.isoformat() if plan.reduced_until else None,
        }
        plan.flare_started_on = plan.reduced_until = None
        plan.status_before_pause = return_status(plan)
    else:
        plan.status_before_pause = plan.status
    plan.status = PlanStatus.PAUSED
    return record_decision(
        session,
        plan,
        action=PlanAction.PAUSE,
        from_level=from_level,
        from_status=from_status,
        reasons=[reason],
        inputs=recorded,
        now=now,
        actor_type=actor_type,
        actor_id=actor_id,
    )


@dataclass(frozen=True, slots=True)
class Paused:
    """A pause applied by ``pause_as_loaded``: the plan as it now stands and its decision."""

    plan: Plan  # detached: the row as the pause left it
    decision_id: int
    reasons: list[str]
    message: NotificationDraft | None  # the patient's plan_change message, for the caller to queue


_PLAN_TABLE: Any = Plan.__table__  # type: ignore[attr-defined]
_DECISION_TABLE: Any = PlanDecision.__table__  # type: ignore[attr-defined]
_PAUSE_STATEMENTS: dict[str, tuple[Update, Insert]] = {}


def _pause_statements(session: Session) -> tuple[Update, Insert]:
    """The guarded pause and its decision's insert, built once per dialect."""
    dialect = session.get_bind().dialect.name
    built = _PAUSE_STATEMENTS.get(dialect)
    if built is None:
        table = _PLAN_TABLE
        pause = (
            update(table)
            .where(
                table.c.id == bindparam("plan"),
                table.c.status == bindparam("was_status"),
                table.c.level == bindparam("was_level"),
                table.c.template_id == bindparam("was_template"),
                table.c.status_before_pause.is_not_distinct_from(bindparam("was_before")),
                table.c.flare_started_on.is_not_distinct_from(bindparam("was_flare")),
                table.c.reduced_until.is_not_distinct_from(bindparam("was_reduced")),
            )
            .values(
                status=bindparam("to_status"),
                status_before_pause=bindparam("to_before"),
                flare_started_on=bindparam("to_flare"),
                reduced_until=bindparam("to_reduced"),
                updated_at=bindparam("at"),
            )
            .returning(*table.c)
        )
        built = _PAUSE_STATEMENTS[dialect] = (pause, insert(_DECISION_TABLE).returning(_DECISION_TABLE.c.id))
    return built


def pause_as_loaded(
    session: Session,
    loaded: Plan,
    *,
    user_id: int,
    locale: str,
    reason: str,
    now: datetime,
    inputs: dict[str, Any] | None = None,
) -> Paused | None:
    """``pause_plan`` for a plan read earlier in this transaction (system actor), in two statements.

    The update is guarded by every value the pause is computed from, so it applies only
    to the plan as ``loaded`` saw it; the patient's ``plan_change`` message is returned,
    not queued. None when the plan is paused already or changed since it was read: call
    ``pause_plan``, which locks the plan and reads it again.
    """
    if loaded.id is None or loaded.status == PlanStatus.PAUSED:
        return None
    recorded = dict(inputs or {})
    flare_started_on, reduced_until = loaded.flare_started_on, loaded.reduced_until
    if loaded.status == PlanStatus.REDUCED:
        recorded["flare_ended"] = {
            "flare_started_on": flare_started_on.isoformat() if flare_started_on else None,
            "reduced_until": reduced_until.isoformat() if reduced_until else None,
        }
        flare_started_on = reduced_until = None
        before: str = return_status(loaded)
    else:
        before = loaded.status
    pause, decide = _pause_statements(session)
    row = session.execute(
        pause,
        {
            "plan": loaded.id,
            "was_status": loaded.status,
            "was_level": loaded.level,
            "was_template": loaded.template_id,
            "was_before": loaded.status_before_pause,
            "was_flare": loaded.flare_started_on,
            "was_reduced": loaded.reduced_until,
            "to_status": str(PlanStatus.PAUSED),
            "to_before": before,
            "to_flare": flare_started_on,
            "to_reduced": reduced_until,
            "at": now,
        },
    ).first()
    if row is None:
        return None
    plan = Plan(**row._asdict())
    reasons = [str(reason)]
    decision_id = session.execute(
        decide,
        {
            "plan_id": loaded.id,
            "patient_id": loaded.patient_id,
            "action": str(PlanAction.PAUSE),
            "template_id": plan.template_id,
            "from_level": loaded.level,
            "to_level": plan.level,
            "from_status": loaded.status,
            "to_status": plan.status,
            "reasons": reasons,
            "inputs": recorded,
            "ruleset_version": RULESET_VERSION,
            "actor_type": str(ActorType.SYSTEM),
            "actor_id": None,
            "review_on": None,
            "decided_at": now,
        },
    ).scalar_one()
    message = draft_for(plan, user_id=user_id, decision_id=decision_id, action=PlanAction.PAUSE, locale=locale)
    return Paused(plan=plan, decision_id=decision_id, reasons=reasons, message=message)


def resume_plan(session: Session, patient: Patient, *, reason: str, now: datetime, actor_id: int) -> PlanDecision:
    """A clinician lifts a pause: back to the status before it; the review week restarts today.

    409 ``plan_not_paused`` when there is nothing to resume.
    """
    assert patient.id is not None
    plan = require_plan(session, patient.id)
    if plan.status != PlanStatus.PAUSED:
        raise Problem(409, "plan_not_paused", f"the plan is {plan.status}, not paused: nothing to resume")
    from_status = plan.status
    plan.status = return_status(plan)
    plan.status_before_pause = None
    today = local_today(patient.timezone, now)
    # Paused days had no planned sessions: the next review judges a full week from today.
    plan.next_review_on = today + REVIEW_INTERVAL
    return record_decision(
        session,
        plan,
        action=PlanAction.RESUME,
        from_level=plan.level,
        from_status=from_status,
        reasons=[reason],
        inputs={"today": today.isoformat(), "next_review_on": plan.next_review_on.isoformat()},
        now=now,
        actor_type=ActorType.CLINICIAN,
        actor_id=actor_id,
    )
