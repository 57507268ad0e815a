"""A clinician's patients: the triage list, one patient's summary and records.

Care team only (``PatientInCare``: anyone else's patient is a 404). Every read is an
audit event naming the patient; the triage list records one per patient shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import record_audit, record_audit_for_patients
from api.clinicians.schemas import PatientSummary, TriageRow
from api.clinicians.summary import patient_summary
from api.clinicians.triage import triage_page
from api.clinicians.unread import with_unread_messages
from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep, SettingsDep
from api.pain_logs.listing import pain_log_page
from api.pain_logs.schemas import PainLogPublic
from api.schemas import IsoDate, Limit, Page
from api.sessions.listing import session_page
from api.sessions.schemas import ExerciseSessionPublic

router = APIRouter(prefix="/clinician/patients", tags=["clinician"])

Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=Page[TriageRow])
def list_patients(
    clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TriageRow]:
    """The caller's care team, most urgent first.

    Order: highest unresolved alert tier; then pain classification (worsened, no
    meaningful improvement, insufficient data, then improved or minimal pain); then
    local days since the last log, longest first; then patient id.
    """
    assert clinician.id is not None
    page = triage_page(session, clinician.id, now, settings.rules, limit=limit, cursor=cursor)
    record_audit_for_patients(
        session,
        at=now,
        action="list_patients",
        resource="triage_list",
        actor=clinician,
        patient_ids=[row.patient_id for row in page.rows],
    )
    return Page[TriageRow](items=with_unread_messages(session, page.rows), next_cursor=page.next_cursor)


@router.get("/{patient_id}", response_model=PatientSummary)
def get_patient(
    patient: PatientInCare, clinician: CurrentClinician, session: SessionDep, settings: SettingsDep, now: NowDep
) -> PatientSummary:
    """Profile facts, progress with the daily pain series, sessions, weekly adherence,
    the plan and its recent history, unresolved alerts and screenings."""
    summary = patient_summary(session, patient, now, settings.rules)
    record_audit(
        session,
        at=now,
        action="read",
        resource=f"patient/{patient.id}",
        actor=clinician,
        patient_id=patient.id,
        detail={"view": "summary", "alert_ids": [a.id for a in summary.open_alerts]},
    )
    return summary


@router.get("/{patient_id}/pain-logs", response_model=Page[PainLogPublic])
def list_patient_pain_logs(
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    from_: Annotated[IsoDate | None, Query(alias="from", description="first local date (inclusive)")] = None,
    to: Annotated[IsoDate | None, Query(description="last local date (inclusive)")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[PainLogPublic]:
    """The patient's pain logs by local date, newest first (the same list the patient's app reads)."""
    page = pain_log_page(session, patient, from_, to, limit, cursor)
    record_audit(
        session,
        at=now,
        action="read",
        resource="pain_log",
        actor=clinician,
        patient_id=patient.id,
        detail={"count": len(page.items)},
    )
    return page


@router.get("/{patient_id}/exercise-sessions", response_model=Page[ExerciseSessionPublic])
def list_patient_sessions(
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ExerciseSessionPublic]:
    """The patient's exercise sessions, most recently performed first."""
    page = session_page(session, patient, limit, cursor)
    record_audit(
        session,
        at=now,
        action="read",
        resource="exercise_session",
        actor=clinician,
        patient_id=patient.id,
        detail={"count": len(page.items)},
    )
    return page
