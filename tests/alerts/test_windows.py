"""Non-improvement checkpoints, the 12-week checkpoint and worsening, on the write path and in the sweep."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlmodel import Session, select

from api.models import CheckpointResult, NotificationKind
from api.rules.types import Classification, RuleCode, Tier
from tests.alerts.helpers import (
    alerts_of,
    at_local,
    day,
    evaluate,
    notifications,
    put_log,
    put_logs,
    rules_raised,
    sweep,
)
from tests.factories import make_clinician, make_patient

BASELINE = [6, 6, 7, 6, 6, 7, 6]  # mean 6.29
SAME = [5, 5, 5, 6, 5, 5, 5]  # 5.14: no meaningful improvement
BETTER = [4, 4, 3, 4, 4, 3, 4]  # 3.71: improved


def checkpoints(session: Session, patient_id: int | None) -> dict[int, str]:
    session.rollback()
    rows = session.exec(select(CheckpointResult).where(CheckpointResult.patient_id == patient_id)).all()
    session.commit()
    return {r.checkpoint_day: r.classification for r in rows}


def test_day_14_not_improved_raises_no_improvement_2w_when_the_window_completes(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    logs = put_logs(session, patient, day(1), BASELINE + SAME[:6])
    # day 14 itself is not logged yet: its window is not complete that morning
    assert evaluate(session, patient, logs[-1:], at_local(day(14), 8)).alert_ids == ()
    assert rules_raised(session, patient) == set()

    last = put_log(session, patient, day(14), SAME[6])
    outcome = evaluate(session, patient, [last], at_local(day(14), 21))

    [alert] = alerts_of(session, patient)
    assert (alert.rule, alert.tier, alert.occurrence_key) == (RuleCode.NO_IMPROVEMENT_2W, Tier.ROUTINE, "day-14")
    assert alert.evidence["baseline"]["mean"] == 44 / 7
    assert alert.evidence["current"]["mean"] == 36 / 7
    assert alert.evidence["classification"] == Classification.NO_MEANINGFUL_IMPROVEMENT
    assert outcome.tier is Tier.ROUTINE and outcome.alert_ids == (alert.id,)
    assert checkpoints(session, patient.id) == {14: Classification.NO_MEANINGFUL_IMPROVEMENT}


def test_day_14_improved_raises_nothing_but_records_the_checkpoint(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    logs = put_logs(session, patient, day(1), BASELINE + BETTER)
    outcome = evaluate(session, patient, logs[-1:], at_local(day(14), 21))
    assert outcome.tier is Tier.NONE and alerts_of(session, patient) == []
    assert checkpoints(session, patient.id) == {14: Classification.IMPROVED}


def test_a_back_dated_log_completing_a_window_is_evaluated_at_once(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), [*BASELINE, 5, 5, None, None, None, 5, 5])
    # day 16: the window of days 8-14 has 4 logs only once day 10 is synced late
    assert evaluate(session, patient, [], at_local(day(16))).alert_ids == ()
    late = put_log(session, patient, day(10), 5)
    evaluate(session, patient, [late], at_local(day(16)))
    assert rules_raised(session, patient) == {RuleCode.NO_IMPROVEMENT_2W}


def test_a_58_year_old_not_improved_at_day_28_gets_urgent_days(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, birth_year=2026 - 58)
    put_logs(session, patient, day(1), BASELINE + BETTER + BETTER + SAME)
    sweep(app, at_local(day(29), 1))
    [alert] = alerts_of(session, patient)
    assert (alert.rule, alert.tier) == (RuleCode.NO_IMPROVEMENT_4W, Tier.URGENT_DAYS)
    assert alert.evidence["age"] == 58
    [message] = notifications(session, user_id=clinician.id, kind=NotificationKind.CARE_TEAM_ALERT)
    assert message.alert_id == alert.id


def test_a_40_year_old_not_improved_at_day_28_gets_a_routine_review(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, birth_year=2026 - 40)
    put_logs(session, patient, day(1), BASELINE + BETTER + BETTER + SAME)
    sweep(app, at_local(day(29), 1))
    [alert] = alerts_of(session, patient)
    assert (alert.rule, alert.tier) == (RuleCode.NO_IMPROVEMENT_4W, Tier.ROUTINE)
    assert notifications(session, user_id=clinician.id) == []  # routine: the dashboard, no message


def test_a_40_year_old_improved_at_day_28_gets_nothing(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app), birth_year=2026 - 58)
    put_logs(session, patient, day(1), BASELINE + BETTER * 3)
    sweep(app, at_local(day(29), 1))
    assert alerts_of(session, patient) == []


def test_a_higher_tier_escalates_the_open_alert_and_tells_the_care_team(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, birth_year=2026 - 40)
    logs = put_logs(session, patient, day(1), BASELINE + BETTER + BETTER + SAME)
    evaluate(session, patient, logs[-1:], at_local(day(28)))
    [routine] = alerts_of(session, patient)
    assert routine.tier == Tier.ROUTINE

    patient.cancer_history = True  # the patient corrects their profile
    session.add(patient)
    session.commit()
    log = put_log(session, patient, day(29), 5)
    outcome = evaluate(session, patient, [log], at_local(day(29)))

    [alert] = alerts_of(session, patient)
    assert alert.id == routine.id and alert.tier == Tier.URGENT_DAYS
    assert alert.evidence["cancer_history"] is True
    [escalation] = alert.evidence["escalations"]
    assert (escalation["from_tier"], escalation["to_tier"]) == ("routine", "urgent_days")
    assert outcome.tier is Tier.URGENT_DAYS
    assert len(notifications(session, user_id=clinician.id)) == 1


def test_day_42_not_improved_raises_no_improvement_6w_and_improved_does_not(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    relapsed = make_patient(session, app, clinician)
    recovering = make_patient(session, app, clinician)
    put_logs(session, relapsed, day(1), BASELINE + BETTER * 4 + SAME)
    put_logs(session, recovering, day(1), BASELINE + BETTER * 5)
    sweep(app, at_local(day(43), 1))
    assert rules_raised(session, relapsed) == {RuleCode.NO_IMPROVEMENT_6W}
    assert rules_raised(session, recovering) == set()
    assert checkpoints(session, recovering.id) == dict.fromkeys((14, 28, 42), Classification.IMPROVED)


def test_day_84_with_pain_above_1_raises_persistent_12w_and_not_at_or_below(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    chronic = make_patient(session, app, clinician)
    settled = make_patient(session, app, clinician)
    put_logs(session, chronic, day(1), BASELINE + [2] * 77)
    put_logs(session, settled, day(1), BASELINE + [2] * 70 + [1] * 7)
    sweep(app, at_local(day(85), 1))
    assert rules_raised(session, chronic) == {RuleCode.PERSISTENT_12W}
    assert rules_raised(session, settled) == set()
    assert set(checkpoints(session, chronic.id)) == {14, 28, 42, 84}


def test_two_worsened_weeks_raise_worsening_and_one_does_not(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    worse = make_patient(session, app, clinician)
    once = make_patient(session, app, clinician)
    base = [4, 4, 5, 4, 4, 5, 4]
    worse_logs = put_logs(session, worse, day(1), base + [7] * 14)
    once_logs = put_logs(session, once, day(1), base + [7] * 7 + [4] * 7)
    evaluate(session, worse, worse_logs[-1:], at_local(day(21)))
    evaluate(session, once, once_logs[-1:], at_local(day(21)))
    [alert] = alerts_of(session, worse, RuleCode.WORSENING)
    assert alert.occurrence_key == f"worsening-from:{day(8).isoformat()}"
    assert len(alert.evidence["windows"]) == 2
    assert RuleCode.WORSENING not in rules_raised(session, once)


def test_the_sweep_finds_a_worsening_week_whose_last_day_was_never_logged(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), [4, 4, 5, 4, 4, 5, 4] + [7] * 7 + [7, 7, 7, 7, 7, 7, None])
    sweep(app, at_local(day(21), 1))
    assert RuleCode.WORSENING not in rules_raised(session, patient)  # week 3 ends today: not over yet
    sweep(app, at_local(day(22), 1))
    assert RuleCode.WORSENING in rules_raised(session, patient)


def test_the_sweep_records_checkpoints_once_and_a_second_run_does_nothing(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), BASELINE + SAME[:6])  # day 14 never logged
    first = sweep(app, at_local(day(15), 0) + timedelta(minutes=17))
    assert first["escalation_patients"] == 1 and first["escalation_alerts_opened"] == 1
    assert rules_raised(session, patient) == {RuleCode.NO_IMPROVEMENT_2W}
    assert checkpoints(session, patient.id) == {14: Classification.NO_MEANINGFUL_IMPROVEMENT}
    again = sweep(app, at_local(day(15), 5))
    assert again["escalation_zones"] == 0 and again["escalation_patients"] == 0
    evaluated_at = session.exec(select(CheckpointResult.evaluated_at)).one()
    session.commit()
    next_day = sweep(app, at_local(day(16), 1))
    # only the silence rule looks at the patient now (no log for 3 days: a nudge)
    assert next_day["escalation_alerts_opened"] == 0 and next_day["escalation_nudges"] == 1
    assert session.exec(select(CheckpointResult.evaluated_at)).one() == evaluated_at
    assert len(alerts_of(session, patient)) == 1
