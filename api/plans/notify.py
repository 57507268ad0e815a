"""Telling the patient about a plan decision, in plain words.

Weekly ``hold`` decisions are not pushed (the app shows them with the plan): a
message every week saying nothing changed would teach patients to ignore the
ones that matter. Clinicians' free-text reasons are never put in a push message
(lock screens are not private); the patient reads them in the plan history.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from api.models import NotificationKind, Patient, Plan, PlanDecision
from api.notifications.service import NotificationDraft, enqueue_notifications
from api.rules.types import PlanAction
from exercise_library import get_library


def _level_words(plan: Plan) -> str:
    try:
        name = get_library().level_name(plan.template_id, plan.level)
    except KeyError:
        return f"level {plan.level}"
    return f"level {plan.level} ({name})"


def _template_name(plan: Plan) -> str:
    try:
        return get_library().template(plan.template_id).name
    except KeyError:
        return "your exercise plan"


def message_for(plan: Plan, action: PlanAction, *, new_plan: bool, by_clinician: bool) -> tuple[str, str] | None:
    """Title and body for the patient about ``plan`` after ``action``; None when not worth a message."""
    level = _level_words(plan)
    if action is PlanAction.ASSIGN:
        if new_plan:
            return "Your exercise plan is ready", f"{_template_name(plan)}: you start at {level}."
        return "Your exercise plan has changed", f"Your plan is now {_template_name(plan)}, starting at {level}."
    if action is PlanAction.PROGRESS:
        return "Moving up a level", f"You managed last week's plan well, so you move up to {level}."
    if action is PlanAction.REGRESS:
        return (
            "A lighter week",
            f"Last week was a tough one, so your plan steps back to {level}. This is normal: you will build up again.",
        )
    if action is PlanAction.COMPLETE:
        return (
            "Plan complete",
            "You have completed the top level. Keep going with this routine: staying active helps.",
        )
    if action is PlanAction.REDUCE:
        until = plan.reduced_until.isoformat() if plan.reduced_until else "your next log"
        return (
            "A lighter plan for a couple of days",
            f"Flare-ups are common and usually settle. Your plan is lighter until {until}: "
            "do not stop, keep walking and moving gently.",
        )
    if action is PlanAction.RESTORE:
        return "Back to your usual plan", f"Your flare-up has settled: you are back on {level}."
    if action is PlanAction.PAUSE:
        return (
            "Your exercise plan is paused",
            "Your physiotherapist will review your plan before you continue. Follow the advice you were given.",
        )
    if action is PlanAction.RESUME:
        return "Your exercise plan has restarted", f"Your physiotherapist has restarted your plan at {level}."
    if action is PlanAction.SET_LEVEL and by_clinician:
        return "Your physiotherapist changed your plan", f"Your plan is now {level}."
    return None


def draft_for(
    plan: Plan,
    *,
    user_id: int,
    decision_id: int,
    action: PlanAction,
    new_plan: bool = False,
    by_clinician: bool = False,
) -> NotificationDraft | None:
    """The ``plan_change`` message for a decision (once per decision: keyed by its id)."""
    message = message_for(plan, action, new_plan=new_plan, by_clinician=by_clinician)
    if message is None:
        return None
    title, body = message
    return NotificationDraft(
        user_id=user_id,
        kind=NotificationKind.PLAN_CHANGE,
        title=title,
        body=body,
        patient_id=plan.patient_id,
        occurrence_key=f"plan-decision:{decision_id}",
        data={"plan_id": plan.id, "decision_id": decision_id, "action": str(action)},
    )


def notify_decision(session: Session, plan: Plan, decision: PlanDecision, now: datetime) -> None:
    """Queue the patient's ``plan_change`` message about ``decision``, if it deserves one."""
    patient = session.get(Patient, plan.patient_id)
    if patient is None or decision.id is None:
        return
    draft = draft_for(
        plan,
        user_id=patient.user_id,
        decision_id=decision.id,
        action=PlanAction(decision.action),
        new_plan=decision.from_level is None,
        by_clinician=decision.actor_type == "clinician",
    )
    if draft is not None:
        enqueue_notifications(session, [draft], now)
