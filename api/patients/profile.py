"""Profile updates (``PATCH /me``): partial, validated against the application clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from api.audit import record_audit
from api.errors import Problem
from api.models import Patient, User
from api.patients.schemas import PATIENT_FIELDS, MeUpdate
from api.reminders.service import reschedule_patient
from api.rules.settings import RuleSettings
from api.standing.service import invalidate

EARLIEST_EPISODE = date(1900, 1, 1)


def _errors(body: MeUpdate, patient: Patient | None, now: datetime) -> list[dict[str, Any]]:
    changes = body.patient_changes()
    errors: list[dict[str, Any]] = [
        {"loc": loc, "msg": "given both at the top level and in `patient`; give it once"}
        for name in body.given_twice()
        for loc in (["body", name], ["body", "patient", name])
    ]
    if patient is None:
        locs = sorted((loc for _value, loc in changes.values()), key=str)
        errors += [{"loc": loc, "msg": "only patients have this profile field"} for loc in locs]
        return errors
    timezone = changes.get("timezone", (None, []))[0]
    zone = ZoneInfo(timezone or patient.timezone)
    today = now.astimezone(zone).date()
    birth = changes.get("birth_year")
    if birth is not None and birth[0] is not None and birth[0] > today.year:
        errors.append({"loc": birth[1], "msg": "cannot be in the future"})
    started = changes.get("episode_started_on")
    if started is not None and started[0] is not None:
        birth_year = birth[0] if birth is not None else patient.birth_year
        if started[0] > today:
            errors.append({"loc": started[1], "msg": "cannot be in the future"})
        elif started[0] < EARLIEST_EPISODE or (birth_year is not None and started[0].year < birth_year):
            errors.append({"loc": started[1], "msg": "cannot be before the birth year"})
    return errors


def update_profile(
    session: Session, user: User, patient: Patient | None, body: MeUpdate, now: datetime, rules: RuleSettings
) -> list[str]:
    """Apply the given fields, audited; returns the names of the fields that changed (422 on bad input)."""
    errors = _errors(body, patient, now)
    if errors:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        raise Problem(422, "validation_error", f"invalid fields: {fields}", errors=errors)
    changed: list[str] = []
    given = body.model_fields_set
    if "display_name" in given and body.display_name != user.display_name:
        assert body.display_name is not None
        user.display_name = body.display_name
        session.add(user)
        changed.append("display_name")
    if patient is not None:
        for name, (value, _loc) in sorted(body.patient_changes().items()):
            if getattr(patient, name) != value:
                setattr(patient, name, value)
                changed.append(name)
        patient.last_activity_at = now
        if set(changed) & PATIENT_FIELDS:
            patient.updated_at = now
        session.add(patient)
    session.flush()
    if patient is not None and "timezone" in changed:
        assert patient.id is not None
        # Reminder instants are local times: a new zone moves every one of them.
        reschedule_patient(session, patient.id, now, rules)
        # So is the patient's "today" in the triage list: recomputed before it is next listed.
        invalidate(session, {patient.id})
    if changed:
        record_audit(
            session,
            at=now,
            action="update",
            resource="profile",
            actor=user,
            patient_id=patient.id if patient else None,
            detail={"fields": changed},
        )
    return changed
