"""The SQL triage list agrees with the pure rules and with GET /me/progress.

Classification, 7-day mean and change come from ``api.rules.windows.progress_summary``
for the patient's own local "today"; adherence from the capture domain's progress
service. Generated histories (hypothesis) in time zones whose local dates differ at the
test instant, plus the boundary vectors of CLINICAL_RULES.md §3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from api.models import PlanStatus, User
from api.rules.types import PainDay, PlanAction
from api.rules.windows import progress_summary
from tests.clinicians.helpers import add_decision, add_logs, add_plan, add_session, all_rows, set_clock
from tests.factories import auth, make_clinician, make_patient, patient_auth

# 10:30 UTC: already tomorrow at Kiritimati (+14), still yesterday at Pago Pago (-11).
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
ZONES = ("Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "America/New_York")

History = list[int | None]


def today_in(zone: str) -> date:
    return NOW.astimezone(ZoneInfo(zone)).date()


Cases = dict[int, tuple[str, dict[date, int]]]


def check_rows(client: TestClient, app: FastAPI, clinician: User, cases: Cases) -> None:
    rows = {row["patient_id"]: row for row in all_rows(client, auth(app, clinician), 200)}
    assert set(rows) == set(cases)
    for patient_id, (zone, logs) in cases.items():
        expected = progress_summary([PainDay(on=d, back_pain=v) for d, v in logs.items()], today_in(zone))
        row = rows[patient_id]
        assert row["classification"] == expected.classification, (zone, logs)
        assert row["pain_7d_mean"] == expected.current_mean, (zone, logs)
        baseline_ok = expected.baseline_mean is not None and expected.current_mean is not None
        assert row["change_from_baseline"] == (expected.change if baseline_ok else None), (zone, logs)
        assert row["today"] == today_in(zone).isoformat()


def arrange(
    session: Session, app: FastAPI, clinician: User, zone: str, history: History, end: int
) -> tuple[int, dict[date, int]]:
    """A patient in ``zone`` whose history ends ``end`` days before their local today (-1: tomorrow)."""
    patient = make_patient(session, app, clinician, timezone=zone)
    last = today_in(zone) - timedelta(days=end)
    first = last - timedelta(days=len(history) - 1)
    logs = {first + timedelta(days=i): v for i, v in enumerate(history) if v is not None}
    add_logs(session, patient, dict(logs), now=NOW)
    assert patient.id is not None
    return patient.id, logs


def level(base: int) -> st.SearchStrategy[int | None]:
    """Pain around a level, sometimes missing: keeps windows near the classification boundaries."""
    return st.one_of(st.none(), st.integers(max(0, base - 1), min(10, base + 1)))


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, History, int]:
    zone = draw(st.sampled_from(ZONES))
    baseline, current = draw(st.integers(0, 10)), draw(st.integers(0, 10))
    first_week = draw(st.lists(level(baseline), min_size=0, max_size=7))
    middle = draw(st.lists(level((baseline + current) // 2), min_size=0, max_size=21))
    last_weeks = draw(st.lists(level(current), min_size=0, max_size=10))
    end = draw(st.sampled_from((-1, 0, 0, 0, 1, 2, 3, 6)))
    return zone, [*first_week, *middle, *last_weeks], end


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cases=st.lists(histories(), min_size=1, max_size=8))
def test_generated_histories_classify_as_the_pure_rules(
    client: TestClient, app: FastAPI, session: Session, cases: list[tuple[str, History, int]]
) -> None:
    set_clock(app, session, NOW)
    clinician = make_clinician(session, app)  # a fresh care team per example
    arranged = {}
    for zone, history, end in cases:
        patient_id, logs = arrange(session, app, clinician, zone, history, end)
        arranged[patient_id] = (zone, logs)
    check_rows(client, app, clinician, arranged)


# Week 1, then the checked week ending today (programme day 14 is the first non-overlapping).
VECTORS: list[tuple[History, History]] = [
    ([6, 6, 7, 6, 6, 7, 6], [4, 4, 3, 4, 4, 3, 4]),  # improved
    ([6, 6, 7, 6, 6, 7, 6], [5, 5, 5, 6, 5, 5, 5]),  # no meaningful improvement
    ([8] * 7, [6] * 7),  # improved (exactly 2 points)
    ([4, 4, 5, 4, 4, 5, 4], [6, 7, 6, 7, 6, 7, 6]),  # worsened
    ([6, None, 6, None, None, 6, None], [4] * 7),  # insufficient data
    ([0, 0, 1, 0, 0, 0, 0], [0] * 7),  # minimal pain
    ([4] * 7, [6] * 7),  # worsened at exactly -2
    ([10, 10, 10, 10, 10, 10, 10], [7, 7, 7, 7, None, None, None]),  # improved: 3 points, 4 logs
    ([4, 3, 3, 3, None, None, None], [2, 2, 2, 2, 2, 2, 2]),  # 3.25 → 2: Δ 1.25, 38 % → improved
    ([10, 10, 10], [9, 9, 9, 9]),  # baseline window invalid (3 logs)
    ([5, 5, 5, 5], [4, 4, 4, 4]),  # Δ 1, 20 % → no meaningful improvement
    ([3, 3, 3, 4], [2, 2, 2, 2]),  # Δ 1.25 of 3.25 = 38 %: improved by percent
    ([3, 3, 3, 3], [2, 2, 2, 2]),  # Δ 1 of 3 = 33 %: improved by percent at the 1-point floor
    ([2, 1, 1, 1], [1, 1, 1, 2]),  # C = 1.25 > 1, Δ 0 → no meaningful improvement
    ([2, 2, 2, 2], [1, 1, 1, 1]),  # C = 1.0 → minimal pain
    ([5, 5, 5, 5], [3, 4, 3, 4]),  # Δ 1.5 of 5 = exactly 30 % → improved
    ([5, 5, 5, 5, 5], [3, 4, 4, 4]),  # Δ 1.25 of 5 = 25 % → no meaningful improvement
    ([0, 0, 0, 0], [3, 3, 3, 3]),  # baseline 0: worse by 3 → worsened
    ([0, 0, 0, 0], [2, 2, 1, 2]),  # baseline 0, Δ -1.75 → no meaningful improvement (no division by 0)
]


def test_the_rules_vectors_and_boundaries(client: TestClient, app: FastAPI, session: Session) -> None:
    set_clock(app, session, NOW)
    clinician = make_clinician(session, app)
    arranged = {}
    for i, (week1, checked) in enumerate(VECTORS):
        zone = ZONES[i % len(ZONES)]
        # Today is programme day 14 exactly: week 1 is days 1-7, the checked week days 8-14.
        history: History = [*week1, *([None] * (7 - len(week1))), *([None] * (7 - len(checked))), *checked]
        patient_id, logs = arrange(session, app, clinician, zone, history, 0)
        arranged[patient_id] = (zone, logs)
    check_rows(client, app, clinician, arranged)
    # A few overlapping cases: before day 14 the classification is always insufficient_data.
    early = {}
    for days in (1, 7, 13):
        patient_id, logs = arrange(session, app, clinician, "Europe/London", [5] * days, 0)
        early[patient_id] = ("Europe/London", logs)
    rows = {r["patient_id"]: r for r in all_rows(client, auth(app, clinician), 200)}
    assert {rows[pid]["classification"] for pid in early} == {"insufficient_data"}


ADHERENCE_CASES: list[dict[str, Any]] = [
    {"zone": "Europe/London", "per_week": 3, "started": 20, "sessions": [1, 3, 6, 8]},
    {"zone": "Pacific/Kiritimati", "per_week": 3, "started": 4, "sessions": [0, 2]},
    {"zone": "Pacific/Pago_Pago", "per_week": 5, "started": 30, "sessions": [0, 1, 2, 4], "pause": (5, 2)},
    {"zone": "Asia/Kolkata", "per_week": 2, "started": 10, "sessions": [], "pause": (3, None)},
    {"zone": "America/New_York", "per_week": 7, "started": 2, "sessions": [0, 0, 1]},
    {"zone": "Europe/London", "per_week": 3, "started": 9, "sessions": [0, 1, 2, 3, 4, 5, 6], "pause": (8, 1)},
]


def test_adherence_agrees_with_the_patients_own_progress(client: TestClient, app: FastAPI, session: Session) -> None:
    set_clock(app, session, NOW)
    clinician = make_clinician(session, app)
    patients = {}
    for case in ADHERENCE_CASES:
        patient = make_patient(session, app, clinician, timezone=case["zone"])
        today = today_in(case["zone"])
        plan = add_plan(
            session,
            patient,
            started_on=today - timedelta(days=case["started"]),
            sessions_per_week=case["per_week"],
            status=PlanStatus.PAUSED if case.get("pause", (0, 0))[1] is None and "pause" in case else PlanStatus.ACTIVE,
            now=NOW,
        )
        for ago in case["sessions"]:
            add_session(session, patient, today - timedelta(days=ago), hour=9)
        if "pause" in case:
            paused_ago, resumed_ago = case["pause"]
            add_decision(session, plan, PlanAction.PAUSE, NOW - timedelta(days=paused_ago))
            if resumed_ago is not None:
                add_decision(session, plan, PlanAction.RESUME, NOW - timedelta(days=resumed_ago))
        patients[patient.id] = patient
    no_plan = make_patient(session, app, clinician)
    rows = {r["patient_id"]: r for r in all_rows(client, auth(app, clinician), 200)}
    for patient_id, patient in patients.items():
        progress = client.get("/api/v1/me/progress", headers=patient_auth(session, app, patient)).json()
        assert rows[patient_id]["adherence_7d"] == progress["adherence_7d"], ADHERENCE_CASES
    assert rows[no_plan.id]["adherence_7d"] is None
