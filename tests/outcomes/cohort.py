"""A seeded cohort whose outcomes are computed by hand (tests/outcomes/test_api.py states them).

Clock: Monday 2 March 2026, 12:00 London; programme day 1 is Monday 1 December 2025 for
P1-P12 (so days 14, 42 and 84 are all over: as of 1 March, programme day 91). Baseline
(days 1-7) back pain 6 every day for P1-P12.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import FastAPI
from sqlmodel import Session

from api.models import CareTeamMember, Clinic, Instrument, Patient, Screening, User
from api.rules.version import RULESET_VERSION
from tests.clinicians.helpers import NOW, add_logs, add_plan, exercise_session, series, set_clock
from tests.factories import make_admin, make_clinic, make_clinician, make_patient

DAY1 = date(2025, 12, 1)
FROM, TO = date(2025, 12, 1), date(2025, 12, 31)


def week(value: int | None) -> list[int | None]:
    return [value] * 7


# Days 8-14, 36-42 and 78-84 of P1-P12 (None: no log that day).
DAY14: list[list[int | None]] = [
    [4] * 7,  # P1  Δ 2       improved
    [3] * 7,  # P2  Δ 3       improved
    [4, 4, 4, 4, 4, 4, 3],  # P3  Δ 15/7 improved
    [2] * 7,  # P4  Δ 4       improved
    [4] * 7,  # P5  Δ 2       improved
    [4] * 7,  # P6  Δ 2       improved
    [5] * 7,  # P7  Δ 1 (17 %) no meaningful improvement
    [5] * 7,  # P8  Δ 1       no meaningful improvement
    [6] * 7,  # P9  Δ 0       no meaningful improvement
    [8] * 7,  # P10 Δ -2      worsened
    [1] * 7,  # P11 C 1.0     minimal pain (Δ 5)
    [5, 5, 5, None, None, None, None],  # P12 3 logs: insufficient data
]
DAY42: list[list[int | None]] = [
    [0, 0, 0, 1, 1, 1, 1],  # P1 C 4/7: minimal pain (Δ 38/7)
    *[week(3)] * 6,  # P2-P7 Δ 3: improved
    [7] * 7,  # P8 Δ -1: no meaningful improvement
    *[week(None)] * 4,  # P9-P12: insufficient data
]
DAY84: list[list[int | None]] = [
    *[week(0)] * 5,  # P1-P5: minimal pain (Δ 6)
    [5, 5, 5, 5, None, None, None],  # P6 C 5, Δ 1: no meaningful improvement
    *[week(None)] * 6,  # P7-P12: insufficient data
]
RISK = ["low"] * 6 + ["medium"] * 5 + [None]
# (baseline percent, [(days after baseline, percent)]) for P1-P8.
ODI: list[tuple[float, list[tuple[int, float]]]] = [
    (40, [(42, 28)]),  # P1 -12 points: meaningful
    (40, [(42, 30)]),  # P2 -10 points exactly: meaningful
    (40, [(50, 31)]),  # P3 -9 points, 22.5 %: not
    (40, [(41, 28)]),  # P4 41 days: no follow-up
    (20, [(60, 14)]),  # P5 -6 points = 30 % exactly: meaningful
    (40, [(42, 45)]),  # P6 worse: not
    (40, [(20, 35), (70, 20)]),  # P7 the latest follow-up counts: -20, meaningful
    (50, [(42, 30)]),  # P8 -20: meaningful
]
# Sessions done in the last 28 days (3 a week planned: 11 planned days, Wed 4 Feb - Fri 27 Feb).
PLANNED_DAYS = [date(2026, 2, d) for d in (4, 6, 9, 11, 13, 16, 18, 20, 23, 25, 27)]
SESSIONS_DONE = [11, 8, 11, 5, 0, 6]  # P1-P6 → adherence 1, 8/11, 1, 5/11, 0, 6/11


@dataclass(frozen=True)
class Cohort:
    clinic: Clinic
    physio: User
    colleague: User
    outsider: User
    admin: User
    patients: list[Patient]  # P1-P12
    early: Patient  # the physio's, day 1 before the period
    colleagues_own: Patient  # the colleague's only (same clinic), day 1 in the period
    elsewhere: Patient  # another clinic, day 1 in the period


def _odi(session: Session, patient: Patient, on: date, percent: float) -> None:
    assert patient.id is not None
    session.add(
        Screening(
            patient_id=patient.id,
            instrument=Instrument.ODI,
            answers={},
            percent=percent,
            result={},
            ruleset_version=RULESET_VERSION,
            created_at=datetime.combine(on, time(10), UTC),
        )
    )


def _sessions(session: Session, patient: Patient, days: list[date]) -> None:
    session.add_all(exercise_session(patient, on) for on in days)


def _history(start: date, baseline: list[int | None], *checks: tuple[int, list[int | None]]) -> dict[date, int | None]:
    logs = series(start, baseline)
    for day, values in checks:
        logs.update(series(start + timedelta(days=day - 7), values))
    return logs


def seed(app: FastAPI, session: Session) -> Cohort:
    set_clock(app, session, NOW)
    clinic = make_clinic(session, app, "Riverside Physio")
    physio = make_clinician(session, app, clinic, name="Sam Physio")
    colleague = make_clinician(session, app, clinic, name="Priya Shah")
    other_clinic = make_clinic(session, app, "Elsewhere")
    outsider = make_clinician(session, app, other_clinic, name="Outsider")
    admin = make_admin(session, app)
    patients = []
    for i in range(12):
        patient = make_patient(session, app, physio, name=f"P{i + 1}")
        add_logs(session, patient, _history(DAY1, [6] * 7, (14, DAY14[i]), (42, DAY42[i]), (84, DAY84[i])))
        patients.append(patient)
    early = make_patient(session, app, physio, name="Early")
    add_logs(session, early, _history(date(2025, 11, 20), [6] * 7, (14, [8] * 7)))
    colleagues_own = make_patient(session, app, colleague, name="Colleague's")
    add_logs(session, colleagues_own, _history(DAY1, [6] * 7, (14, [4] * 7)))
    elsewhere = make_patient(session, app, outsider, name="Elsewhere")
    add_logs(session, elsewhere, _history(DAY1, [6] * 7, (14, [4] * 7)))
    session.rollback()
    for patient, risk in zip(patients, RISK, strict=True):
        fresh = session.get(Patient, patient.id)
        assert fresh is not None
        fresh.risk_group = risk
        session.add(fresh)
    for patient in patients[:5]:  # the colleague co-follows P1-P5
        assert patient.id is not None and colleague.id is not None
        session.add(CareTeamMember(patient_id=patient.id, clinician_id=colleague.id, created_at=NOW))
    for patient, (baseline, follow_ups) in zip(patients, ODI, strict=False):
        _odi(session, patient, DAY1, baseline)
        for after, percent in follow_ups:
            _odi(session, patient, DAY1 + timedelta(days=after), percent)
    session.commit()
    for patient, done in zip(patients, SESSIONS_DONE, strict=False):
        add_plan(session, patient, started_on=DAY1)
        session.rollback()
        _sessions(session, patient, PLANNED_DAYS[:done])
        session.commit()
    add_plan(session, early, started_on=date(2025, 11, 20))
    return Cohort(clinic, physio, colleague, outsider, admin, patients, early, colleagues_own, elsewhere)
