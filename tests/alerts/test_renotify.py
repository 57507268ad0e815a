"""Re-notification of unacknowledged emergency and urgent-same-day alerts."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlmodel import Session

from api.alerts.lifecycle import acknowledge_alert, resolve_alert
from api.alerts.renotify import renotify_unacknowledged
from api.jobs import JobContext, run_job
from api.rules.types import Symptom
from tests.alerts.helpers import alerts_of, at_local, day, engine_of, notifications, report
from tests.factories import make_clinic, make_clinician, make_patient

OPENED = at_local(day(2), 23)  # late evening: safety messages ignore the hour


def renotify(app: FastAPI, now: datetime) -> int:
    return renotify_unacknowledged(engine_of(app), now, emergency_minutes=30, urgent_minutes=240)


def keys(session: Session, user_id: int) -> list[str]:
    return [n.occurrence_key or "" for n in notifications(session, user_id=user_id)]


def test_an_unacknowledged_emergency_is_renotified_after_30_minutes_to_the_whole_clinic(
    app: FastAPI, session: Session
) -> None:
    clinic = make_clinic(session, app)
    physio = make_clinician(session, app, clinic, name="Own physio")
    colleague = make_clinician(session, app, clinic, name="Colleague")
    elsewhere = make_clinician(session, app, name="Other clinic")
    patient = make_patient(session, app, physio)
    report(session, patient, day(2), Symptom.SADDLE_NUMBNESS, now=OPENED)
    [alert] = alerts_of(session, patient)
    assert keys(session, physio.id or 0) == [f"alert:{alert.id}:round:0:user:{physio.id}"]
    assert keys(session, colleague.id or 0) == []

    assert renotify(app, OPENED + timedelta(minutes=29, seconds=59)) == 0
    assert renotify(app, OPENED + timedelta(minutes=30)) == 1
    assert keys(session, physio.id or 0)[-1] == f"alert:{alert.id}:round:1:user:{physio.id}"
    [to_colleague] = notifications(session, user_id=colleague.id)
    assert to_colleague.safety and to_colleague.alert_id == alert.id
    assert "not been acknowledged" in to_colleague.body and to_colleague.data["care_team"] is False
    assert notifications(session, user_id=elsewhere.id) == []

    # every 30 minutes until someone acknowledges
    assert renotify(app, OPENED + timedelta(minutes=59)) == 0
    assert renotify(app, OPENED + timedelta(minutes=60)) == 1
    assert len(keys(session, colleague.id or 0)) == 2
    [updated] = alerts_of(session, patient)
    assert updated.notify_count == 3 and updated.last_notified_at == OPENED + timedelta(minutes=60)


def test_an_acknowledged_or_resolved_emergency_is_not_renotified(app: FastAPI, session: Session) -> None:
    physio = make_clinician(session, app)
    acknowledged = make_patient(session, app, physio)
    resolved = make_patient(session, app, physio)
    for patient in (acknowledged, resolved):
        report(session, patient, day(2), Symptom.BLADDER_CHANGE, now=OPENED)
    [ack] = alerts_of(session, acknowledged)
    [res] = alerts_of(session, resolved)
    assert ack.id is not None and res.id is not None
    acknowledge_alert(session, physio, ack.id, None, OPENED + timedelta(minutes=5))
    resolve_alert(session, physio, res.id, "spoke to the patient: at A&E", OPENED + timedelta(minutes=5))
    session.commit()
    before = len(notifications(session))
    assert renotify(app, OPENED + timedelta(hours=5)) == 0
    assert len(notifications(session)) == before


def test_urgent_same_day_waits_4_hours_and_urgent_days_is_never_renotified(app: FastAPI, session: Session) -> None:
    physio = make_clinician(session, app)
    same_day = make_patient(session, app, physio)
    within_days = make_patient(session, app, physio, osteoporosis_or_steroids=True)
    report(session, same_day, day(2), Symptom.NIGHT_PAIN, now=OPENED)
    report(session, within_days, day(2), Symptom.MINOR_TRAUMA, now=OPENED)
    assert renotify(app, OPENED + timedelta(minutes=239)) == 0
    assert renotify(app, OPENED + timedelta(minutes=240)) == 1
    assert renotify(app, OPENED + timedelta(days=3)) == 1  # the same-day one again; never the other
    [within] = alerts_of(session, within_days)
    assert within.notify_count == 1


def test_racing_renotifiers_send_each_round_once(app: FastAPI, session: Session) -> None:
    physio = make_clinician(session, app)
    patients = [make_patient(session, app, physio) for _ in range(3)]
    for patient in patients:
        report(session, patient, day(2), Symptom.MAJOR_TRAUMA, now=OPENED)
    later = OPENED + timedelta(minutes=31)
    done: list[int] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait(timeout=30)
        done.append(renotify(app, later))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(done) == 3
    assert len(notifications(session, user_id=physio.id)) == 6  # round 0 and round 1 for each


def test_the_delivery_job_renotifies_first(app: FastAPI, session: Session) -> None:
    physio = make_clinician(session, app)
    patient = make_patient(session, app, physio)
    report(session, patient, day(2), Symptom.CHEST_PAIN, now=OPENED)
    context = JobContext(app.state.engine, app.state.settings, app.state.clock)
    result = run_job("deliveries", context, OPENED + timedelta(minutes=45))
    assert result["alerts_renotified"] == 1
    assert len(notifications(session, user_id=physio.id)) == 2
