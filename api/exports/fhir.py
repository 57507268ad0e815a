"""A patient's record as a FHIR R4B ``collection`` Bundle, built with ``fhir.resources.R4B``.

Coding choices (README "Clinician dashboard"):

- Patient: an id, the display name and, if known, the birth year (``birthDate`` with year
  precision). No contact details, no exact birth date: the least that identifies the record.
- Back pain: Observation coded LOINC 72514-3 "Pain severity - 0-10 verbal numeric rating
  [Score] - Reported", ``valueInteger`` 0-10, ``bodySite`` SNOMED CT 77568009 (back).
- Leg pain: its own Observation with the same LOINC code (it *is* a 0-10 pain severity
  rating) and ``bodySite`` SNOMED CT 61685007 (lower limb), plus a local code
  ``leg-pain`` so a receiver that ignores ``bodySite`` still cannot mix the two up.
- ``effectiveDateTime``: when the log was recorded, with the patient's UTC offset, if it was
  recorded on its own day; a back-dated log is given noon of its day (a daily rating has no
  clock time). ``issued`` is always the recording instant.
- QuestionnaireResponse per screening: the raw answers and the scores as items.
- CarePlan for the plan: one activity per prescribed exercise, its dose as the dashboard
  writes it (``api.exercises.dose.dose_text``), and the walking target.
- Flag per unresolved alert, coded with the rule code, its tier as a category.

Every resource has a stable ``urn:uuid`` (UUID 5 of its kind and id), so two exports of
the same record reference the same things. ``api.exports.checks`` then checks the codes,
ranges and references the library cannot (it validates structure only).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from api.clinicians.words import RULE_WORDS, TIER_WORDS, rule_words
from api.exercises.dose import dose_text
from api.exports.record import PatientRecord
from api.models import Alert, PainLog, Screening
from exercise_library import get_library

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
LOCAL = "https://backstep.app/fhir"
PAIN_SEVERITY = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
BACK = {"system": SNOMED, "code": "77568009", "display": "Back structure, excluding neck"}
LOWER_LIMB = {"system": SNOMED, "code": "61685007", "display": "Lower limb structure"}
OBSERVATION_CODES = f"{LOCAL}/CodeSystem/observation"
ALERT_RULES = f"{LOCAL}/CodeSystem/alert-rule"
TRIAGE_TIERS = f"{LOCAL}/CodeSystem/triage-tier"
EXERCISES = f"{LOCAL}/CodeSystem/exercise"
SURVEY = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}
CLINICAL_FLAG = {"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical"}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, LOCAL)
_CAREPLAN_STATUS = {"active": "active", "reduced": "active", "paused": "on-hold", "completed": "completed"}
_ACTIVITY_STATUS = {"active": "in-progress", "reduced": "in-progress", "paused": "on-hold", "completed": "completed"}


def full_url(kind: str, key: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def _resource_id(url: str) -> str:
    return url.removeprefix("urn:uuid:")


def _effective(record: PatientRecord, log: PainLog) -> str:
    recorded = record.local(log.created_at).replace(microsecond=0)
    if recorded.date() == log.log_date:
        return recorded.isoformat()
    return datetime.combine(log.log_date, time(12), record.zone).isoformat()


def _pain(record: PatientRecord, subject: str, log: PainLog, leg: bool) -> tuple[str, Observation]:
    url = full_url("observation", f"{log.id}/{'leg' if leg else 'back'}")
    local = {"system": OBSERVATION_CODES, "code": "leg-pain" if leg else "back-pain"}
    local["display"] = "Leg pain, 0-10 numeric rating" if leg else "Back pain, 0-10 numeric rating"
    value = log.leg_pain if leg else log.back_pain
    return url, Observation(
        id=_resource_id(url),
        status="final",
        category=[{"coding": [SURVEY]}],
        code={"coding": [PAIN_SEVERITY, local], "text": local["display"]},
        subject={"reference": subject},
        effectiveDateTime=_effective(record, log),
        issued=record.local(log.created_at).isoformat(),
        valueInteger=value,
        bodySite={"coding": [LOWER_LIMB if leg else BACK]},
    )


def _answer(instrument: str, name: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    return [{"valueCoding": {"system": f"{LOCAL}/CodeSystem/{instrument}-{name}", "code": str(value)}}]


def _scores(screening: Screening) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for name in ("total", "subscale"):
        value = getattr(screening, name)
        if value is not None:
            items.append({"linkId": f"score-{name}", "text": f"score: {name}", "answer": [{"valueInteger": value}]})
    if screening.percent is not None:
        items.append(
            {"linkId": "score-percent", "text": "score: percent", "answer": [{"valueDecimal": screening.percent}]}
        )
    for name in ("risk_group", "tier", "band"):
        value = getattr(screening, name)
        if value is not None:
            coding = {"system": f"{LOCAL}/CodeSystem/{screening.instrument}-{name}", "code": value}
            items.append({"linkId": f"score-{name}", "text": f"score: {name}", "answer": [{"valueCoding": coding}]})
    return items


def _questionnaire(record: PatientRecord, subject: str, screening: Screening) -> tuple[str, QuestionnaireResponse]:
    url = full_url("questionnaire-response", screening.id)
    answers = [
        {"linkId": name, "answer": _answer(screening.instrument, name, value)}
        if value is not None
        else {"linkId": name}
        for name, value in sorted(screening.answers.items())
    ]
    return url, QuestionnaireResponse(
        id=_resource_id(url),
        questionnaire=f"{LOCAL}/Questionnaire/{screening.instrument}",
        status="completed",
        subject={"reference": subject},
        authored=record.local(screening.created_at).isoformat(),
        item=[*answers, *_scores(screening)],
    )


def _care_plan(record: PatientRecord, subject: str) -> tuple[str, CarePlan] | None:
    plan = record.plan
    if plan is None:
        return None
    library = get_library()
    template = library.template(plan.template_id)
    url = full_url("care-plan", plan.id)
    status = _ACTIVITY_STATUS[plan.status]
    weekly = {"repeat": {"frequency": plan.sessions_per_week, "period": 1, "periodUnit": "wk"}}
    activities: list[dict[str, Any]] = []
    for item in library.prescription(plan.template_id, plan.level):
        coding = {"system": EXERCISES, "code": item.exercise_id, "display": item.name}
        detail = {"code": {"coding": [coding], "text": item.name}, "status": status, "description": dose_text(item)}
        activities.append({"detail": {**detail, "scheduledTiming": weekly}})
    if plan.walking_minutes_target:
        walking = {"system": EXERCISES, "code": "daily-walk", "display": "Daily walk"}
        description = f"walk {round(plan.walking_minutes_target)} minutes a day"
        daily = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
        activities.append(
            {
                "detail": {
                    "code": {"coding": [walking]},
                    "status": status,
                    "description": description,
                    "scheduledTiming": daily,
                }
            }
        )
    return url, CarePlan(
        id=_resource_id(url),
        status=_CAREPLAN_STATUS[plan.status],
        intent="plan",
        title=f"{template.name}, level {plan.level} of {len(template.levels)}",
        subject={"reference": subject},
        period={"start": plan.started_on.isoformat()},
        activity=activities,
    )


def _flag(record: PatientRecord, subject: str, alert: Alert) -> tuple[str, Flag]:
    url = full_url("flag", alert.id)
    coding = {"system": ALERT_RULES, "code": alert.rule, "display": RULE_WORDS.get(alert.rule, alert.rule)}
    tier = {"system": TRIAGE_TIERS, "code": alert.tier, "display": TIER_WORDS.get(alert.tier, alert.tier)}
    return url, Flag(
        id=_resource_id(url),
        status="active",
        category=[{"coding": [CLINICAL_FLAG]}, {"coding": [tier]}],
        code={"coding": [coding], "text": rule_words(alert.rule)},
        subject={"reference": subject},
        period={"start": record.local(alert.opened_at).isoformat()},
    )


def build_bundle(record: PatientRecord, now: datetime) -> Bundle:
    patient = record.patient
    subject = full_url("patient", patient.id)
    person: dict[str, Any] = {"id": _resource_id(subject), "name": [{"text": record.display_name}]}
    if patient.birth_year is not None:
        person["birthDate"] = f"{patient.birth_year:04d}"  # year precision
    entries: list[tuple[str, Any]] = [(subject, FhirPatient(**person))]
    for log in record.logs:
        entries.append(_pain(record, subject, log, leg=False))
        if log.leg_pain is not None:
            entries.append(_pain(record, subject, log, leg=True))
    entries.extend(_questionnaire(record, subject, s) for s in record.screenings)
    care_plan = _care_plan(record, subject)
    if care_plan is not None:
        entries.append(care_plan)
    entries.extend(_flag(record, subject, a) for a in record.open_alerts)
    return Bundle(
        id=_resource_id(full_url("bundle", f"{patient.id}/{now.isoformat()}")),
        type="collection",
        timestamp=record.local(now).isoformat(),
        entry=[{"fullUrl": url, "resource": resource} for url, resource in entries],
    )
