"""The flare protocol on each pain log (CLINICAL_RULES.md §5): reduce for 2 days, never stop.

Call ``flare_check`` after every pain log upsert, in the same transaction. The rules core (``api.rules.flare``) decides;
this module loads the plan's flare state and the logs around it and persists the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from api.alerts.service import raise_alert
from api.clock import local_today
from api.models import Alert, PainLog, Patient, Plan, PlanDecision, PlanStatus
from api.plans.service import locked_plan, record_decision, return_status
from api.rules.flare import FlareState, flare_step
from api.rules.monitoring import prolonged_flare
from api.rules.progression import usual_pain
from api.rules.settings import RuleSettings
from api.rules.text import Msg
from api.rules.types import PainDay, PlanAction


@dataclass(frozen=True, slots=True)
class FlareCheck:
    """What a pain log did to the plan.

    ``decision`` is the ``reduce`` or ``restore`` decision (None when nothing changed);
    ``ask_red_flags`` tells the pain-log response to re-ask the red-flag questions;
    ``message`` is the flare step in plain words (None without a plan or when paused);
    ``alert`` is the open ``prolonged_flare`` alert when the flare has lasted > 7 days.
    """

    decision: PlanDecision | None
    ask_red_flags: bool
    message: str | None
    alert: Alert | None = None


NO_CHANGE = FlareCheck(decision=None, ask_red_flags=False, message=None)


def pain_day(log: PainLog) -> PainDay:
    return PainDay(on=log.log_date, back_pain=log.back_pain, flare=log.flare, activity_minutes=log.activity_minutes)


def _days(session: Session, patient_id: int, first: date, last: date) -> list[PainDay]:
    rows = session.exec(
        select(col(PainLog.log_date), col(PainLog.back_pain), col(PainLog.flare)).where(
            PainLog.patient_id == patient_id, col(PainLog.log_date) >= first, col(PainLog.log_date) <= last
        )
    ).all()
    return [PainDay(on=on, back_pain=pain, flare=flare) for on, pain, flare in rows]


def _flare_state(plan: Plan, days: list[PainDay], rules: RuleSettings) -> FlareState | None:
    if plan.status != PlanStatus.REDUCED or plan.flare_started_on is None or plan.reduced_until is None:
        return None
    # The usual pain *before* the flare, recomputed from the same logs the start used.
    return FlareState(plan.flare_started_on, plan.reduced_until, usual_pain(days, plan.flare_started_on, rules))


def _number_reason(day: PainDay, usual: float | None) -> str:
    if day.flare:
        return Msg("you reported a flare-up (back pain {pain})", pain=day.back_pain)
    if usual is None:
        return Msg("back pain {pain}", pain=day.back_pain)
    return Msg("back pain {pain} (usual {usual})", pain=day.back_pain, usual=Decimal(f"{usual:g}"))


def flare_check(
    session: Session,
    patient: Patient,
    log: PainLog,
    now: datetime,
    *,
    rules: RuleSettings,
) -> FlareCheck:
    """Advance the flare protocol for the patient's local today with ``log`` (already flushed).

    - no plan, or a paused plan → nothing (a paused plan waits for a clinician);
    - a flare log (``flare`` or back pain ≥ usual + 2) for today → ``reduce``: status
      ``reduced`` for 2 days (today and tomorrow), walking continues;
    - from day 3, today's log settled (≤ usual + 1, no flare reported) → ``restore`` to
      the status before the flare; not settled → ``reduce`` 2 more days;
    - back-dated logs never start or end a flare;
    - a flare lasting > 7 days opens the routine ``prolonged_flare`` alert.
    """
    assert patient.id is not None
    plan = locked_plan(session, patient.id)
    if plan is None or plan.status == PlanStatus.PAUSED:
        return NO_CHANGE
    today = local_today(patient.timezone, now)
    lookback = timedelta(days=rules.usual_pain_lookback_days)
    first = min(today, plan.flare_started_on or today) - lookback
    days = _days(session, patient.id, first, today)
    state = _flare_state(plan, days, rules)
    usual_now = usual_pain(days, today, rules)
    day = pain_day(log)
    step = flare_step(state, day, today, usual_now, rules)
    decision = None
    if step.action is not None:
        usual = state.usual if state is not None else usual_now
        episode = state or step.state
        assert episode is not None
        inputs: dict[str, Any] = {
            "today": today.isoformat(),
            "log_date": day.on.isoformat(),
            "back_pain": day.back_pain,
            "flare_reported": day.flare,
            "usual": usual,
            "flare_started_on": episode.started_on.isoformat(),
            "reduced_until": step.state.reduced_until.isoformat() if step.state else None,
        }
        from_level, from_status = plan.level, plan.status
        if step.action is PlanAction.REDUCE:
            assert step.state is not None
            if state is None:
                plan.status_before_pause = plan.status
                plan.status = PlanStatus.REDUCED
                plan.flare_started_on = step.state.started_on
            plan.reduced_until = step.state.reduced_until
        else:
            plan.status = return_status(plan)
            plan.status_before_pause = None
            plan.flare_started_on = plan.reduced_until = None
        decision = record_decision(
            session,
            plan,
            action=step.action,
            from_level=from_level,
            from_status=from_status,
            reasons=[step.reason, _number_reason(day, usual)],
            inputs=inputs,
            now=now,
            ruleset_version=step.ruleset_version,
        )
    alert = None
    spec = prolonged_flare(plan.flare_started_on, today, rules)
    if spec is not None:
        alert = raise_alert(session, patient.id, spec, now)
    return FlareCheck(decision=decision, ask_red_flags=step.ask_red_flags, message=step.reason, alert=alert)
