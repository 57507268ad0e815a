from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlmodel import col, select

from api.admin.schemas import (
    AuditEventPublic,
    ClinicCreate,
    ClinicianCreate,
    ClinicianPublic,
    ClinicPublic,
    TestClockPublic,
    TestClockSet,
)
from api.admin.service import add_staff_user
from api.audit import record_audit
from api.deps import ClockDep, CurrentAdmin, NowDep, RowIdFilter, SessionDep, SettingsDep
from api.errors import Problem
from api.i18n import default_locale_of_country
from api.idempotency import IdempotencyDep
from api.models import AuditEvent, Clinic, Role
from api.pagination import Keyset
from api.schemas import Limit, Page, Rfc3339

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/clinics", status_code=status.HTTP_201_CREATED, response_model=ClinicPublic)
def create_clinic(
    body: ClinicCreate, admin: CurrentAdmin, session: SessionDep, now: NowDep, idempotency: IdempotencyDep
) -> ClinicPublic | Response:
    if (replay := idempotency.begin(body)) is not None:
        return replay
    locale = body.locale or default_locale_of_country(body.country)
    clinic = Clinic(name=body.name, country=body.country, default_locale=locale, created_at=now)
    session.add(clinic)
    session.flush()
    record_audit(session, at=now, action="create", resource=f"clinic/{clinic.id}", actor=admin)
    return idempotency.complete(201, ClinicPublic.model_validate(clinic))


@router.post(
    "/clinicians",
    status_code=status.HTTP_201_CREATED,
    response_model=ClinicianPublic,
    responses={409: {"description": "email_taken: an account with this e-mail exists"}},
)
def create_clinician(
    body: ClinicianCreate, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep, now: NowDep
) -> ClinicianPublic:
    user = add_staff_user(
        session,
        actor=admin,
        role=Role.CLINICIAN,
        email=str(body.email),
        password=body.password,
        display_name=body.display_name,
        clinic_id=body.clinic_id,
        now=now,
        settings=settings,
    )
    assert user.id is not None
    return ClinicianPublic(
        id=user.id, email=user.email, role=user.role, display_name=user.display_name, clinic_id=body.clinic_id
    )


@router.get("/audit", response_model=Page[AuditEventPublic])
def list_audit(
    admin: CurrentAdmin,
    session: SessionDep,
    patient_id: RowIdFilter = None,
    actor_id: RowIdFilter = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. read, export, resolve_alert")] = None,
    since: Annotated[Rfc3339 | None, Query(description="events at or after this instant (RFC 3339)")] = None,
    until: Annotated[Rfc3339 | None, Query(description="events before this instant (RFC 3339)")] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AuditEventPublic]:
    """Audit events, newest first, filtered by patient, actor, action and time range [since, until)."""
    keyset = Keyset(cursor, limit, id=int)
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(keyset.fetch)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.at) < until)
    if keyset.after is not None:
        query = query.where(col(AuditEvent.id) < keyset.after["id"])
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda r: {"id": r.id})
    items = [AuditEventPublic.model_validate(r) for r in rows]
    return Page[AuditEventPublic](items=items, next_cursor=next_cursor)


@router.put("/test-clock", response_model=TestClockPublic)
def set_test_clock(
    body: TestClockSet, admin: CurrentAdmin, session: SessionDep, clock: ClockDep, now: NowDep
) -> TestClockPublic:
    """Move the application clock (only where BACKSTEP_ALLOW_TEST_CLOCK=true)."""
    if not clock.test_clock_enabled:
        raise Problem(404, "test_clock_disabled", "the test clock is not enabled on this deployment")
    clock.set(body.now, admin.id, session)
    record_audit(
        session,
        at=now,
        action="set_test_clock",
        resource="test-clock",
        actor=admin,
        detail={"now": body.now.isoformat()},
    )
    return TestClockPublic(now=body.now, test_clock_enabled=True)
