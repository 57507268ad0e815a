"""Silence, medication review, persistent numbness, prolonged flare and STarT Back alerts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlmodel import Session, delete

from api.escalation.evaluation import raise_start_back_alerts
from api.jobs import JobContext, run_job
from api.models import Alert, Notification, NotificationKind, Plan, SweepZone
from api.rules.screenings import score_start_back
from api.rules.types import MedicationClass, RuleCode, Symptom
from tests.alerts.helpers import (
    alerts_of,
    at_local,
    count,
    day,
    evaluate,
    give_plan,
    notifications,
    put_log,
    put_logs,
    rules_raised,
    sweep,
)
from tests.factories import make_clinician, make_patient, patient_user

RELAXANT = [MedicationClass.MUSCLE_RELAXANT]


def test_silence_nudges_at_3_days_and_alerts_at_7_once_per_episode(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), [4] * 10)  # last log on day 10
    user_id = patient_user(session, patient).id

    sweep(app, at_local(day(12), 1))  # 2 days silent
    assert notifications(session, user_id=user_id, kind=NotificationKind.NUDGE) == []
    sweep(app, at_local(day(13), 1))  # 3 days
    [nudge] = notifications(session, user_id=user_id, kind=NotificationKind.NUDGE)
    assert not nudge.safety
    assert RuleCode.SILENT not in rules_raised(session, patient)
    sweep(app, at_local(day(16), 1))  # 6 days
    assert RuleCode.SILENT not in rules_raised(session, patient)
    sweep(app, at_local(day(17), 1))  # 7 days
    [alert] = alerts_of(session, patient, RuleCode.SILENT)
    assert alert.evidence["days_silent"] == 7 and alert.occurrence_key == f"silent-from:{day(11).isoformat()}"

    sweep(app, at_local(day(17), 9))  # the same day again: nothing due
    sweep(app, at_local(day(18), 1))  # the next day: the same episode
    assert len(notifications(session, user_id=user_id, kind=NotificationKind.NUDGE)) == 1
    assert len(alerts_of(session, patient, RuleCode.SILENT)) == 1


def test_a_new_log_starts_a_new_silence_episode(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), [4] * 3)
    sweep(app, at_local(day(6), 1))
    put_logs(session, patient, day(6), [4])
    sweep(app, at_local(day(9), 1))
    assert len(notifications(session, user_id=patient_user(session, patient).id, kind=NotificationKind.NUDGE)) == 2


def test_a_patient_who_never_logged_is_nudged_and_then_alerted(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    enrolled = patient.created_at.astimezone(at_local(day(1)).tzinfo).date()
    user_id = patient_user(session, patient).id
    sweep(app, at_local(enrolled + timedelta(days=2), 1))
    assert notifications(session, user_id=user_id, kind=NotificationKind.NUDGE) == []
    sweep(app, at_local(enrolled + timedelta(days=3), 1))
    assert len(notifications(session, user_id=user_id, kind=NotificationKind.NUDGE)) == 1
    sweep(app, at_local(enrolled + timedelta(days=7), 1))
    [alert] = alerts_of(session, patient, RuleCode.SILENT)
    assert alert.evidence["last_log_on"] is None
    sweep(app, at_local(enrolled + timedelta(days=8), 1))
    assert len(notifications(session, user_id=user_id, kind=NotificationKind.NUDGE)) == 1
    assert len(alerts_of(session, patient)) == 1


def test_a_sweep_run_twice_opens_nothing_new_and_sends_no_second_nudge(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patients = [make_patient(session, app, clinician) for _ in range(5)]
    for patient in patients:
        put_logs(session, patient, day(1), [6] * 13)
    first = sweep(app, at_local(day(21), 1), batch_size=2)
    assert first["escalation_patients"] == 5
    alerts, nudges = count(session, Alert), count(session, Notification)
    assert nudges == 5 and alerts == 10  # silent and no_improvement_2w for each
    again = sweep(app, at_local(day(21), 2), batch_size=2)
    assert again["escalation_zones"] == 0
    session.execute(delete(SweepZone))  # forget the zone's state: the per-patient stamps still hold
    session.commit()
    again = sweep(app, at_local(day(21), 3), batch_size=2)
    assert again["escalation_zones"] == 1 and again["escalation_patients"] == 0
    assert count(session, Alert) == alerts
    assert count(session, Notification) == nudges


def test_medication_review_over_21_of_28_days_and_not_at_21(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    heavy = make_patient(session, app, clinician)
    limit = make_patient(session, app, clinician)
    for patient, relaxant_days in ((heavy, 22), (limit, 21)):
        logs = [
            put_log(session, patient, day(n), 4, medications=RELAXANT if n > 28 - relaxant_days else ())
            for n in range(1, 29)
        ]
        session.commit()
        outcome = evaluate(session, patient, logs[-1:], at_local(day(28)))
        if patient is heavy:
            assert "talk to your prescriber" in outcome.advice
    [alert] = alerts_of(session, heavy, RuleCode.MEDICATION_REVIEW)
    assert alert.evidence["days_with_medication"] == 22
    assert RuleCode.MEDICATION_REVIEW not in rules_raised(session, limit)


def test_the_sweep_catches_medication_review_and_numbness_missed_by_the_write_path(
    app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    for n in range(1, 29):
        put_log(session, patient, day(n), 2, medications=RELAXANT, symptoms=[Symptom.ONE_LEG_NUMBNESS])
    session.commit()
    sweep(app, at_local(day(29), 1))
    assert {RuleCode.MEDICATION_REVIEW, RuleCode.PERSISTENT_NUMBNESS} <= rules_raised(session, patient)


def test_persistent_numbness_on_7_consecutive_logged_days_not_6_nor_broken(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    seven, six, broken = (make_patient(session, app, clinician) for _ in range(3))
    numb = [Symptom.ONE_LEG_NUMBNESS]
    for patient, pattern in ((seven, "NNNNNNN"), (six, "-NNNNNN"), (broken, "NNN-NNNN")):
        logs = [
            put_log(session, patient, day(n + 1), 3, symptoms=numb if mark == "N" else ())
            for n, mark in enumerate(pattern)
        ]
        session.commit()
        outcome = evaluate(session, patient, logs, at_local(day(len(pattern))))
        assert outcome.tier.value in ("routine", "none")
    [alert] = alerts_of(session, seven, RuleCode.PERSISTENT_NUMBNESS)
    assert alert.evidence["logged_days"] == 7 and alert.occurrence_key == f"numbness-from:{day(1).isoformat()}"
    assert rules_raised(session, six) == set()
    assert rules_raised(session, broken) == set()


def test_prolonged_flare_after_7_days_and_not_on_day_7(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    long_flare = make_patient(session, app, clinician)
    week_flare = make_patient(session, app, clinician)
    for patient in (long_flare, week_flare):
        put_logs(session, patient, day(1), [4] * 20)
        plan = give_plan(session, patient, at_local(day(1), 9))
        plan.status = "reduced"
        plan.flare_started_on = day(13) if patient is long_flare else day(14)
        plan.reduced_until = day(21)
        session.add(plan)
        session.commit()
    sweep(app, at_local(day(20), 1))  # long: day 8 of the flare; week: day 7
    [alert] = alerts_of(session, long_flare, RuleCode.PROLONGED_FLARE)
    assert alert.evidence["duration_days"] == 8
    assert RuleCode.PROLONGED_FLARE not in rules_raised(session, week_flare)
    sweep(app, at_local(day(21), 1))
    assert len(alerts_of(session, long_flare, RuleCode.PROLONGED_FLARE)) == 1
    assert RuleCode.PROLONGED_FLARE in rules_raised(session, week_flare)
    assert session.get(Plan, plan.id) is not None


def test_start_back_medium_and_high_raise_their_codes_and_low_raises_nothing(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    cases = {
        "low": ([True, True, True, False, False, False, False, False], "moderately", set()),
        "medium": ([True, True, True, True, False, False, False, False], "not_at_all", {RuleCode.START_BACK_MEDIUM}),
        "high": ([False, False, False, False, True, True, True, True], "not_at_all", {RuleCode.START_BACK_HIGH}),
    }
    for group, (items, item9, expected) in cases.items():
        patient = make_patient(session, app, clinician)
        result = score_start_back(items, item9)
        assert result.risk_group == group
        alerts = raise_start_back_alerts(session, patient, result, at_local(day(1), 10))
        session.commit()
        assert {a.rule for a in alerts} == expected
        assert rules_raised(session, patient) == expected
    assert notifications(session, user_id=clinician.id) == []


def test_the_sweep_job_runs_the_escalation_sweep(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), [4] * 5)
    context = JobContext(app.state.engine, app.state.settings, app.state.clock)
    result = run_job("sweep", context, at_local(day(13), 1))
    assert result["escalation_patients"] == 1 and result["escalation_alerts_opened"] == 1
    assert rules_raised(session, patient) == {RuleCode.SILENT}
