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

from api.escalation.evaluation import evaluate_pain_logs, triage_of_logs
from api.i18n import render
from api.models import PainLog, Patient
from api.pain_logs.schemas import TriagePublic
from api.plans.flare import flare_check
from api.plans.schemas import PlanPublic
from api.plans.service import plan_for
from api.plans.views import plan_public
from api.rules.advice import RED_FLAG_QUESTIONS, advice_for
from api.rules.settings import RuleSettings
from api.rules.types import highest_tier
from api.schemas import Public


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


def evaluate_written_logs(
    session: Session, patient: Patient, logs: Sequence[PainLog], now: datetime, rules: RuleSettings
) -> Evaluated:
    """Run the rules over logs just created or changed (any number, e.g. a synced batch)."""
    ordered = sorted(logs, key=lambda log: log.log_date)
    outcome = evaluate_pain_logs(session, patient, now, new_logs=ordered, rules=rules)
    flare = None
    for log in ordered:
        check = flare_check(session, patient, log, now, rules=rules)
        if check.ask_red_flags and check.message is not None:
            questions = [
                RedFlagQuestion(symptom=s.value, text=render(t, patient.locale)) for s, t in RED_FLAG_QUESTIONS.items()
            ]
            flare = FlarePublic(message=render(check.message, patient.locale), red_flag_questions=questions)
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
