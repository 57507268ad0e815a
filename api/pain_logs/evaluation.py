"""What happens after pain logs are written, in the same transaction as the write.

The escalation service triages the logs' symptoms and evaluates the checkpoint rules
(so a back-dated log that completes a window raises its alert at once), pausing the
plan and telling the care team on an emergency or urgent triage. The plan's flare
protocol then sees each changed log in date order. A replay changes nothing, but its
response must still carry the safety advice the first response may have lost, so
``replay_triage`` reads the tier without side effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from api.alerts.snapshot import record_checkpoints
from api.escalation.evaluation import apply_decisions, evaluate_pain_logs, triage_of_logs
from api.escalation.snapshot import LastDecision, Loaded, write_and_load
from api.i18n import render
from api.i18n.patients import rules_in
from api.models import ActorType, PainLog, Patient, Plan
from api.pain_logs.schemas import TriagePublic
from api.plans.flare import flare_check
from api.plans.schemas import PlanPublic
from api.plans.service import plan_for
from api.plans.views import decision_summary, plan_public, plan_public_of
from api.rules.advice import RED_FLAG_QUESTIONS, advice_for
from api.rules.pipeline import Decisions, LogsWritten, evaluate
from api.rules.settings import RuleSettings
from api.rules.types import PlanAction, Tier, highest_tier
from api.schemas import Public
from api.standing.service import save_written


class RedFlagQuestion(Public):
    symptom: str
    text: str


class FlarePublic(Public):
    """The flare protocol's answer to a log: what changed and the red-flag questions re-asked."""

    message: str
    red_flag_questions: list[RedFlagQuestion]


@dataclass(frozen=True, slots=True)
class Evaluated:
    triage: TriagePublic
    flare: FlarePublic | None


@dataclass(frozen=True, slots=True)
class Written:
    """The response's part of a write: triage, flare step, plan after it."""

    triage: TriagePublic
    flare: FlarePublic | None
    plan: PlanPublic | None


def _flare_public(message: str, locale: str) -> FlarePublic:
    """The flare step's message and the red-flag questions re-asked, in the patient's language."""
    questions = [RedFlagQuestion(symptom=s.value, text=render(t, locale)) for s, t in RED_FLAG_QUESTIONS.items()]
    return FlarePublic(message=render(message, locale), red_flag_questions=questions)


def after_logs_written(
    session: Session, patient: Patient, logs: Sequence[PainLog], now: datetime, rules: RuleSettings
) -> Written:
    """Load once, decide once, save once, for logs just created or changed (already flushed).

    The patient row's bookkeeping update loads the snapshot (``write_and_load``); the pure
    ``api.rules.pipeline.evaluate`` decides; when nothing is raised, paused, reduced or
    restored, persisting is the checkpoint outcomes that changed (one upsert, often none).
    Anything else is acted on in bulk from the snapshot
    (``api.escalation.evaluation.apply_decisions``), then the flare protocol runs unless
    the plan was just paused. Either way the patient's current state for the triage list
    is saved last, whole, in one upsert (``api.standing``).
    """
    assert patient.id is not None
    dates = tuple(log.log_date for log in logs)
    loaded = write_and_load(session, patient, dates, now)
    decisions = evaluate(loaded.snapshot, LogsWritten(dates), now, rules)
    if not decisions.quiet:
        written = _act_on(session, patient, logs, loaded, decisions, now, rules)
        save_written(session, patient, loaded.snapshot.days, now, rules)
        return written
    if decisions.checkpoints_to_record:
        record_checkpoints(session, [(patient.id, o) for o in decisions.checkpoints_to_record], now)
    save_written(session, patient, loaded.snapshot.days, now, rules)
    asked = decisions.asks_red_flags
    plan = None
    if loaded.plan is not None:
        plan = plan_public_of(loaded.plan, decision_summary(loaded.last_decision), patient.locale)
    # The advice names the emergency number of the patient's country, in their language.
    locale, local_rules = rules_in(patient, loaded.reach.country, rules)
    return Written(
        triage=TriagePublic(tier=Tier.NONE, advice=render(advice_for(Tier.NONE, local_rules), locale), alert_ids=[]),
        flare=_flare_public(asked.reason, locale) if asked is not None else None,
        plan=plan,
    )


