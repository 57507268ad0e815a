"""The patient's own plan: ``/me/plan``, ``/me/plan/today``, ``/me/plan/history``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CurrentPatient, NowDep, SessionDep
from api.plans.schemas import PlanDecisionPublic, PlanPublic, PlanTodayPublic
from api.plans.views import history_page, plan_public, require_patient_plan, today_public
from api.schemas import Limit, Page

router = APIRouter(prefix="/me/plan", tags=["plan"])

_NO_PLAN: dict[int | str, dict[str, Any]] = {
    404: {"description": "no plan yet (code `no_plan`): complete the STarT Back questionnaire"}
}


@router.get("", response_model=PlanPublic, responses=_NO_PLAN)
def get_my_plan(patient: CurrentPatient, session: SessionDep) -> PlanPublic:
    """The caller's graded exercise plan with the current level's prescription and the last decision."""
    return plan_public(session, require_patient_plan(session, patient), patient.locale)


@router.get("/today", response_model=PlanTodayPublic, responses=_NO_PLAN)
def get_my_plan_today(patient: CurrentPatient, session: SessionDep, now: NowDep) -> PlanTodayPublic:
    """Today's exercises in the caller's local date: lighter during a flare, relaxation only while paused."""
    return today_public(session, patient, require_patient_plan(session, patient), now)


@router.get("/history", response_model=Page[PlanDecisionPublic])
def get_my_plan_history(
    patient: CurrentPatient,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[PlanDecisionPublic]:
    """Every decision on the caller's plan, newest first, with its reasons and inputs."""
    assert patient.id is not None
    return history_page(session, patient.id, limit, cursor, patient.locale)
