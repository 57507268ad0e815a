"""Dashboard pages and actions: the triage list, the patient page, alert and plan forms, exports.

Reads reuse the API's services (triage list, patient summary, exports) and are audited
the same way; actions call the alerts lifecycle and the plans override, so a change
made here is exactly the change the API would make. Each action redirects back to the
patient page (post/redirect/get); a refused action shows the page again with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from api.alerts.lifecycle import acknowledge_alert, resolve_alert
from api.audit import record_audit, record_audit_for_patients
from api.clinicians.invites import new_invite, shown_code
from api.clinicians.triage import triage_page
from api.clinicians.unread import with_unread_messages
from api.dashboard import auth_routes, outcomes, queue
from api.dashboard.access import (
    ADMIN_HOME,
    LOGIN,
    AdminElsewhere,
    CheckedLogin,
    CsrfRejected,
    DashboardPatient,
    Login,
    LoginRequired,
    PageNotFound,
)
from api.dashboard.headers import DashboardHeadersMiddleware
from api.dashboard.pages import STATIC, render
from api.dashboard.sessions import COOKIE, clear_cookie
from api.dashboard.views import patient_page
from api.deps import NowDep, RowIdPath, SessionDep, SettingsDep
from api.errors import Problem
from api.exports.download import download
from api.exports.service import export_csv, export_fhir
from api.messages.schemas import MessageCreate
from api.messages.service import mark_read, send_message
from api.models import Alert, Invite, Patient
from api.plans.overrides import override_plan
from api.plans.schemas import PlanOverride

router = APIRouter(prefix="/dashboard", include_in_schema=False)

AlertId = RowIdPath
Note = Annotated[str, Form(max_length=2000)]

# Messages after a successful action, by a fixed code in the redirect (never user text).
DONE = {
    "acknowledged": "Alert acknowledged.",
    "resolved": "Alert resolved.",
    "plan": "Plan updated. The patient sees the change and your reason in their plan history.",
    "message": "Message sent. The patient is told there is a new message (never its text).",
}


@router.get("/patients")
def patients(
    login: Login,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    return _patients_page(login, session, settings, now, cursor)


@router.post("/invites")
def invite(login: CheckedLogin, session: SessionDep, settings: SettingsDep, now: NowDep) -> Response:
    """A new invite code, shown once above the list (the patient types it in the app)."""
    try:
        created = new_invite(session, login.user, now, settings)
    except Problem as problem:
        return render("error.html", problem.status, login=login, title="No invite code", message=problem.detail)
    return _patients_page(login, session, settings, now, None, invite=created)


def _patients_page(
    login: Login,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    cursor: str | None,
    invite: Invite | None = None,
) -> Response:
    assert login.user.id is not None
    try:
        page = triage_page(session, login.user.id, now, settings.rules, limit=50, cursor=cursor)
    except Problem:  # a tampered cursor: start again from the top
        return RedirectResponse("/dashboard/patients", status_code=303)
    record_audit_for_patients(
        session,
        at=now,
        action="list_patients",
        resource="dashboard/patients",
        actor=login.user,
        patient_ids=[row.patient_id for row in page.rows],
    )
    shown = {"code": shown_code(invite), "expires_at": invite.expires_at} if invite is not None else None
    return render(
        "patients.html",
        login=login,
        rows=with_unread_messages(session, page.rows),
        next_cursor=page.next_cursor,
        first_page=not cursor,
        invite=shown,
    )


def _patient_response(
    login: Login,
    patient: Patient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    *,
    done: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    view = patient_page(session, patient, now, settings.rules)
    record_audit(
        session,
        at=now,
        action="read",
        resource=f"dashboard/patient/{patient.id}",
        actor=login.user,
        patient_id=patient.id,
        detail={
            "view": "patient_page",
            "alert_ids": [a.id for a in view.summary.open_alerts],
            "message_ids": [m.id for m in view.messages],
        },
    )
    # The page shows the conversation: the patient's messages on it are read (they still
    # show as new on this rendering).
    unread = [m.id for m in view.messages if m.author_role == "patient" and m.read_at is None]
    if unread:
        mark_read(session, login.user, patient, max(unread), now)
    return render("patient.html", status, login=login, view=view, done=DONE.get(done or ""), error=error)


@router.get("/patients/{patient_id}")
def patient(
    login: Login,
    patient: DashboardPatient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _patient_response(login, patient, session, settings, now, done=done)


def _refused(
    problem: Problem, login: Login, patient: Patient, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    session.rollback()  # nothing of the refused action stays
    return _patient_response(login, patient, session, settings, now, error=problem.detail, status=problem.status)


def _alert_of(session: SessionDep, patient: Patient, alert_id: int) -> None:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.patient_id != patient.id:
        raise PageNotFound


def _back(patient: Patient, done: str) -> RedirectResponse:
    return RedirectResponse(f"/dashboard/patients/{patient.id}?done={done}#alerts", status_code=303)


@router.post("/patients/{patient_id}/alerts/{alert_id}/acknowledge")
def acknowledge(
    login: CheckedLogin,
    patient: DashboardPatient,
    alert_id: AlertId,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    note: Note = "",
) -> Response:
    _alert_of(session, patient, alert_id)
    try:
        acknowledge_alert(session, login.user, alert_id, note.strip() or None, now)
    except Problem as problem:
        return _refused(problem, login, patient, session, settings, now)
    return _back(patient, "acknowledged")


@router.post("/patients/{patient_id}/alerts/{alert_id}/resolve")
def resolve(
    login: CheckedLogin,
    patient: DashboardPatient,
    alert_id: AlertId,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    note: Note = "",
) -> Response:
    _alert_of(session, patient, alert_id)
    if not note.strip():
        refused = Problem(422, "validation_error", "To resolve an alert, write a note saying what was done.")
        return _refused(refused, login, patient, session, settings, now)
    try:
        resolve_alert(session, login.user, alert_id, note.strip(), now)
    except Problem as problem:
        return _refused(problem, login, patient, session, settings, now)
    return _back(patient, "resolved")


@router.post("/patients/{patient_id}/plan")
def change_plan(
    login: CheckedLogin,
    patient: DashboardPatient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    level: Annotated[str, Form(max_length=3)] = "",
    template_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    fields: dict[str, object] = {"action": action, "reason": reason}
    if action in ("set_level", "assign_template") and level.strip():
        if not level.strip().isdigit():
            return _refused(
                Problem(422, detail="The level must be a whole number."), login, patient, session, settings, now
            )
        fields["level"] = int(level)
    if action == "assign_template":
        fields["template_id"] = template_id
    try:
        body = PlanOverride.model_validate(fields)
    except ValidationError as invalid:
        names = ", ".join(str(e["loc"][0]) for e in invalid.errors())
        problem = Problem(422, detail=f"Please check: {names}. A reason is always required.")
        return _refused(problem, login, patient, session, settings, now)
    try:
        override_plan(session, login.user, patient, body, now, settings)
    except Problem as problem:
        return _refused(problem, login, patient, session, settings, now)
    return RedirectResponse(f"/dashboard/patients/{patient.id}?done=plan#plan", status_code=303)


@router.post("/patients/{patient_id}/messages")
def reply(
    login: CheckedLogin,
    patient: DashboardPatient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    body: Annotated[str, Form(max_length=4000)] = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A message to the patient, through the same service as the API (audited there)."""
    try:
        message = MessageCreate.model_validate({"body": body, "client_id": client_id})
    except ValidationError as invalid:
        fields = {str(e["loc"][0]) for e in invalid.errors()}
        why = "Write a message first." if "body" in fields else "This form has expired: reload the page."
        return _refused(Problem(422, detail=why), login, patient, session, settings, now)
    try:
        send_message(session, login.user, patient, message, now, settings.rules)
    except Problem as problem:
        return _refused(problem, login, patient, session, settings, now)
    return RedirectResponse(f"/dashboard/patients/{patient.id}?done=message#messages", status_code=303)


