"""Acting on the decisions in bulk changes nothing but the statement count (issue 14).

``after_logs_written`` acts on a non-quiet ``Decisions`` through ``apply_decisions`` (alerts
inserted at once, one guarded pause, every message in one insert). The escalation and
flare services it replaced (``evaluate_written_logs``) still exist: both run here over the
same arranged data, each in its own transaction rolled back afterwards, and must leave
the same rows (alerts, messages, deliveries, plan and its decisions, audit) and answer
the same (triage, advice, flare, plan view), ids aside. Generated cases (hypothesis):
histories, plans active / reduced / paused / absent, red flags, an earlier alert of the
same report open / acknowledged / resolved, a care team or none, devices or none.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.alerts.lifecycle import acknowledge_alert, resolve_alert
from api.alerts.service import raise_alerts
from api.alerts.snapshot import profile_of, symptoms_of
from api.db import session_scope
from api.escalation.snapshot import write_and_load
from api.models import (
    Alert,
    AuditEvent,
    CareTeamMember,
    Delivery,
    DevicePlatform,
    Notification,
    Patient,
    Plan,
    PlanDecision,
    User,
)
from api.notifications.devices import register_device
from api.pain_logs.evaluation import Written, after_logs_written, evaluate_written_logs
from api.pain_logs.schemas import PainLogWrite
from api.pain_logs.service import upsert_pain_log
from api.plans.views import plan_public
from api.rules.pipeline import LogsWritten, evaluate
from api.rules.settings import DEFAULT_RULES
from api.rules.triage import triage
from tests.capture.helpers import START
from tests.capture.test_pipeline_equivalence import TODAY, _arrange, days, plans

reports = st.sampled_from(
    [
        {"bladder_change": True},
        {"saddle_numbness": True, "bowel_change": True},
        {"night_pain": True},
        {"fever": True},
        {"one_leg_numbness": True},
        {},
    ]
)
earlier = st.sampled_from(["none", "open", "acknowledged", "resolved"])
_IDS = re.compile(r"(alert[:/]|after:)(\d+)")


def _prior(engine: Engine, patient_id: int, reported: dict[str, bool], state: str) -> None:
    """An alert of today's report raised before, left open, acknowledged or resolved."""
    if state == "none":
        return
    with session_scope(engine) as db:
        patient = db.get(Patient, patient_id)
        assert patient is not None
        specs = triage(symptoms_of(reported), profile_of(patient), TODAY, frozenset(), DEFAULT_RULES).alerts
        raised = raise_alerts(db, [(patient_id, spec) for spec in specs], START - timedelta(hours=2))
        clinician = db.exec(
            select(User)
            .join(CareTeamMember, col(CareTeamMember.clinician_id) == User.id)
            .where(CareTeamMember.patient_id == patient_id)
        ).first()
        for r in raised:
            if r.alert is None or r.alert.id is None or clinician is None:
                continue
            if state == "acknowledged":
                acknowledge_alert(db, clinician, r.alert.id, None, START - timedelta(hours=1))
            elif state == "resolved":
                resolve_alert(db, clinician, r.alert.id, "seen", START - timedelta(hours=1))


