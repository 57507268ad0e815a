"""A clinician's view of and overrides to a patient's plan (care team only; audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import record_audit
from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep, SettingsDep
from api.plans.overrides import override_plan as override
from api.plans.schemas import PlanDecisionPublic, PlanOverride, PlanPublic
from api.plans.views import history_page, plan_public, require_patient_plan
from api.schemas import Limit, Page

router = APIRouter(prefix="/clinician/patients/{patient_id}/plan", tags=["clinician"])


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
    """Set the level, pause, resume or assign another template, with a reason (audited).

    409 ``no_plan`` (set_level/pause/resume before any plan), ``plan_not_paused``,
    ``plan_already_paused``, ``level_unchanged``, ``template_unchanged``; 422 naming
    ``level`` or ``template_id`` when invalid for the template or the action.
    """
    override(session, clinician, patient, body, now, settings)
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
