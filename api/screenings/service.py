"""Scoring and storing screenings, and what each result sets in motion.

The scores come from the rules core (``api.rules.screenings``); the raw answers, the
scores and the rule-set version are stored together. STarT Back assigns the plan for
the risk group and raises the medium/high routine alerts; a red-flag screening is
triaged by the escalation service and becomes the known-symptom baseline.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from api.activity import touch_activity
from api.audit import record_audit
from api.escalation.evaluation import evaluate_red_flag_screening, raise_start_back_alerts
from api.models import Instrument, Patient, Screening, User
from api.plans.assign import assign_plan_for_risk_group
from api.rules.screenings import display_percent, score_odi, score_start_back
from api.rules.settings import RuleSettings
from api.rules.version import RULESET_VERSION
from api.screenings.schemas import (
    OdiAnswers,
    OdiCreate,
    OdiResultPublic,
    RedFlagAnswers,
    RedFlagsCreate,
    RedFlagsResultPublic,
    ScreeningCreate,
    StartBackAnswers,
    StartBackCreate,
    StartBackResultPublic,
)


def _id(patient: Patient) -> int:
    assert patient.id is not None
    return patient.id


def _store(session: Session, screening: Screening) -> Screening:
    session.add(screening)
    session.flush()
    assert screening.id is not None
    return screening


def record_start_back(
    session: Session, patient: Patient, answers: StartBackAnswers, now: datetime, rules: RuleSettings
) -> StartBackResultPublic:
    result = score_start_back(answers.items_1_to_8(), answers.q9)
    screening = _store(
        session,
        Screening(
            patient_id=_id(patient),
            instrument=Instrument.START_BACK,
            answers=answers.model_dump(mode="json"),
            total=result.total,
            subscale=result.subscale,
            risk_group=result.risk_group,
            ruleset_version=result.ruleset_version,
            created_at=now,
        ),
    )
    patient.risk_group = result.risk_group
    patient.updated_at = now
    session.add(patient)
    session.flush()
    assign_plan_for_risk_group(session, patient, result.risk_group, now, screening_id=screening.id, rules=rules)
    alerts = raise_start_back_alerts(session, patient, result, now)
    assert screening.id is not None
    return StartBackResultPublic(
        id=screening.id,
        total=result.total,
        subscale=result.subscale,
        risk_group=result.risk_group,
        alert_ids=[a.id for a in alerts if a.id is not None],
        created_at=now,
    )


def record_red_flags(
    session: Session, patient: Patient, answers: RedFlagAnswers, now: datetime, rules: RuleSettings
) -> RedFlagsResultPublic:
    # Triage first: the screening is judged against the previous baseline, then becomes it.
    outcome = evaluate_red_flag_screening(session, patient, now, symptoms=answers.reported(), rules=rules)
    screening = _store(
        session,
        Screening(
            patient_id=_id(patient),
            instrument=Instrument.RED_FLAGS,
            answers=answers.model_dump(mode="json"),
            tier=outcome.tier,
            result={"symptoms": sorted(s.value for s in answers.reported()), "alert_ids": list(outcome.alert_ids)},
            ruleset_version=RULESET_VERSION,
            created_at=now,
        ),
    )
    assert screening.id is not None
    return RedFlagsResultPublic(
        id=screening.id, tier=outcome.tier, advice=outcome.advice, alert_ids=list(outcome.alert_ids), created_at=now
    )


def record_odi(
    session: Session, patient: Patient, answers: OdiAnswers, now: datetime, rules: RuleSettings
) -> OdiResultPublic:
    result = score_odi(answers.sections(), rules)
    screening = _store(
        session,
        Screening(
            patient_id=_id(patient),
            instrument=Instrument.ODI,
            answers=answers.model_dump(mode="json"),
            percent=result.percent,
            band=result.band,
            result={"answered": result.answered, "missing_sections": list(result.missing_sections)},
            ruleset_version=result.ruleset_version,
            created_at=now,
        ),
    )
    assert screening.id is not None
    shown = display_percent(result.percent)
    return OdiResultPublic(
        id=screening.id,
        percent=float(shown) if shown is not None else None,
        band=result.band,
        answered=result.answered,
        missing_sections=list(result.missing_sections),
        created_at=now,
    )


def record_screening(
    session: Session, user: User, patient: Patient, body: ScreeningCreate, now: datetime, rules: RuleSettings
) -> StartBackResultPublic | RedFlagsResultPublic | OdiResultPublic:
    """The screening use case (API and demo replay): score, act on the result, audit."""
    # The patient row first: every capture write locks it before alerts and the plan.
    touch_activity(session, patient, now)
    result: StartBackResultPublic | RedFlagsResultPublic | OdiResultPublic
    if isinstance(body, StartBackCreate):
        result = record_start_back(session, patient, body.answers, now, rules)
    elif isinstance(body, RedFlagsCreate):
        result = record_red_flags(session, patient, body.answers, now, rules)
    else:
        assert isinstance(body, OdiCreate)
        result = record_odi(session, patient, body.answers, now, rules)
    record_audit(
        session,
        at=now,
        action="create",
        resource=f"screening/{result.id}",
        actor=user,
        patient_id=patient.id,
        detail={"instrument": body.instrument},
    )
    return result
