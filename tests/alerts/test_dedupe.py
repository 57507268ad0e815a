"""One unresolved alert per patient and rule, whatever retries, batches or concurrent writers do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from sqlmodel import Session, select

from api.alerts.lifecycle import acknowledge_alert, resolve_alert
from api.alerts.service import raise_alert
from api.db import session_scope
from api.escalation.evaluation import evaluate_pain_logs
from api.models import Alert, AlertStatus, AuditEvent, NotificationKind, PainLog, Patient, User
from api.rules.settings import DEFAULT_RULES
from api.rules.types import AlertSpec, RuleCode, Symptom, Tier
from tests.alerts.helpers import (
    alerts_of,
    at_local,
    count,
    day,
    engine_of,
    evaluate,
    give_plan,
    notifications,
    put_log,
    report,
)
from tests.factories import make_clinician, make_patient, patient_user


def test_the_same_log_evaluated_twice_opens_one_alert_and_sends_each_message_once(
    app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    first = report(session, patient, day(2), Symptom.SADDLE_NUMBNESS)
    again = report(session, patient, day(2), Symptom.SADDLE_NUMBNESS, back_pain=5)  # an edit, same symptom
    assert first.alert_ids == again.alert_ids
    assert len(alerts_of(session, patient)) == 1
    assert len(notifications(session, user_id=clinician.id)) == 1
    assert len(notifications(session, user_id=patient_user(session, patient).id, kind=NotificationKind.SAFETY)) == 1


def test_a_synced_week_of_the_same_red_flag_opens_one_alert_with_its_occurrences(
    app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    logs = [put_log(session, patient, day(n), 4, symptoms=[Symptom.FEVER]) for n in (3, 4, 5)]
    outcome = evaluate(session, patient, logs, at_local(day(6)))
    [alert] = alerts_of(session, patient)
    assert outcome.alert_ids == (alert.id,)
    assert alert.occurrence_key == f"{day(3).isoformat()}:fever"
    assert [r["key"] for r in alert.evidence["recurrences"]] == [f"{day(n).isoformat()}:fever" for n in (4, 5)]
    assert len(notifications(session, user_id=clinician.id)) == 1


def test_a_resolved_occurrence_is_not_raised_again_by_re_evaluating_the_same_data(
    app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    assert patient.id is not None
    spec = AlertSpec(RuleCode.PERSISTENT_NUMBNESS, Tier.ROUTINE, {"logged_days": 7}, key="numbness-from:2026-01-06")
    alert = raise_alert(session, patient.id, spec, at_local(day(8)))
    session.commit()
    assert alert is not None and alert.id is not None
    resolve_alert(session, clinician, alert.id, "reviewed: stable sciatica", at_local(day(8), 22))
    session.commit()

    # the sweep looking at the same run again the next day raises nothing
    assert raise_alert(session, patient.id, spec, at_local(day(9))) is None
    session.commit()
    assert [a.status for a in alerts_of(session, patient)] == [AlertStatus.RESOLVED]


def test_a_red_flag_reported_after_the_clinician_resolved_it_opens_a_new_alert(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    report(session, patient, day(2), Symptom.CHEST_PAIN)
    [alert] = alerts_of(session, patient)
    assert alert.id is not None
    resolve_alert(session, clinician, alert.id, "seen in A&E, musculoskeletal", at_local(day(2), 22))
    session.commit()

    # the patient edits the day's log, still reporting chest pain: told to call 999 again,
    # so a new alert someone owns, and the care team is told again
    again = report(session, patient, day(2), Symptom.CHEST_PAIN, back_pain=6, now=at_local(day(2), 23))
    assert again.tier is Tier.EMERGENCY
    resolved, renewed = alerts_of(session, patient)
    assert (resolved.id, resolved.status) == (alert.id, AlertStatus.RESOLVED)
    assert renewed.status == AlertStatus.OPEN and again.alert_ids == (renewed.id,)
    assert renewed.occurrence_key == f"{day(2).isoformat()}:chest_pain#after:{alert.id}"
    assert len(notifications(session, user_id=clinician.id)) == 2
    assert "physiotherapy team has been told" in again.advice

    # the same report again while the new alert is open changes nothing
    same = report(session, patient, day(2), Symptom.CHEST_PAIN, back_pain=7, now=at_local(day(2), 23))
    assert same.alert_ids == (renewed.id,)
    assert len(alerts_of(session, patient)) == 2
    assert "recurrences" not in alerts_of(session, patient)[1].evidence

    later = report(session, patient, day(5), Symptom.CHEST_PAIN)
    assert later.alert_ids == (renewed.id,)  # a new occurrence of the open episode
    assert [a.status for a in alerts_of(session, patient)] == [AlertStatus.RESOLVED, AlertStatus.OPEN]


def test_a_new_report_reopens_an_acknowledged_emergency_and_tells_the_care_team(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    report(session, patient, day(2), Symptom.BOWEL_CHANGE)
    [alert] = alerts_of(session, patient)
    assert alert.id is not None
    acknowledge_alert(session, clinician, alert.id, "calling the patient", at_local(day(2), 22))
    session.commit()

    report(session, patient, day(4), Symptom.BOWEL_CHANGE)

    [reopened] = alerts_of(session, patient)
    assert reopened.status == AlertStatus.OPEN and reopened.acknowledged_by is None
    [recurrence] = reopened.evidence["recurrences"]
    assert recurrence["was_acknowledged_by"] == clinician.id
    assert len(notifications(session, user_id=clinician.id)) == 2
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.patient_id == patient.id)).all()
    assert {"open_alert", "acknowledge_alert", "reopen_alert"} <= set(actions)


def _race(workers: int, work: Callable[[], None]) -> None:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_concurrent_raisers_open_one_alert(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    assert patient.id is not None
    patient_id = patient.id
    spec = AlertSpec(RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY, {"triggers": ["bladder_change"]}, key="k1")
    now = at_local(day(2))

    def work() -> None:
        with session_scope(engine_of(app)) as db:
            assert raise_alert(db, patient_id, spec, now) is not None

    _race(8, work)
    assert len(alerts_of(session, patient)) == 1
    assert len(notifications(session, user_id=clinician.id)) == 1


def test_concurrent_evaluations_of_one_emergency_open_one_alert_and_one_safety_message(
    app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    give_plan(session, patient, at_local(day(1), 9))
    log = put_log(session, patient, day(2), 5, symptoms=[Symptom.BOTH_LEGS_WEAKNESS])
    session.commit()
    now: datetime = at_local(day(2))

    def work() -> None:
        with session_scope(engine_of(app)) as db:
            me = db.get(Patient, patient.id)
            written = db.get(PainLog, log.id)
            assert me is not None and written is not None
            outcome = evaluate_pain_logs(db, me, now, new_logs=[written], rules=DEFAULT_RULES)
            assert outcome.tier is Tier.EMERGENCY and len(outcome.alert_ids) == 1

    _race(6, work)
    assert count(session, Alert) == 1
    user = session.get(User, patient.user_id)
    assert user is not None
    assert len(notifications(session, user_id=user.id, kind=NotificationKind.SAFETY)) == 1
    assert len(notifications(session, user_id=clinician.id)) == 1
