"""The outcomes page and its CSV: the report of ``api.outcomes.service.clinic_outcomes``.

Physiotherapists see their own patients; admins choose a clinic. The form is a GET (it
changes nothing), so the page's address is the report's: it can be bookmarked or shared
within the team. The report is audited by the service, like the API's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import Session, col, select

from api.clinicians.words import CLASSIFICATION_WORDS
from api.dashboard.access import AnyLogin
from api.dashboard.pages import render
from api.dashboard.sessions import LoggedIn
from api.deps import NowDep, SessionDep, SettingsDep
from api.errors import Problem
from api.models import Clinic, Role
from api.outcomes.csv_report import csv_filename, outcomes_csv
from api.outcomes.schemas import CheckpointReport, GroupBy, OutcomesReport
from api.outcomes.service import clinic_outcomes

router = APIRouter(prefix="/dashboard", include_in_schema=False)

DEFAULT_DAYS = 365
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
GROUPINGS: dict[str, str] = {"": "No grouping", "risk_group": "STarT Back risk group", "clinician": "Physiotherapist"}
Text = Annotated[str, Query(max_length=12)]


@dataclass(frozen=True, slots=True)
class Choice:
    """What the form asked for, as typed (shown back in the form)."""

    from_: str
    to: str
    group_by: str
    clinic_id: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a checkpoint's stacked bar, in percent of the patients who reached it."""

    key: str  # a classification, or "suppressed": the cells of fewer than 5 together
    x: float
    width: float
    label: str


def bar(checkpoint: CheckpointReport) -> list[Segment]:
    """The stacked bar of a checkpoint: each published classification at its percentage,
    then the suppressed cells together (their share, never one of them alone)."""
    if checkpoint.reached.suppressed or not checkpoint.reached.count:
        return [Segment("suppressed", 0.0, 100.0, "fewer than 5 patients reached this checkpoint")]
    segments, x = [], 0.0
    for key, cell in checkpoint.classifications:
        if cell.percent is not None and cell.percent > 0:
            width = min(cell.percent, 100.0 - x)
            segments.append(Segment(key, x, width, f"{CLASSIFICATION_WORDS[key]}: {cell.count} ({cell.percent} %)"))
            x += width
    if x < 100.0 - 0.05:
        segments.append(Segment("suppressed", x, 100.0 - x, "classifications with fewer than 5 patients each"))
    return segments


def _date(text: str, name: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise Problem(422, "validation_error", f"{name}: enter a date as YYYY-MM-DD.")


def _report(
    login: LoggedIn, session: Session, choice: Choice, now: datetime, settings: SettingsDep, via: str
) -> OutcomesReport:
    first, last = _date(choice.from_, "From"), _date(choice.to, "To")
    if choice.group_by not in GROUPINGS:
        raise Problem(422, "validation_error", "Group by: choose one of the options.")
    if login.user.role == Role.ADMIN and not choice.clinic_id.isdigit():
        raise Problem(422, "validation_error", "Choose a clinic.")
    clinic_id = int(choice.clinic_id) if login.user.role == Role.ADMIN else None
    group_by: GroupBy | None = None
    if choice.group_by == "risk_group":
        group_by = "risk_group"
    elif choice.group_by == "clinician":
        group_by = "clinician"
    try:
        return clinic_outcomes(
            session,
            login.user,
            first=first,
            last=last,
            group_by=group_by,
            clinic_id=clinic_id,
            now=now,
            rules=settings.rules,
            via=via,
        )
    except Problem as problem:
        if problem.status == 422 and problem.errors:
            problem.detail = f"{problem.errors[0]['loc'][-1]}: {problem.errors[0]['msg']}."
        raise


def _choice(
    login: LoggedIn, session: Session, now: datetime, from_: str, to: str, group_by: str, clinic: str
) -> Choice:
    today = now.date()
    if login.user.role == Role.ADMIN and not clinic:
        first = session.exec(select(col(Clinic.id)).order_by(col(Clinic.id))).first()
        clinic = "" if first is None else str(first)
    return Choice(
        from_=from_ or (today - timedelta(days=DEFAULT_DAYS)).isoformat(),
        to=to or today.isoformat(),
        group_by=group_by,
        clinic_id=clinic if login.user.role == Role.ADMIN else "",
    )


@router.get("/outcomes")
def outcomes_page(
    login: AnyLogin,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    from_: Annotated[str, Query(alias="from", max_length=12)] = "",
    to: Text = "",
    group_by: Text = "",
    clinic_id: Text = "",
) -> Response:
    choice = _choice(login, session, now, from_, to, group_by, clinic_id)
    clinics = session.exec(select(Clinic.id, Clinic.name).order_by(col(Clinic.id))).all()
    context: dict[str, Any] = {
        "login": login,
        "choice": choice,
        "groupings": GROUPINGS,
        "clinics": clinics,
        "is_admin": login.user.role == Role.ADMIN,
        "bar": bar,
    }
    try:
        report = _report(login, session, choice, now, settings, "dashboard/outcomes")
    except Problem as problem:
        session.rollback()
        return render("outcomes.html", problem.status, report=None, error=problem.detail, **context)
    return render("outcomes.html", report=report, error=None, **context)


@router.get("/outcomes.csv")
def outcomes_download(
    login: AnyLogin,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    from_: Annotated[str, Query(alias="from", max_length=12)] = "",
    to: Text = "",
    group_by: Text = "",
    clinic_id: Text = "",
) -> Response:
    choice = _choice(login, session, now, from_, to, group_by, clinic_id)
    try:
        report = _report(login, session, choice, now, settings, "dashboard/outcomes.csv")
    except Problem as problem:
        session.rollback()
        return render("error.html", problem.status, login=login, title="No report", message=problem.detail)
    return Response(
        outcomes_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_filename(report)}"', "Cache-Control": "no-store"},
    )
