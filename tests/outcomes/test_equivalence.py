"""The report's batched loading agrees with each patient judged alone (hypothesis, both databases).

Random cohorts in time zones whose local dates differ at the test instant, histories of up
to 100 days ending around each patient's today, some with a plan and sessions. For every
patient: the checkpoint classifications and pain changes the report counted are those of
``checkpoint_outcomes`` over all of that patient's logs (as the sweep judges them), and the
28-day adherence is the one their clinician's patient page shows (``GET
/clinician/patients/{id}``); the report's counts and medians are those of the patients.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from api.outcomes.cohort import in_scope, load_cohort
from api.rules._num import exact
from api.rules.outcomes import report_checkpoints, tally
from api.rules.settings import DEFAULT_RULES
from api.rules.types import PainDay
from api.rules.windows import checkpoint_outcomes, complete_through
from tests.clinicians.helpers import add_logs, add_plan, add_session, set_clock
from tests.factories import auth, make_clinician, make_patient

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
ZONES = ("Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata")
EVERYONE = (date(2000, 1, 1), date(2100, 12, 31))


@st.composite
def patients(draw: st.DrawFn) -> tuple[str, list[int | None], int, list[int] | None]:
    zone = draw(st.sampled_from(ZONES))
    length = draw(st.integers(1, 100))
    pains = draw(st.lists(st.none() | st.integers(0, 10), min_size=length, max_size=length))
    pains[0] = draw(st.integers(0, 10))
    end = draw(st.sampled_from((-1, 0, 0, 1, 2, 5)))  # days before local today the history ends
    sessions = draw(st.none() | st.lists(st.integers(0, 27), max_size=12, unique=True))
    return zone, pains, end, sessions


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(cohort=st.lists(patients(), min_size=1, max_size=5))
def test_the_report_counts_each_patient_as_judged_alone(
    client: TestClient,
    app: FastAPI,
    session: Session,
    cohort: list[tuple[str, list[int | None], int, list[int] | None]],
) -> None:
    set_clock(app, session, NOW)
    clinician = make_clinician(session, app)  # a fresh care team per example
    expected = {}
    for zone, pains, end, sessions in cohort:
        patient = make_patient(session, app, clinician, timezone=zone)
        assert patient.id is not None
        today = NOW.astimezone(ZoneInfo(zone)).date()
        first = today - timedelta(days=end + len(pains) - 1)
        logs = {first + timedelta(days=i): v for i, v in enumerate(pains) if v is not None}
        add_logs(session, patient, dict(logs), now=NOW)
        if sessions is not None:
            add_plan(session, patient, started_on=first, now=NOW)
            for back in sessions:
                add_session(session, patient, today - timedelta(days=back))
        days = [PainDay(on=d, back_pain=v) for d, v in logs.items()]
        as_of = complete_through(today, max((d for d in logs if d <= today), default=None))
        shown = set(report_checkpoints())
        outcomes = [o for o in checkpoint_outcomes(days, as_of) if o.checkpoint_day in shown]
        page = client.get(f"/api/v1/clinician/patients/{patient.id}", headers=auth(app, clinician)).json()
        expected[patient.id] = (outcomes, page["progress"]["adherence_28d"])

    session.rollback()
    assert clinician.id is not None
    members = load_cohort(session, in_scope(clinician.id, None), *EVERYONE, NOW, DEFAULT_RULES)
    assert {m.patient_id for m in members} == set(expected)
    for member in members:
        outcomes, adherence = expected[member.patient_id]
        assert member.outcome.classifications == {o.checkpoint_day: o.classification for o in outcomes}
        assert member.outcome.changes == {
            o.checkpoint_day: exact(o.baseline_mean) - exact(o.current_mean)
            for o in outcomes
            if o.baseline_mean is not None and o.current_mean is not None
        }
        assert (None if member.outcome.adherence_28d is None else float(member.outcome.adherence_28d)) == adherence
    report = tally([m.outcome for m in members])
    for checkpoint in report.checkpoints:
        judged = [o for outcomes, _ in expected.values() for o in outcomes if o.checkpoint_day == checkpoint.day]
        assert checkpoint.reached == len(judged)
        counted = Counter(o.classification for o in judged)
        assert checkpoint.counts == {c: counted.get(c, 0) for c in checkpoint.counts}
    adherences = [Fraction(a).limit_denominator(28) for _, a in expected.values() if a is not None]
    assert report.adherence_28d.median == (statistics.median(adherences) if adherences else None)
