"""What the patient (and their clinician) sees of a plan: the plan, today's prescription, the history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from types import MappingProxyType
from typing import Protocol

from sqlmodel import Session, col, func, select

from api.clock import local_today
from api.errors import Problem, field_error
from api.exercises.schemas import PrescribedPublic
from api.i18n import DEFAULT_LOCALE, render, translate_stored
from api.models import ExerciseSession, Patient, Plan, PlanDecision, PlanStatus
from api.pagination import Keyset
from api.plans.schemas import DecisionSummary, PlanDecisionPublic, PlanPublic, PlanTodayPublic
from api.plans.service import plan_for
from api.rules.progression import planned_weekdays
from api.rules.text import Msg
from api.schemas import Page
from exercise_library import Prescribed, get_library

# While paused (an emergency or urgent red flag awaits a clinician) nothing that loads
# the back is prescribed: only relaxation/breathing items of the level, and no walking
# target. The patient follows the safety advice they were given.
PAUSED_CATEGORIES = frozenset({"relaxation"})


@cache
def library_glossary(locale: str) -> Mapping[str, str]:
    """English plan, level and exercise names to their names in ``locale`` (for stored reasons)."""
    english, local = get_library(), get_library().in_locale(locale)
    names = {e.name: local.exercises[e.id].name for e in english.exercises.values()}
    for template in english.templates.values():
        here = local.templates[template.id]
        names[template.name] = here.name
        names.update({level.name: here.level(level.number).name for level in template.levels})
    return MappingProxyType(names)


def require_patient_plan(session: Session, patient: Patient) -> Plan:
    assert patient.id is not None
    plan = plan_for(session, patient.id)
    if plan is None:
        raise Problem(
            404, "no_plan", "no exercise plan yet: it is assigned when the STarT Back questionnaire is completed"
        )
    return plan


def _prescribed(items: Iterable[Prescribed]) -> list[PrescribedPublic]:
    return [PrescribedPublic.model_validate(p) for p in items]


def plan_public(session: Session, plan: Plan, locale: str = DEFAULT_LOCALE) -> PlanPublic:
    """The plan; reasons and texts in ``locale`` (the patient's own; clinicians read English)."""
    last = session.exec(
        select(PlanDecision)
        .where(PlanDecision.plan_id == plan.id)
        .order_by(col(PlanDecision.decided_at).desc(), col(PlanDecision.id).desc())
    ).first()
    return plan_public_of(plan, decision_summary(last), locale)


class Decided(Protocol):
    """What a plan's latest decision shows, stored (``PlanDecision``) or loaded with the snapshot."""

    @property
    def action(self) -> str: ...
    @property
    def reasons(self) -> list[str]: ...
    @property
    def actor_type(self) -> str: ...
    @property
    def decided_at(self) -> datetime: ...


def decision_summary(last: Decided | None) -> DecisionSummary | None:
    """The latest decision as the plan shows it (reasons as stored, in English)."""
    if last is None:
        return None
    return DecisionSummary(action=last.action, reasons=last.reasons, actor=last.actor_type, decided_at=last.decided_at)


def plan_public_of(plan: Plan, last_decision: DecisionSummary | None, locale: str = DEFAULT_LOCALE) -> PlanPublic:
    """The plan's public shape from the plan and its latest decision (stored English), already loaded.

    Names, texts and the decision's reasons are rendered in ``locale``.
    """
    library = get_library().in_locale(locale)
    template = library.template(plan.template_id)
    level = template.level(plan.level)
    reviewing = plan.status in (PlanStatus.ACTIVE, PlanStatus.REDUCED)
    assert plan.id is not None
    return PlanPublic(
        id=plan.id,
        template_id=plan.template_id,
        template_name=template.name,
        level=plan.level,
        level_count=len(template.levels),
        level_name=level.name,
        status=PlanStatus(plan.status),
        sessions_per_week=plan.sessions_per_week,
        prescription=_prescribed(library.prescription(plan.template_id, plan.level)),
        walking_minutes_target=plan.walking_minutes_target,
        started_on=plan.started_on,
        level_started_on=plan.level_started_on,
        next_review_on=plan.next_review_on if reviewing else None,
        reduced_until=plan.reduced_until if plan.status == PlanStatus.REDUCED else None,
        education=list(level.education),
        last_decision=None
        if last_decision is None
        else last_decision.model_copy(
            update={"reasons": [translate_stored(r, locale, library_glossary(locale)) for r in last_decision.reasons]}
        ),
    )


def today_public(session: Session, patient: Patient, plan: Plan, now: datetime) -> PlanTodayPublic:
    """Today's prescription in the patient's local date.

    active/completed: the level's prescription · reduced (flare): the lighter
    prescription, walking continues · paused: relaxation items only, no walking target.
    """
    library = get_library().in_locale(patient.locale)
    today = local_today(patient.timezone, now)
    done = session.exec(
        select(func.count())
        .select_from(ExerciseSession)
        .where(ExerciseSession.patient_id == patient.id, ExerciseSession.performed_on == today)
    ).one()
    level_name = library.level_name(plan.template_id, plan.level)
    planned = today.weekday() in planned_weekdays(plan.sessions_per_week)
    status = PlanStatus(plan.status)
    walking: float | None = plan.walking_minutes_target
    reduced_until = plan.reduced_until if status == PlanStatus.REDUCED else None
    if status == PlanStatus.PAUSED:
        items = [
            p
            for p in library.prescription(plan.template_id, plan.level)
            if library.exercise(p.exercise_id).category in PAUSED_CATEGORIES
        ]
        walking, planned = None, False
        message: str = Msg(
            "Your exercise plan is paused until your physiotherapist has reviewed it. Follow the advice you were given."
        )
    elif status == PlanStatus.REDUCED:
        items = list(library.reduced_prescription(plan.template_id, plan.level))
        if reduced_until is not None and today > reduced_until:
            message = Msg(
                "Log today's pain to check whether your flare-up has settled. Until then, keep to the lighter plan."
            )
        else:
            until = reduced_until if reduced_until else Msg("your next log")
            message = Msg(
                "Flare-up: a lighter plan until {until}. Do not stop: keep walking and moving gently.", until=until
            )
    else:
        items = list(library.prescription(plan.template_id, plan.level))
        if status == PlanStatus.COMPLETED:
            message = Msg("Plan complete: keep going with this routine. Staying active helps.")
        elif planned:
            message = Msg("Today is an exercise day.")
        else:
            message = Msg("Rest day from the exercises: keep up your daily walk.")
    assert plan.id is not None
    return PlanTodayPublic(
        date=today,
        plan_id=plan.id,
        status=status,
        level=plan.level,
        level_name=level_name,
        planned_day=planned,
        done_today=done > 0,
        sessions_done_today=done,
        reduced=status == PlanStatus.REDUCED,
        reduced_until=reduced_until,
        exercises=_prescribed(items),
        walking_minutes_target=walking,
        message=render(message, patient.locale),
    )


def history_page(
    session: Session, patient_id: int, limit: int, cursor: str | None, locale: str = DEFAULT_LOCALE
) -> Page[PlanDecisionPublic]:
    """Every decision on the patient's plan, newest first (reasons in ``locale``)."""
    keyset = Keyset(cursor, limit, at=datetime, id=int)
    query = (
        select(PlanDecision)
        .where(PlanDecision.patient_id == patient_id)
        .order_by(col(PlanDecision.decided_at).desc(), col(PlanDecision.id).desc())
        .limit(keyset.fetch)
    )
    if keyset.after is not None:
        at, last_id = keyset.after["at"], keyset.after["id"]
        if at.tzinfo is None:
            raise field_error(["query", "cursor"], "invalid cursor")
        query = query.where(
            (col(PlanDecision.decided_at) < at)
            | ((col(PlanDecision.decided_at) == at) & (col(PlanDecision.id) < last_id))
        )
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda r: {"at": r.decided_at.isoformat(), "id": r.id})
    items = [PlanDecisionPublic.model_validate(r) for r in rows]
    for item in items:
        item.reasons = [translate_stored(reason, locale, library_glossary(locale)) for reason in item.reasons]
    return Page[PlanDecisionPublic](items=items, next_cursor=next_cursor)