@router.get("/patients/{patient_id}/export.csv")
def download_csv(login: Login, patient: DashboardPatient, session: SessionDep, now: NowDep) -> Response:
    return download(export_csv(session, patient, login.user, now))


@router.get("/patients/{patient_id}/export.fhir")
def download_fhir(login: Login, patient: DashboardPatient, session: SessionDep, now: NowDep) -> Response:
    return download(export_fhir(session, patient, login.user, now))


def install_dashboard(app: FastAPI) -> None:
    """Mount the dashboard: pages, static files, security headers and its error pages."""
    app.include_router(auth_routes.router)
    app.include_router(router)
    app.include_router(queue.router)  # the admins' unassigned-patients queue
    app.include_router(outcomes.router)  # clinicians' and admins' outcomes report
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.add_middleware(DashboardHeadersMiddleware)

    async def login_required(request: Request, exc: Exception) -> Response:
        response = RedirectResponse(LOGIN, status_code=303)
        clear_cookie(response, COOKIE, request.app.state.settings)
        return response

    async def csrf_rejected(_request: Request, _exc: Exception) -> Response:
        return render(
            "error.html", 403, title="This form has expired", message="Please go back, reload the page and try again."
        )

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return render(
            "error.html", 404, title="Not found", message="There is no such patient or alert in your care team."
        )

    async def admin_elsewhere(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse(ADMIN_HOME, status_code=303)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(AdminElsewhere, admin_elsewhere)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(PageNotFound, not_found)