def _state(db: Session, patient: Patient, before: dict[str, int], written: Written) -> Any:
    """Everything the write left, with the ids it created replaced by their order of creation."""
    names: dict[str, str] = {}

    def name(kind: str, value: Any) -> Any:
        if value is None or int(value) <= before[kind]:
            return value
        return names.setdefault(f"{kind}{value}", f"{kind}#{len([k for k in names if k.startswith(kind)])}")

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return _IDS.sub(lambda m: m.group(1) + str(name("alert", m.group(2))), value)
        if isinstance(value, dict):
            return {k: name("alert", v) if k == "alert_id" else scrub(v) for k, v in sorted(value.items())}
        if isinstance(value, list | tuple):
            return [scrub(v) for v in value]
        return value

    db.flush()
    pid = patient.id
    alerts = db.exec(select(Alert).where(Alert.patient_id == pid).order_by(col(Alert.id))).all()
    for a in alerts:
        name("alert", a.id)
    decisions = db.exec(select(PlanDecision).where(PlanDecision.patient_id == pid).order_by(col(PlanDecision.id))).all()
    for d in decisions:
        name("decision", d.id)
    notes = db.exec(select(Notification).where(Notification.patient_id == pid).order_by(col(Notification.id))).all()
    for n in notes:
        name("note", n.id)
    deliveries = db.exec(
        select(Delivery).where(col(Delivery.notification_id).in_([n.id for n in notes])).order_by(col(Delivery.id))
    ).all()
    audit = db.exec(select(AuditEvent).where(AuditEvent.patient_id == pid).order_by(col(AuditEvent.id))).all()
    plan = db.exec(select(Plan).where(Plan.patient_id == pid)).first()

    def decision_key(text: str) -> str:
        return re.sub(r"plan-decision:(\d+)", lambda m: f"plan-decision:{name('decision', m.group(1))}", text)

    return {
        "alerts": [
            (
                name("alert", a.id),
                *(a.rule, a.tier, a.status, scrub(a.occurrence_key), scrub(a.evidence)),
                *(a.notify_count, a.last_notified_at, a.opened_at),
            )
            for a in alerts
        ],
        "decisions": [
            (
                name("decision", d.id),
                *(d.action, d.from_level, d.to_level, d.from_status, d.to_status),
                *(d.reasons, scrub(d.inputs), d.actor_type, d.decided_at),
            )
            for d in decisions
        ],
        "notifications": [
            (
                name("note", n.id),
                *(n.user_id, n.kind, n.title, n.body, n.safety, name("alert", n.alert_id)),
                *(scrub(decision_key(n.occurrence_key or "")), scrub({**n.data, "decision_id": None}), n.intended_at),
            )
            for n in notes
        ],
        "deliveries": [
            (name("note", d.notification_id), d.device_id, d.status, d.safety, d.next_attempt_at) for d in deliveries
        ],
        "audit": [(e.action, e.actor_role, scrub(e.resource), scrub(e.detail)) for e in audit],
        "plan": None
        if plan is None
        else (plan.status, plan.status_before_pause, plan.flare_started_on, plan.reduced_until, plan.updated_at),
        "triage": (written.triage.tier, written.triage.advice, [name("alert", i) for i in written.triage.alert_ids]),
        "flare": written.flare,
        "plan_view": None
        if written.plan is None
        else written.plan.model_dump(mode="json") | {"last_decision": scrub(_view(written))},
    }


def _view(written: Written) -> Any:
    assert written.plan is not None
    last = written.plan.last_decision
    return None if last is None else last.model_dump(mode="json")


def _latest_ids(db: Session) -> dict[str, int]:
    def top(model: Any) -> int:
        return max(db.exec(select(col(model.id))).all(), default=0) or 0

    return {"alert": top(Alert), "decision": top(PlanDecision), "note": top(Notification)}


def _run(engine: Engine, patient_id: int, body: PainLogWrite, *, bulk: bool) -> Any:
    db = Session(engine, expire_on_commit=False)
    try:
        patient = db.get(Patient, patient_id)
        assert patient is not None
        before = _latest_ids(db)
        written = upsert_pain_log(db, patient, TODAY, body, START)
        if bulk:
            result = after_logs_written(db, patient, [written.log], START, DEFAULT_RULES)
        else:  # the services' way, as after_logs_written acted before issue 14
            loaded = write_and_load(db, patient, [TODAY], START)
            decisions = evaluate(loaded.snapshot, LogsWritten((TODAY,)), START, DEFAULT_RULES)
            if decisions.quiet:
                return None
            old = evaluate_written_logs(db, patient, [written.log], START, DEFAULT_RULES, decided=decisions)
            changed = db.get(Plan, loaded.plan.id) if loaded.plan is not None else None
            view = plan_public(db, changed, patient.locale) if changed is not None else None
            result = Written(old.triage, old.flare, view)
        return _state(db, patient, before, result)
    finally:
        db.rollback()
        db.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    history=st.lists(days, max_size=50),
    plan=plans,
    flare_age=st.integers(0, 10),
    pain=st.integers(0, 10),
    flare=st.booleans(),
    reported=reports,
    prior=earlier,
    team=st.booleans(),
    devices=st.booleans(),
)
def test_acting_in_bulk_leaves_what_the_services_left(
    app: FastAPI,
    engine: Engine,
    session: Session,
    history: list[Any],
    plan: str,
    flare_age: int,
    pain: int,
    flare: bool,
    reported: dict[str, bool],
    prior: str,
    team: bool,
    devices: bool,
) -> None:
    patient_id = _arrange(app, engine, session, history, plan, flare_age, team=team)
    _prior(engine, patient_id, reported, prior)
    if devices:
        with session_scope(engine) as db:
            patient = db.get(Patient, patient_id)
            assert patient is not None
            register_device(db, patient.user_id, DevicePlatform.FCM, f"p{patient_id}", START)
            for user in db.exec(select(User).where(User.role != "patient")).all():
                assert user.id is not None
                register_device(db, user.id, DevicePlatform.FCM, f"u{user.id}-{patient_id}", START)
    body = PainLogWrite.model_validate(
        {"back_pain": pain, "flare": flare, "symptoms": reported, "client_updated_at": START.isoformat()}
    )
    old = _run(engine, patient_id, body, bulk=False)
    if old is None:
        return  # quiet: test_pipeline_equivalence covers it
    new = _run(engine, patient_id, body, bulk=True)
    assert new == old
