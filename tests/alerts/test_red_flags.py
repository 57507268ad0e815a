"""Red-flag triage on pain logs and screenings: each code by its trigger, not by its neighbours."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import Session, select

from api.models import AlertStatus, NotificationKind, Plan, PlanStatus
from api.rules.types import RuleCode, Symptom, Tier
from tests.alerts.helpers import (
    alerts_of,
    at_local,
    day,
    give_plan,
    notifications,
    report,
    rules_raised,
    screen_red_flags,
)
from tests.factories import make_clinician, make_patient, patient_user


def test_emergency_log_opens_alert_pauses_plan_and_tells_everyone_at_once(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    give_plan(session, patient, at_local(day(1), 9))
    outcome = report(session, patient, day(3), Symptom.BLADDER_CHANGE)

    assert outcome.tier is Tier.EMERGENCY
    assert "999" in outcome.advice
    assert outcome.pauses_plan
    [alert] = alerts_of(session, patient)
    assert (alert.rule, alert.tier, alert.status) == (RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY, AlertStatus.OPEN)
    assert outcome.alert_ids == (alert.id,)
    assert alert.evidence["triggers"] == ["bladder_change"]
    assert alert.evidence["on"] == day(3).isoformat()
    plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
    assert plan.status == PlanStatus.PAUSED
    [to_clinician] = notifications(session, user_id=clinician.id, kind=NotificationKind.CARE_TEAM_ALERT)
    assert to_clinician.safety and to_clinician.alert_id == alert.id
    [to_patient] = notifications(session, user_id=patient_user(session, patient).id, kind=NotificationKind.SAFETY)
    assert to_patient.safety and to_patient.body == outcome.advice
    assert alert.last_notified_at is not None and alert.notify_count == 1


def test_one_leg_weakness_is_urgent_same_day_not_emergency(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    outcome = report(session, patient, day(2), Symptom.ONE_LEG_WEAKNESS)
    assert outcome.tier is Tier.URGENT_SAME_DAY
    assert rules_raised(session, patient) == {RuleCode.RED_FLAG_URGENT_SAME_DAY}


def test_cancer_history_turns_one_leg_weakness_into_an_emergency(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app), cancer_history=True)
    outcome = report(session, patient, day(2), Symptom.ONE_LEG_WEAKNESS)
    assert outcome.tier is Tier.EMERGENCY
    # the rules keep one alert per code fired, so resolving one never hides the other
    assert rules_raised(session, patient) == {RuleCode.RED_FLAG_EMERGENCY, RuleCode.RED_FLAG_URGENT_SAME_DAY}
    [emergency] = alerts_of(session, patient, RuleCode.RED_FLAG_EMERGENCY)
    assert emergency.evidence["triggers"] == ["cancer_history+one_leg_weakness"]


def test_one_leg_numbness_or_thoracic_pain_alone_raise_nothing(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    outcome = report(session, patient, day(2), Symptom.ONE_LEG_NUMBNESS, Symptom.THORACIC_PAIN)
    assert outcome.tier is Tier.NONE
    assert outcome.alert_ids == ()
    assert not outcome.pauses_plan
    assert alerts_of(session, patient) == []


def test_minor_trauma_with_osteoporosis_is_urgent_within_days(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, birth_year=1954, osteoporosis_or_steroids=True)
    give_plan(session, patient, at_local(day(1), 9))
    outcome = report(session, patient, day(2), Symptom.MINOR_TRAUMA)
    assert outcome.tier is Tier.URGENT_DAYS
    assert not outcome.pauses_plan
    assert rules_raised(session, patient) == {RuleCode.RED_FLAG_URGENT_DAYS}
    plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
    assert plan.status != PlanStatus.PAUSED
    [message] = notifications(session, user_id=clinician.id)
    assert not message.safety  # within days: told at once, but not pushed through the night


def test_minor_trauma_without_osteoporosis_raises_nothing(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app), birth_year=1954)
    assert report(session, patient, day(2), Symptom.MINOR_TRAUMA).tier is Tier.NONE
    assert alerts_of(session, patient) == []


def test_a_symptom_known_from_the_latest_screening_is_a_routine_known_symptom(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    give_plan(session, patient, at_local(day(1), 9))
    screened = screen_red_flags(session, patient, at_local(day(1), 10), Symptom.FEVER)
    assert screened.tier is Tier.URGENT_SAME_DAY  # a screening is never "known" to itself
    urgent = alerts_of(session, patient, RuleCode.RED_FLAG_URGENT_SAME_DAY)[0]
    before = len(notifications(session, user_id=clinician.id))

    outcome = report(session, patient, day(3), Symptom.FEVER)

    assert outcome.tier is Tier.ROUTINE
    [known] = alerts_of(session, patient, RuleCode.KNOWN_SYMPTOM)
    assert known.tier == Tier.ROUTINE
    assert known.evidence["known_symptoms"] == ["fever"]
    assert known.evidence["own_tiers"] == {"fever": "urgent_same_day"}
    assert outcome.alert_ids == (known.id,)
    # the urgent alert got no new occurrence, and routine alerts send no message
    assert alerts_of(session, patient, RuleCode.RED_FLAG_URGENT_SAME_DAY)[0].evidence == urgent.evidence
    assert len(notifications(session, user_id=clinician.id)) == before


def test_a_new_symptom_beside_a_known_one_keeps_its_own_tier(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    screen_red_flags(session, patient, at_local(day(1), 10), Symptom.NIGHT_PAIN)
    outcome = report(session, patient, day(2), Symptom.NIGHT_PAIN, Symptom.SADDLE_NUMBNESS)
    assert outcome.tier is Tier.EMERGENCY
    assert {RuleCode.KNOWN_SYMPTOM, RuleCode.RED_FLAG_EMERGENCY} <= rules_raised(session, patient)


def test_a_symptom_absent_from_the_latest_screening_is_new(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    screen_red_flags(session, patient, at_local(day(1), 10), Symptom.FEVER)
    screen_red_flags(session, patient, at_local(day(2), 10))  # the latest screening: nothing reported
    assert report(session, patient, day(3), Symptom.FEVER).tier is Tier.URGENT_SAME_DAY


def test_a_repeated_screening_judges_against_the_previous_one(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    assert screen_red_flags(session, patient, at_local(day(1), 10), Symptom.FEVER).tier is Tier.URGENT_SAME_DAY
    again = screen_red_flags(session, patient, at_local(day(9), 10), Symptom.FEVER)
    assert again.tier is Tier.ROUTINE
    assert RuleCode.KNOWN_SYMPTOM in rules_raised(session, patient)


def test_screening_with_an_emergency_pauses_the_plan(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    give_plan(session, patient, at_local(day(1), 9))
    outcome = screen_red_flags(session, patient, at_local(day(2), 10), Symptom.BOTH_LEGS_SYMPTOMS)
    assert outcome.tier is Tier.EMERGENCY and outcome.pauses_plan
    assert session.exec(select(Plan).where(Plan.patient_id == patient.id)).one().status == PlanStatus.PAUSED


def test_every_symptom_at_once_fits_the_occurrence_keys(app: FastAPI, session: Session) -> None:
    patient = make_patient(
        session, app, make_clinician(session, app), cancer_history=True, osteoporosis_or_steroids=True
    )
    everything = tuple(Symptom)
    first = report(session, patient, day(2), *everything)
    assert first.tier is Tier.EMERGENCY
    screen_red_flags(session, patient, at_local(day(3), 9), *everything)
    known = report(session, patient, day(4), *everything)
    assert known.tier is Tier.ROUTINE
    [alert] = alerts_of(session, patient, RuleCode.KNOWN_SYMPTOM)
    assert len(alert.occurrence_key) <= 120 and alert.occurrence_key.startswith("known:")
    again = report(session, patient, day(4), *everything, back_pain=7)  # same occurrence: deduplicated
    assert again.alert_ids == known.alert_ids
    assert len(alerts_of(session, patient, RuleCode.KNOWN_SYMPTOM)) == 1