def _act_on(
    session: Session,
    patient: Patient,
    logs: Sequence[PainLog],
    loaded: Loaded,
    decisions: Decisions,
    now: datetime,
    rules: RuleSettings,
) -> Written:
    """Save what was decided (``apply_decisions``), then the flare protocol unless the plan was paused."""
    applied = apply_decisions(session, patient, loaded, decisions, now, rules)
    outcome = applied.outcome
    triage = TriagePublic(tier=outcome.tier, advice=outcome.advice, alert_ids=list(outcome.alert_ids))
    if applied.paused is not None:
        # Paused by this write, from the plan as loaded: the plan view is the row the pause returned.
        paused = applied.paused
        summary = decision_summary(LastDecision(str(PlanAction.PAUSE), paused.reasons, str(ActorType.SYSTEM), now))
        return Written(triage, None, plan_public_of(paused.plan, summary, patient.locale))
    flare = None
    if not outcome.pauses_plan:
        # The plan was not paused: the flare protocol sees each log in date order.
        for log in sorted(logs, key=lambda log: log.log_date):
            check = flare_check(session, patient, log, now, rules=rules)
            if check.ask_red_flags and check.message is not None:
                flare = _flare_public(check.message, patient.locale)
    # A pain log never creates a plan; the one the services changed is in the session already.
    changed = session.get(Plan, loaded.plan.id) if loaded.plan is not None else None
    return Written(triage, flare, plan_public(session, changed, patient.locale) if changed else None)


def evaluate_written_logs(
    session: Session,
    patient: Patient,
    logs: Sequence[PainLog],
    now: datetime,
    rules: RuleSettings,
    *,
    decided: Decisions | None = None,
) -> Evaluated:
    """Run the rules over logs just created or changed through the services, loading what they read.

    What ``after_logs_written`` did before it acted on its snapshot in bulk; kept as the
    reference the bulk path is checked against (``tests/capture/test_apply_equivalence.py``).
    """
    ordered = sorted(logs, key=lambda log: log.log_date)
    outcome = evaluate_pain_logs(session, patient, now, new_logs=ordered, rules=rules, decided=decided)
    flare = None
    if outcome.pauses_plan:
        # The plan was just paused (or there is none): the flare protocol leaves a paused plan alone.
        triage = TriagePublic(tier=outcome.tier, advice=outcome.advice, alert_ids=list(outcome.alert_ids))
        return Evaluated(triage=triage, flare=None)
    for log in ordered:
        check = flare_check(session, patient, log, now, rules=rules)
        if check.ask_red_flags and check.message is not None:
            flare = _flare_public(check.message, patient.locale)
    triage = TriagePublic(tier=outcome.tier, advice=outcome.advice, alert_ids=list(outcome.alert_ids))
    return Evaluated(triage=triage, flare=flare)


def replay_triage(
    session: Session, patient: Patient, logs: Sequence[PainLog], now: datetime, rules: RuleSettings
) -> TriagePublic:
    """The triage of logs already evaluated, read without raising or pausing anything."""
    outcome = triage_of_logs(session, patient, now, logs=list(logs), rules=rules)
    return TriagePublic(tier=outcome.tier, advice=outcome.advice, alert_ids=list(outcome.alert_ids))


def strongest(triages: Sequence[TriagePublic], rules: RuleSettings) -> TriagePublic:
    """One triage for a batch: the most urgent tier, its advice, every alert id."""
    tier = highest_tier(t.tier for t in triages)
    ids = sorted({i for t in triages for i in t.alert_ids})
    advice = next((t.advice for t in triages if t.tier is tier), advice_for(tier, rules))
    return TriagePublic(tier=tier, advice=advice, alert_ids=ids)


def current_plan(session: Session, patient: Patient) -> PlanPublic | None:
    assert patient.id is not None
    plan = plan_for(session, patient.id)
    return plan_public(session, plan, patient.locale) if plan is not None else None
