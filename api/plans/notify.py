"""Telling the patient about a plan decision, in plain words.

Weekly ``hold`` decisions are not pushed (the app shows them with the plan): a
message every week saying nothing changed would teach patients to ignore the
ones that matter. Clinicians' free-text reasons are never put in a push message
(lock screens are not private); the patient reads them in the plan history.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from api.i18n import DEFAULT_LOCALE
from api.models import NotificationKind, Patient, Plan, PlanDecision
from api.notifications.service import NotificationDraft, enqueue_notifications
from api.rules.text import Msg
from api.rules.types import PlanAction
from exercise_library import get_library


def _level_words(plan: Plan, locale: str) -> Msg:
    try:
        name = get_library().in_locale(locale).level_name(plan.template_id, plan.level)
    except KeyError:
        return Msg("level {level}", level=plan.level)
    return Msg("level {level} ({name})", level=plan.level, name=name)


def _template_name(plan: Plan, locale: str) -> str:
    try:
        return get_library().in_locale(locale).template(plan.template_id).name
    except KeyError:
        return Msg("your exercise plan")


def message_for(
    plan: Plan, action: PlanAction, *, new_plan: bool, by_clinician: bool, locale: str = DEFAULT_LOCALE
) -> tuple[Msg, Msg] | None:
    """Title and body for the patient about ``plan`` after ``action``; None when not worth a message.

    Catalogue messages, rendered in the patient's locale when written; the plan and level
    names they quote come from the library in ``locale``.
    """
    level = _level_words(plan, locale)
    if action is PlanAction.ASSIGN:
        if new_plan:
            return Msg("Your exercise plan is ready"), Msg(
                "{plan}: you start at {level}.", plan=_template_name(plan, locale), level=level
            )
        return Msg("Your exercise plan has changed"), Msg(
            "Your plan is now {plan}, starting at {level}.", plan=_template_name(plan, locale), level=level
        )
    if action is PlanAction.PROGRESS:
        return Msg("Moving up a level"), Msg(
            "You managed last week's plan well, so you move up to {level}.", level=level
        )
    if action is PlanAction.REGRESS:
        return (
            Msg("A lighter week"),
            Msg(
                "Last week was a tough one, so your plan steps back to {level}. "
                "This is normal: you will build up again.",
                level=level,
            ),
        )
    if action is PlanAction.COMPLETE:
        return (
            Msg("Plan complete"),
            Msg("You have completed the top level. Keep going with this routine: staying active helps."),
        )
    if action is PlanAction.REDUCE:
        until = plan.reduced_until if plan.reduced_until else Msg("your next log")
        return (
            Msg("A lighter plan for a couple of days"),
            Msg(
                "Flare-ups are common and usually settle. Your plan is lighter until {until}: "
                "do not stop, keep walking and moving gently.",
                until=until,
            ),
        )
    if action is PlanAction.RESTORE:
        return Msg("Back to your usual plan"), Msg("Your flare-up has settled: you are back on {level}.", level=level)
    if action is PlanAction.PAUSE:
        return (
            Msg("Your exercise plan is paused"),
            Msg("Your physiotherapist will review your plan before you continue. Follow the advice you were given."),
        )
    if action is PlanAction.RESUME:
        return Msg("Your exercise plan has restarted"), Msg(
            "Your physiotherapist has restarted your plan at {level}.", level=level
        )
    if action is PlanAction.SET_LEVEL and by_clinician:
        return Msg("Your physiotherapist changed your plan"), Msg("Your plan is now {level}.", level=level)
    return None


def draft_for(
    plan: Plan,
    *,
    user_id: int,
    decision_id: int,
    action: PlanAction,
    new_plan: bool = False,
    by_clinician: bool = False,
    locale: str = DEFAULT_LOCALE,
) -> NotificationDraft | None:
    """The ``plan_change`` message for a decision (once per decision: keyed by its id)."""
    message = message_for(plan, action, new_plan=new_plan, by_clinician=by_clinician, locale=locale)
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
        locale=patient.locale,
    )
    if draft is not None:
        enqueue_notifications(session, [draft], now)
