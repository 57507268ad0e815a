"""The admins' dashboard page: the unassigned-patients queue and the assign form.

The same services as the API (``api.care_team.unassigned``, ``api.care_team.service``),
audited the same way. Admins see each patient's unresolved alerts (rule and tier, not
the evidence) and hand the patient to an active clinician of the patient's clinic, or
of any clinic when the patient has none.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from api.audit import record_audit_for_patients
from api.care_team.service import assign_clinician
from api.care_team.unassigned import active_clinicians_by_clinic, unassigned_page
from api.dashboard.access import AdminLogin, CheckedAdminLogin, PageNotFound
from api.dashboard.pages import render
from api.deps import NowDep, RowIdPath, SessionDep
from api.errors import Problem
from api.models import Clinic, Patient

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 50


def _queue(
    login: AdminLogin,
    session: SessionDep,
    now: NowDep,
    cursor: str | None,
    *,
    done: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    try:
        page = unassigned_page(session, limit=PAGE_SIZE, cursor=cursor)
    except Problem:  # a tampered cursor: start again from the top
        return RedirectResponse("/dashboard/unassigned", status_code=303)
    record_audit_for_patients(
        session,
        at=now,
        action="list_unassigned",
        resource="dashboard/unassigned",
        actor=login.user,
        patient_ids=[row.patient_id for row in page.rows],
    )
    clinics = dict(session.exec(select(Clinic.id, Clinic.name)).all())
    clinicians = [
        {"id": i, "name": name, "clinic_id": clinic, "clinic": clinics.get(clinic, "")}
        for i, name, clinic in active_clinicians_by_clinic(session)
    ]
    return render(
        "unassigned.html",
        status,
        login=login,
        rows=page.rows,
        next_cursor=page.next_cursor,
        first_page=not cursor,
        clinicians=clinicians,
        clinics=clinics,
        done=done,
        error=error,
    )


@router.get("/unassigned")
def unassigned(
    login: AdminLogin,
    session: SessionDep,
    now: NowDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    assigned: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    done = "Physiotherapist assigned: they have been sent the patient's open urgent alerts." if assigned else None
    return _queue(login, session, now, cursor, done=done)


@router.post("/unassigned/{patient_id}/assign")
def assign(
    login: CheckedAdminLogin,
    patient_id: RowIdPath,
    session: SessionDep,
    now: NowDep,
    clinician_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PageNotFound
    if not clinician_id.strip().isdigit():
        return _queue(login, session, now, None, error="Choose a physiotherapist to assign.", status=422)
    try:
        assign_clinician(session, login.user, patient, int(clinician_id), now)
    except Problem as problem:
        session.rollback()  # nothing of the refused assignment stays
        reason = "; ".join(str(e["msg"]) for e in problem.errors or []) or problem.detail
        return _queue(login, session, now, None, error=f"Not assigned: {reason}.", status=problem.status)
    return RedirectResponse("/dashboard/unassigned?assigned=1", status_code=303)
