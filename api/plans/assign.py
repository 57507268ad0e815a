"""Starting and changing plans: STarT Back assignment and the clinician's level/template overrides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from api.clock import local_today
from api.errors import Problem, field_error
from api.models import ActorType, Patient, Plan, PlanDecision, PlanStatus
from api.plans.service import (
    REVIEW_INTERVAL,
    locked_plan,
    record_decision,
    require_plan,
    set_base_status,
)
from api.reminders.service import reschedule_patient
from api.rules.settings import RuleSettings
from api.rules.text import Msg
from api.rules.types import PlanAction, RiskGroup
from api.rules.walking import initial_walking_target
from api.upsert import insert_for
from exercise_library import PlanTemplate, get_library

# The STarT Back group as the patient reads it in a plan reason (catalogue words).
_RISK_WORDS = {"low": Msg("low"), "medium": Msg("medium"), "high": Msg("high")}


def validated_template(template_id: str) -> PlanTemplate:
    try:
        return get_library().template(template_id)
    except KeyError:
        known = ", ".join(sorted(get_library().templates))
        raise field_error(["body", "template_id"], f"unknown plan template; one of: {known}") from None


def validated_level(template: PlanTemplate, level: int) -> int:
    count = len(template.levels)
    if not 1 <= level <= count:
        raise field_error(["body", "level"], f"level must be between 1 and {count} for plan template {template.id}")
    return level


def start_template(plan: Plan, template: PlanTemplate, level: int, today: date, rules: RuleSettings) -> None:
    """Point ``plan`` at ``template`` and ``level`` from ``today``: a fresh start.

    The walking target restarts at the level's default; the first weekly review raises
    it to the patient's own week-1 mean if that is higher (CLINICAL_RULES.md §5).
    """
    plan_level = template.level(level)
    plan.template_id = template.id
    plan.level = level
    plan.started_on = today
    plan.level_started_on = today
    plan.next_review_on = today + REVIEW_INTERVAL
    plan.sessions_per_week = plan_level.sessions_per_week
    plan.walking_minutes_target = initial_walking_target(plan_level.walking_minutes, None, rules)
    plan.week1_walking_minutes = None
    plan.top_level_reviews_met = 0
    set_base_status(plan, PlanStatus.ACTIVE)


def _new_plan(session: Session, patient: Patient, template: PlanTemplate, now: datetime) -> Plan | None:
    """Insert the patient's plan row; None if a concurrent request inserted it first."""
    today = local_today(patient.timezone, now)
    first = template.level(1)
    table = Plan.__table__  # type: ignore[attr-defined]
    inserted = session.execute(
        insert_for(session, table)
        .values(
            patient_id=patient.id,
            template_id=template.id,
            level=1,
            status=PlanStatus.ACTIVE,
            sessions_per_week=first.sessions_per_week,
            walking_minutes_target=0.0,
            started_on=today,
            level_started_on=today,
            next_review_on=today + REVIEW_INTERVAL,
            top_level_reviews_met=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    ).scalar_one_or_none()
    if inserted is None:
        return None
    assert patient.id is not None
    return locked_plan(session, patient.id)


def _latest_assign(session: Session, plan: Plan) -> PlanDecision | None:
    return session.exec(
        select(PlanDecision)
        .where(PlanDecision.plan_id == plan.id, PlanDecision.action == PlanAction.ASSIGN)
        .order_by(col(PlanDecision.decided_at).desc(), col(PlanDecision.id).desc())
    ).first()


def assign_plan_for_risk_group(
    session: Session,
    patient: Patient,
    risk_group: RiskGroup | str,
    now: datetime,
    *,
    actor_type: ActorType = ActorType.SYSTEM,
    actor_id: int | None = None,
    screening_id: int | None = None,
    rules: RuleSettings,
) -> PlanDecision | None:
    """Give the patient the plan template for their STarT Back risk group; call after each result.

    low → self-management, medium → graded exercise, high → graded exercise with
    education, at level 1. Returns the ``assign`` decision, or None when the plan is kept:

    - no plan yet → the group's template at level 1;
    - a re-screen in the same risk group as the last STarT Back assignment → kept;
    - the current template was chosen by a clinician → kept (their choice stands; they
      see the new risk group on the dashboard and the start_back alerts);
    - a new risk group → the new group's template at level 1 (a paused plan stays paused,
      a flare in progress keeps its lighter days).
    """
    group = RiskGroup(risk_group)
    template = get_library().template_for_risk_group(group)
    assert patient.id is not None
    inputs: dict[str, Any] = {"risk_group": str(group), "template_id": template.id, "screening_id": screening_id}
    plan = locked_plan(session, patient.id)
    created = False
    if plan is None:
        plan = _new_plan(session, patient, template, now)
        created = plan is not None
        plan = plan or locked_plan(session, patient.id)
        assert plan is not None
    if not created:
        latest = _latest_assign(session, plan)
        if latest is not None and latest.actor_type == ActorType.CLINICIAN:
            return None
        if latest is not None and latest.inputs.get("risk_group") == group:
            return None
        if plan.template_id == template.id:
            return None
    from_level, from_status = (None, None) if created else (plan.level, plan.status)
    previous = None if created else plan.template_id
    inputs["previous_template_id"] = previous
    start_template(plan, template, 1, local_today(patient.timezone, now), rules)
    reasons: list[str] = [Msg("STarT Back risk group: {group}", group=_RISK_WORDS.get(group, group))]
    if previous is None:
        reasons.append(
            Msg("plan: {plan}, starting at level 1 ({level})", plan=template.name, level=template.level(1).name)
        )
    else:
        old = get_library().templates.get(previous)
        old_name = old.name if old is not None else previous
        reasons.append(Msg("plan changed from {old} to {plan}, starting at level 1", old=old_name, plan=template.name))
    decision = record_decision(
        session,
        plan,
        action=PlanAction.ASSIGN,
        from_level=from_level,
        from_status=from_status,
        reasons=reasons,
        inputs=inputs,
        now=now,
        actor_type=actor_type,
        actor_id=actor_id,
    )
    reschedule_patient(session, patient.id, now, rules)  # the exercise days may have changed
    return decision


def assign_template(
    session: Session,
    patient: Patient,
    *,
    template_id: str,
    level: int | None,
    reason: str,
    now: datetime,
    actor_id: int,
    rules: RuleSettings,
) -> PlanDecision:
    """A clinician puts the patient on ``template_id`` (level 1 unless given), with a reason.

    Creates the plan when the patient has none (e.g. before STarT Back). 422 naming
    ``template_id`` or ``level`` when invalid; 409 ``template_unchanged`` for the current
    template (change the level with ``set_level``).
    """
    template = validated_template(template_id)
    start_level = validated_level(template, level if level is not None else 1)
    assert patient.id is not None
    plan = locked_plan(session, patient.id)
    created = False
    if plan is None:
        plan = _new_plan(session, patient, template, now)
        created = plan is not None
        plan = plan or locked_plan(session, patient.id)
        assert plan is not None
    if not created and plan.template_id == template.id:
        raise Problem(409, "template_unchanged", "the patient is already on this plan template: use set_level")
    from_level, from_status = (None, None) if created else (plan.level, plan.status)
    previous = None if created else plan.template_id
    start_template(plan, template, start_level, local_today(patient.timezone, now), rules)
    decision = record_decision(
        session,
        plan,
        action=PlanAction.ASSIGN,
        from_level=from_level,
        from_status=from_status,
        reasons=[reason],
        inputs={"template_id": template.id, "previous_template_id": previous, "level": start_level},
        now=now,
        actor_type=ActorType.CLINICIAN,
        actor_id=actor_id,
    )
    reschedule_patient(session, patient.id, now, rules)
    return decision


def set_level(
    session: Session,
    patient: Patient,
    *,
    level: int,
    reason: str,
    now: datetime,
    actor_id: int,
    rules: RuleSettings,
) -> PlanDecision:
    """A clinician moves the plan to ``level`` of its template, with a reason.

    The level starts today and the next review is a full week away. A completed plan
    becomes active again; a paused or reduced plan keeps that status. 422 naming
    ``level`` outside the template; 409 ``no_plan`` / ``level_unchanged``.
    """
    assert patient.id is not None
    plan = require_plan(session, patient.id)
    try:
        template = get_library().template(plan.template_id)
    except KeyError:
        raise Problem(409, "unknown_template", "the plan's template is no longer in the library") from None
    validated_level(template, level)
    if level == plan.level and plan.status != PlanStatus.COMPLETED:
        raise Problem(409, "level_unchanged", f"the plan is already at level {level}")
    from_level, from_status = plan.level, plan.status
    today = local_today(patient.timezone, now)
    old_sessions = plan.sessions_per_week
    plan.level = level
    plan.level_started_on = today
    plan.next_review_on = today + REVIEW_INTERVAL
    plan.sessions_per_week = template.level(level).sessions_per_week
    plan.top_level_reviews_met = 0
    if plan.status == PlanStatus.COMPLETED or plan.status_before_pause == PlanStatus.COMPLETED:
        set_base_status(plan, PlanStatus.ACTIVE)
    decision = record_decision(
        session,
        plan,
        action=PlanAction.SET_LEVEL,
        from_level=from_level,
        from_status=from_status,
        reasons=[reason],
        inputs={"level": level, "level_count": len(template.levels), "template_id": template.id},
        now=now,
        actor_type=ActorType.CLINICIAN,
        actor_id=actor_id,
    )
    if plan.sessions_per_week != old_sessions:
        reschedule_patient(session, patient.id, now, rules)
    return decision
