"""The plan-override use case: one clinician decision on a patient's plan, audited.

The API route, the dashboard form and the demo replay all call :func:`override_plan`, so a
change made anywhere is exactly the same change with the same audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from api.audit import record_audit
from api.config import Settings
from api.errors import Problem
from api.models import ActorType, Patient, PlanDecision, PlanStatus, User
from api.plans.assign import assign_template, set_level
from api.plans.schemas import PlanOverride
from api.plans.service import pause_plan, require_plan, resume_plan

# Which optional fields each action requires and allows: a field that does not apply is
# refused, so a mistaken action never silently drops the level or template meant.
_REQUIRED = {"set_level": {"level"}, "assign_template": {"template_id"}, "pause": set(), "resume": set()}
_ALLOWED = {"set_level": {"level"}, "assign_template": {"template_id", "level"}, "pause": set(), "resume": set()}


def _check_fields(body: PlanOverride) -> None:
    errors = []
    for name in ("level", "template_id"):
        given = getattr(body, name) is not None
        if given and name not in _ALLOWED[body.action]:
            errors.append({"loc": ["body", name], "msg": f"not allowed with action {body.action}"})
        elif not given and name in _REQUIRED[body.action]:
            errors.append({"loc": ["body", name], "msg": f"required for action {body.action}"})
    if errors:
        names = ", ".join(e["loc"][1] for e in errors)
        raise Problem(422, "validation_error", f"invalid fields: {names}", errors=errors)


def override_plan(
    session: Session, clinician: User, patient: Patient, body: PlanOverride, now: datetime, settings: Settings
) -> PlanDecision:
    """Set the level, pause, resume or assign another template, with a reason; audited.

    409 ``no_plan`` (set_level/pause/resume before any plan), ``plan_not_paused``,
    ``plan_already_paused``, ``level_unchanged``, ``template_unchanged``; 422 naming
    ``level`` or ``template_id`` when invalid for the template or the action.
    """
    _check_fields(body)
    assert patient.id is not None and clinician.id is not None
    decision: PlanDecision | None
    if body.action == "set_level":
        assert body.level is not None
        decision = set_level(
            session, patient, level=body.level, reason=body.reason, now=now, actor_id=clinician.id, rules=settings.rules
        )
    elif body.action == "assign_template":
        assert body.template_id is not None
        decision = assign_template(
            session,
            patient,
            template_id=body.template_id,
            level=body.level,
            reason=body.reason,
            now=now,
            actor_id=clinician.id,
            rules=settings.rules,
        )
    elif body.action == "pause":
        plan = require_plan(session, patient.id)
        if plan.status == PlanStatus.PAUSED:
            raise Problem(409, "plan_already_paused", "the plan is already paused")
        decision = pause_plan(
            session,
            patient.id,
            reason=body.reason,
            now=now,
            actor_type=ActorType.CLINICIAN,
            actor_id=clinician.id,
        )
    else:
        decision = resume_plan(session, patient, reason=body.reason, now=now, actor_id=clinician.id)
    assert decision is not None
    detail: dict[str, Any] = {
        "decision_id": decision.id,
        "action": decision.action,
        "from_level": decision.from_level,
        "to_level": decision.to_level,
        "to_status": decision.to_status,
    }
    record_audit(
        session,
        at=now,
        action=f"plan_{body.action}",
        resource=f"plan/{decision.plan_id}",
        actor=clinician,
        patient_id=patient.id,
        detail=detail,
    )
    return decision
