"""The sweep's SQL pre-filters never disagree with the pure rules (hypothesis, both databases).

``api.alerts.candidates`` picks in SQL the patients the daily sweep evaluates; the rules
themselves are pure (``api.rules``). SQL that stands in for a rule may only be a
conservative pre-filter: for generated patient histories (logs with and without numbness
or a muscle relaxant, silences, flares, recorded checkpoints, alerts and nudges already
raised, open or resolved), every patient the pure rule would open an alert or a nudge for
is a candidate with that need. Silence, flares and checkpoints are exact (the occurrence-key
strings built in SQL must equal the rules' keys for that); the log rules are a superset.
``NUMBNESS_SQL`` and ``MUSCLE_RELAXANT_SQL``, the partial-index predicates, agree with the
rules' own tests row by row, for logs written through the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from api.alerts.candidates import Need, ZoneDay, find_candidates, nudge_key
from api.alerts.snapshot import load_pain_days_for
from api.models import (
    Alert,
    AlertStatus,
    CheckpointResult,
    Notification,
    NotificationKind,
    PainLog,
    Plan,
)
from api.models.clinical import MUSCLE_RELAXANT_SQL, NUMBNESS_SQL
from api.rules.monitoring import prolonged_flare, silence
from api.rules.registry import LogHistory, history_alerts
from api.rules.settings import DEFAULT_RULES
from api.rules.types import AlertSpec, MedicationClass, PatientProfile, Symptom
from api.rules.windows import checkpoint_days, checkpoint_outcomes, complete_through
from tests.clinicians.helpers import set_clock
from tests.factories import make_patient, patient_auth

ZONE = "Europe/London"
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
TODAY = NOW.astimezone(ZoneInfo(ZONE)).date()
RULES = DEFAULT_RULES
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A day of the history: no log, or a log with neither, numbness, a relaxant, or both.
KINDS = ("gap", "plain", "numb", "relax", "both")
ALERT_STATES = ("none", "same-open", "same-resolved", "other-open", "other-resolved")


@dataclass
class History:
    segments: list[tuple[str, int]]
    end: int  # days between the last day of the history and today
    enrolled_before: int  # days between enrolment and the first day of the history
    flare_days_ago: int | None
    alerts: dict[str, str]  # rule code -> one of ALERT_STATES
    nudged: bool
    recorded: set[int] = field(default_factory=set)  # checkpoint days already recorded


@st.composite
def histories(draw: st.DrawFn) -> History:
    segments = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 26)), max_size=3))
    # Long runs of numbness or a relaxant, sometimes broken off by a few other days at the end.
    segments.append((draw(st.sampled_from(("numb", "relax", "both"))), draw(st.integers(4, 30))))
    segments += draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 3)), max_size=1))
    codes = ("persistent_numbness", "medication_review", "silent", "prolonged_flare")
    return History(
        segments=segments,
        end=draw(st.sampled_from((0, 0, 1, 2, 3, 6, 7, 8, 13))),
        enrolled_before=draw(st.integers(0, 9)),
        flare_days_ago=draw(st.sampled_from((None, None, 2, 6, 7, 8, 12))),
        alerts={code: draw(st.sampled_from(ALERT_STATES)) for code in codes},
        nudged=draw(st.booleans()),
        recorded=draw(st.sets(st.sampled_from(checkpoint_days(RULES)))),
    )


def _days_of(history: History) -> dict[date, str]:
    kinds = [kind for kind, length in history.segments for _ in range(length)][-90:]
    last = TODAY - timedelta(days=history.end)
    first = last - timedelta(days=len(kinds) - 1)
    return {first + timedelta(days=i): kind for i, kind in enumerate(kinds) if kind != "gap"}


def _log(patient_id: int, on: date, kind: str) -> PainLog:
    relaxant = kind in ("relax", "both")
    return PainLog(
        patient_id=patient_id,
        log_date=on,
        back_pain=(on.toordinal() * 7) % 11,  # varied pain, so windows classify differently
        medications=[MedicationClass.MUSCLE_RELAXANT.value] if relaxant else [MedicationClass.NSAID.value],
        muscle_relaxant=relaxant,
        symptoms=[Symptom.ONE_LEG_NUMBNESS.value] if kind in ("numb", "both") else [],
        client_updated_at=NOW,
        content_hash=uuid.uuid4().hex,
        created_at=NOW,
        updated_at=NOW,
    )


@dataclass
class Expected:
    """What the pure rules would do for one patient today: the needs the SQL must select."""

    logs: bool = False  # a log-history rule opens an alert
    silence: bool = False  # a nudge or a silent alert is new
    flare: bool = False
    windows: bool = False  # a checkpoint reached by yesterday is unrecorded


def _is_new(spec: AlertSpec, stored: list[Alert]) -> bool:
    """Whether raising ``spec`` opens an alert: none of its rule unresolved, its occurrence never stored."""
    mine = [a for a in stored if a.rule == spec.code]
    return not any(a.status != AlertStatus.RESOLVED for a in mine) and spec.key not in {a.occurrence_key for a in mine}


def _store_alert(session: Session, pid: int, code: str, state: str, spec: AlertSpec | None, other: str) -> None:
    if state == "none" or (state.startswith("same") and spec is None):
        return
    key = spec.key if state.startswith("same") and spec is not None else other
    status = AlertStatus.OPEN if state.endswith("open") else AlertStatus.RESOLVED
    session.add(
        Alert(
            patient_id=pid,
            rule=code,
            tier="routine",
            status=status,
            occurrence_key=key,
            evidence={},
            ruleset_version="test",
            opened_at=NOW,
        )
    )


def arrange(session: Session, app: FastAPI, history: History) -> tuple[int, Expected]:
    """Store one generated patient; return its id and what the pure rules say about it."""
    patient = make_patient(session, app, timezone=ZONE)
    pid, user_id = patient.id, patient.user_id
    assert pid is not None
    logs = _days_of(history)
    first_day = min(logs, default=TODAY - timedelta(days=history.end))
    enrolled_on = first_day - timedelta(days=history.enrolled_before)
    patient.created_at = datetime.combine(enrolled_on, time(12), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)
    patient.programme_started_on = min(logs, default=None)
    patient.last_log_on = max(logs, default=None)
    patient.swept_on = None
    session.add(patient)
    session.add_all(_log(pid, on, kind) for on, kind in logs.items())
    flare_on = TODAY - timedelta(days=history.flare_days_ago) if history.flare_days_ago is not None else None
    if flare_on is not None:
        session.add(
            Plan(
                patient_id=pid,
                template_id="test",
                level=1,
                started_on=first_day,
                level_started_on=first_day,
                next_review_on=TODAY + timedelta(days=3),
                flare_started_on=flare_on,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    session.flush()

    # The pure side, on the logs as the sweep loads them.
    days = load_pain_days_for(session, [pid])[pid]
    profile = PatientProfile(patient.birth_year, patient.cancer_history, patient.osteoporosis_or_steroids)
    as_of = complete_through(TODAY, patient.last_log_on)
    fired = {str(s.code): s for s in history_alerts(LogHistory(days, TODAY, as_of, profile, RULES))}
    silent = silence(patient.last_log_on, TODAY, RULES, enrolled_on=enrolled_on)
    flare = prolonged_flare(flare_on, TODAY, RULES)
    specs = {**fired, "silent": silent.alert, "prolonged_flare": flare}

    for code, state in history.alerts.items():
        # A patient who never logged has one silence episode, from enrolment: no other key exists.
        if code == "silent" and patient.last_log_on is None and state.startswith("other"):
            continue
        _store_alert(session, pid, code, state, specs.get(code), other=f"older-occurrence:{code}")
    key = nudge_key(pid, patient.last_log_on)
    if history.nudged and silent.nudge:
        session.add(
            Notification(
                user_id=user_id,
                patient_id=pid,
                kind=NotificationKind.NUDGE,
                title="How is your back?",
                body="test",
                occurrence_key=key,
                created_at=NOW,
                intended_at=NOW,
            )
        )
    session.add_all(
        CheckpointResult(
            patient_id=pid, checkpoint_day=day_n, classification="improved", ruleset_version="test", evaluated_at=NOW
        )
        for day_n in history.recorded
    )
    session.commit()

    stored = list(session.exec(select(Alert).where(Alert.patient_id == pid)).all())
    nudged = session.exec(select(Notification.id).where(Notification.occurrence_key == key)).first() is not None
    reached = {o.checkpoint_day for o in checkpoint_outcomes(days, TODAY - timedelta(days=1), RULES)}
    return pid, Expected(
        logs=any(_is_new(spec, stored) for spec in fired.values()),
        silence=(silent.nudge and not nudged) or (silent.alert is not None and _is_new(silent.alert, stored)),
        flare=flare is not None and _is_new(flare, stored),
        windows=bool(reached - history.recorded),
    )


def _quiet(segments: list[tuple[str, int]], end: int = 0, **alerts: str) -> History:
    states = dict.fromkeys(("persistent_numbness", "medication_review", "silent", "prolonged_flare"), "none")
    return History(segments, end, 0, None, {**states, **alerts}, nudged=False)


@PROPERTY
@given(cases=st.lists(histories(), min_size=1, max_size=4))
# 26 relaxant days then two without: still over 21 of 28, though the latest log has none.
@example(cases=[_quiet([("relax", 26), ("plain", 2)])])
# Numbness on 7 logs every other day; an earlier episode resolved.
@example(cases=[_quiet([("numb", 1), ("gap", 1)] * 6 + [("numb", 1)], persistent_numbness="other-resolved")])
# Silent for exactly 7 days, the nudge and an older silence already raised.
@example(cases=[_quiet([("plain", 10)], end=7, silent="other-resolved")])
def test_candidates_select_every_patient_the_pure_rules_would_raise(
    app: FastAPI, session: Session, cases: list[History]
) -> None:
    set_clock(app, session, NOW)
    expected = dict(arrange(session, app, history) for history in cases)
    with Session(session.get_bind()) as fresh:
        found = find_candidates(fresh, ZoneDay(ZONE, TODAY, None), RULES)
    for pid, wants in expected.items():
        needs = found.get(pid, set())
        for name in ("logs", "silence", "flare", "windows"):
            event(f"{name}: {getattr(wants, name)}")
        # Exact: the occurrence keys built in SQL are the rules' keys, the day arithmetic theirs.
        assert (Need.SILENCE in needs) == wants.silence, (pid, needs, wants)
        assert (Need.FLARE in needs) == wants.flare, (pid, needs, wants)
        assert (Need.WINDOWS in needs) == wants.windows, (pid, needs, wants)
        # Conservative: a pre-filter of the log-history rules may select more, never fewer.
        if wants.logs:
            assert Need.LOGS in needs, (pid, needs, wants)


@PROPERTY
@given(symptom_sets=st.lists(st.lists(st.sampled_from(list(Symptom)), max_size=4), min_size=1, max_size=6))
def test_the_numbness_index_predicate_is_the_rules_test(
    app: FastAPI, session: Session, symptom_sets: list[list[Symptom]]
) -> None:
    """``NUMBNESS_SQL`` (index and sweep) selects exactly the logs the rule counts as numb."""
    set_clock(app, session, NOW)
    patient = make_patient(session, app, timezone=ZONE)
    assert patient.id is not None
    logs = [_log(patient.id, TODAY - timedelta(days=i), "plain") for i in range(len(symptom_sets))]
    for log, symptoms in zip(logs, symptom_sets, strict=True):
        log.symptoms = [str(s) for s in symptoms]
    session.add_all(logs)
    session.commit()
    numb = set(
        session.exec(select(col(PainLog.log_date)).where(PainLog.patient_id == patient.id, sa.text(NUMBNESS_SQL))).all()
    )
    days = load_pain_days_for(session, [patient.id])[patient.id]
    assert numb == {d.on for d in days if Symptom.ONE_LEG_NUMBNESS in d.symptoms}


NON_TRIGGERING = (Symptom.ONE_LEG_NUMBNESS, Symptom.THORACIC_PAIN, Symptom.PAIN_ON_STRAINING)  # without cancer


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    logs=st.lists(
        st.tuples(
            st.lists(st.sampled_from(list(MedicationClass)), max_size=3, unique=True),
            st.lists(st.sampled_from(NON_TRIGGERING), max_size=2, unique=True),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_write_path_stores_what_the_index_predicates_read(
    client: TestClient, app: FastAPI, session: Session, logs: list[tuple[list[MedicationClass], list[Symptom]]]
) -> None:
    """Through the API: the ``muscle_relaxant`` column and ``NUMBNESS_SQL`` match the stored log's content."""
    set_clock(app, session, NOW)
    patient = make_patient(session, app, timezone=ZONE)
    headers = patient_auth(session, app, patient)
    for i, (medications, symptoms) in enumerate(logs):
        body = {
            "back_pain": 4,
            "client_updated_at": NOW.isoformat(),
            "medications": [{"class": str(m)} for m in medications],
            "symptoms": {str(s): True for s in symptoms},
        }
        on = TODAY - timedelta(days=i + 1)
        response = client.put(f"/api/v1/me/pain-logs/{on.isoformat()}", json=body, headers=headers)
        assert response.status_code < 300, response.json()
    session.rollback()
    assert patient.id is not None
    days = {d.on: d for d in load_pain_days_for(session, [patient.id])[patient.id]}
    relaxant = set(
        session.exec(
            select(col(PainLog.log_date)).where(PainLog.patient_id == patient.id, sa.text(MUSCLE_RELAXANT_SQL))
        ).all()
    )
    numb = set(
        session.exec(select(col(PainLog.log_date)).where(PainLog.patient_id == patient.id, sa.text(NUMBNESS_SQL))).all()
    )
    assert relaxant == {on for on, d in days.items() if MedicationClass.MUSCLE_RELAXANT in d.medications}
    assert numb == {on for on, d in days.items() if Symptom.ONE_LEG_NUMBNESS in d.symptoms}
    assert len(days) == len(logs)
