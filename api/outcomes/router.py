"""``GET /clinician/outcomes`` and ``/clinician/outcomes.csv``: a caseload's outcomes (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CurrentUser, NowDep, RowIdFilter, SessionDep, SettingsDep
from api.errors import Problem
from api.models import Role, User
from api.outcomes.csv_report import csv_filename, outcomes_csv
from api.outcomes.schemas import GroupBy, OutcomesReport
from api.outcomes.service import clinic_outcomes
from api.schemas import IsoDate

router = APIRouter(prefix="/clinician", tags=["clinician"])


def get_current_staff(user: CurrentUser) -> User:
    if user.role not in (Role.CLINICIAN, Role.ADMIN):
        raise Problem(403, "forbidden", "this endpoint is for clinicians and administrators")
    return user


Staff = Annotated[User, Depends(get_current_staff)]
From = Annotated[IsoDate, Query(alias="from", description="first programme day 1 counted (inclusive)")]
To = Annotated[IsoDate, Query(description="last programme day 1 counted (inclusive)")]
GroupByQuery = Annotated[GroupBy | None, Query(description="`risk_group` or `clinician`; without it, overall only")]
ClinicQuery = Annotated[
    RowIdFilter, Query(description="the clinic to report on: required for admins, refused for clinicians")
]


@router.get("/outcomes", response_model=OutcomesReport)
def get_outcomes(
    user: Staff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    from_: From,
    to: To,
    group_by: GroupByQuery = None,
    clinic_id: ClinicQuery = None,
) -> OutcomesReport:
    """For the patients whose programme day 1 is in [from, to]: the cohort size; at days 14,
    42 and 84 the patients in each classification; the median and interquartile range of
    the change in back pain; ODI follow-ups with a meaningful change; 28-day exercise
    adherence. Cells of fewer than 5 patients are suppressed."""
    return clinic_outcomes(
        session,
        user,
        first=from_,
        last=to,
        group_by=group_by,
        clinic_id=clinic_id,
        now=now,
        rules=settings.rules,
        via="clinician/outcomes",
    )


@router.get(
    "/outcomes.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "one row per figure"}},
)
def get_outcomes_csv(
    user: Staff,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    from_: From,
    to: To,
    group_by: GroupByQuery = None,
    clinic_id: ClinicQuery = None,
) -> Response:
    """The same report as CSV, one row per figure; a suppressed count is `< 5`."""
    report = clinic_outcomes(
        session,
        user,
        first=from_,
        last=to,
        group_by=group_by,
        clinic_id=clinic_id,
        now=now,
        rules=settings.rules,
        via="clinician/outcomes.csv",
    )
    return Response(
        outcomes_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_filename(report)}"', "Cache-Control": "no-store"},
    )
