"""A clinician's view of and overrides to a patient's plan (care team only; audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.audit import record_audit
from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep, SettingsDep
from api.errors import Problem
from api.models import ActorType, PlanDecision, PlanStatus
from api.plans.assign import assign_template, set_level
from api.plans.schemas import PlanDecisionPublic, PlanOverride, PlanPublic
from api.plans.service import pause_plan, require_plan, resume_plan
from api.plans.views import history_page, plan_public, require_patient_plan
from api.schemas import Limit, Page

router = APIRouter(prefix="/clinician/patients/{patient_id}/plan", tags=["clinician"])

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


@router.get("", response_model=PlanPublic)
def get_patient_plan(
    patient: PatientInCare, clinician: CurrentClinician, session: SessionDep, now: NowDep
) -> PlanPublic:
    """The patient's current plan (404 ``no_plan`` before one is assigned)."""
    plan = require_patient_plan(session, patient)
    record_audit(session, at=now, action="read", resource=f"plan/{plan.id}", actor=clinician, patient_id=patient.id)
    return plan_public(session, plan)


@router.post(
    "",
    response_model=PlanPublic,
    responses={
        409: {"description": "no_plan, plan_already_paused, plan_not_paused, level_unchanged or template_unchanged"}
    },
)
def override_plan(
    body: PlanOverride,
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> PlanPublic:
    """Set the level, pause, resume or assign another template, with a reason.

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
    return plan_public(session, require_patient_plan(session, patient))


@router.get("/history", response_model=Page[PlanDecisionPublic])
def get_patient_plan_history(
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[PlanDecisionPublic]:
    """Every decision on the patient's plan, newest first (empty before a plan exists)."""
    assert patient.id is not None
    page = history_page(session, patient.id, limit, cursor)
    record_audit(
        session,
        at=now,
        action="read",
        resource="plan_history",
        actor=clinician,
        patient_id=patient.id,
        detail={"count": len(page.items)},
    )
    return page
