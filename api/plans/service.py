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
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from api.clock import local_today
from api.errors import Problem
from api.models import ActorType, Patient, Plan, PlanDecision, PlanStatus
from api.plans.notify import notify_decision
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
