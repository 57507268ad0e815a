"""Escalation on every write: the public interface the capture API calls.

Call these in the request's transaction, after the write (and after the patient row's
bookkeeping update, which takes the patient row lock first: the lock order everywhere
is patient row, then alert rows). Everything an emergency needs happens here, before
the response: the alert (deduplicated), the care team's safety message (bypasses
quiet hours), the plan pause and the patient's in-app ``safety`` notification. Nothing
waits for a clinician or a scheduler.

- ``apply_decisions`` — what ``evaluate_pain_logs`` does with decisions already made
  over a loaded snapshot (``api.escalation.snapshot``), in a few bulk statements.
- ``evaluate_pain_logs`` — once per request or sync batch, with every log created or
  changed by it: triage of each log's symptoms (known-symptom qualifier against the
  latest red-flag screening), persistent numbness, the window rules (checkpoints 14/28/
  42/84 and worsening, so a back-dated or synced log that completes a window raises at
  once) and medication review. Four queries when nothing fires.
- ``triage_of_logs`` — the same answer for a replay, read-only.
- ``evaluate_red_flag_screening`` — call before storing the screening: its symptoms
  are judged against the previous screening, never against themselves.
- ``raise_start_back_alerts`` — after a STarT Back result.

Each returns an ``EscalationOutcome``: the highest tier (red-flag triage of what was
reported, plus any time-based alert this write newly opened or escalated), the advice
for the patient, the ids of the alerts this evaluation opened or kept open, and whether
the plan is paused for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlmodel import Session, col, select

from api.alerts.notify import (
    URGENT_TIERS,
    Audience,
    Recipient,
    messages_for,
    opened_rounds,
    recipients_by_patient,
)
from api.alerts.service import Raised, RaiseEvent, raise_alerts, stored_key
from api.alerts.snapshot import (
    known_symptoms,
    load_pain_days,
    profile_of,
    record_checkpoints,
    symptoms_of,
)
from api.clock import local_today
from api.escalation.snapshot import Loaded
from api.i18n import render
from api.i18n.patients import patient_rules, rules_in
from api.models import (
    Alert,
    AlertStatus,
    CareTeamMember,
    Notification,
    NotificationKind,
    PainLog,
    Patient,
    Plan,
    PlanStatus,
    Role,
    User,
)
from api.notifications.service import KnownRecipients, NotificationDraft, enqueue_notification, enqueue_notifications
from api.plans.service import Paused, pause_as_loaded, pause_plan
from api.rules.advice import MEDICATION_REVIEW_ADVICE, Informed, advice_for, patient_advice
from api.rules.pipeline import Decisions
from api.rules.registry import LogHistory, history_alerts
from api.rules.reminders_due import ReminderPrefs
from api.rules.screenings import StartBackResult, start_back_alerts
from api.rules.settings import RuleSettings
from api.rules.text import Msg, Text
from api.rules.triage import TriageResult, red_flag_triggers, triage
from api.rules.types import PatientProfile, RuleCode, Symptom, Tier, highest_tier
from api.rules.version import RULESET_VERSION
from api.rules.windows import checkpoint_alerts, checkpoint_outcomes, complete_through

# Red-flag rules are raised only by a patient's own report (a pain log or a red-flag
# screening): a report after the clinician resolved the episode opens a new alert.
RED_FLAG_RULES = frozenset(
    {str(RuleCode.RED_FLAG_EMERGENCY), str(RuleCode.RED_FLAG_URGENT_SAME_DAY), str(RuleCode.RED_FLAG_URGENT_DAYS)}
)
# Worded for every patient, with or without a care team: only a physiotherapist resumes a paused plan.
_PAUSE_REASONS = {
    Tier.EMERGENCY: Msg(
        "Paused for your safety: you reported a symptom that needs a doctor to check it straight "
        "away. Only a physiotherapist can restart the plan, after reviewing you."
    ),
    Tier.URGENT_SAME_DAY: Msg(
        "Paused for your safety: you reported a symptom that needs a doctor to check it today. "
        "Only a physiotherapist can restart the plan, after reviewing you."
    ),
}
# Rendered in the patient's locale when the message is written (api.notifications.service).
_SAFETY_TITLES = {
    Tier.EMERGENCY: Msg("Please get medical help now"),
    Tier.URGENT_SAME_DAY: Msg("Please contact a doctor today"),
}


@dataclass(frozen=True, slots=True)
class EscalationOutcome:
    """What a write triggered: tier, patient advice, alert ids, and whether the plan is paused for it."""

    tier: Tier
    advice: str
    alert_ids: tuple[int, ...]
    pauses_plan: bool
    ruleset_version: str = RULESET_VERSION


@dataclass(frozen=True, slots=True)
class Applied:
    """``apply_decisions``' outcome, and the pause it applied itself (the plan view is built from it)."""

    outcome: EscalationOutcome
    paused: Paused | None


@dataclass(frozen=True, slots=True)
class _Known:
    """What the advice says, already known from the snapshot and the messages being queued.

    None: read it from the database (``told_about``, the plan's status).
    """

    country: str | None
    has_care_team: bool
    informed: Informed | None = None
    plan_paused: bool | None = None


def apply_decisions(
    session: Session, patient: Patient, loaded: Loaded, decided: Decisions, now: datetime, rules: RuleSettings
) -> Applied:
    """``evaluate_pain_logs`` with ``decided``, acting on the loaded snapshot in a few bulk statements.

    Same alerts, messages, pause, audit and advice; what the snapshot loaded (the clinic's
    country, the care team, devices, quiet hours, the plan, whether an alert of these rules
    is unresolved) is not read again. When the snapshot shows no unresolved alert of the
    raised rules, they are inserted at once; the plan is paused by one update guarded by
    the plan as loaded; the care team's messages, the patient's ``plan_change`` and
    ``safety`` messages are queued together. Anything else (an unresolved alert fires
    again, the plan changed since it was read, a patient without a care team) goes the
    services' usual way, in this same transaction.
    """
    assert patient.id is not None
    reach = loaded.reach
    record_checkpoints(session, [(patient.id, o) for o in decided.checkpoints_to_record], now)
    red_flags = [spec for result in decided.triaged for spec in result.alerts]
    specs = [*red_flags, *decided.timed_alerts]
    raised = raise_alerts(
        session,
        [(patient.id, spec) for spec in specs],
        now,
        renew_resolved=RED_FLAG_RULES,
        none_unresolved=not {str(spec.code) for spec in specs} & reach.unresolved_rules,
        notify=False,
        save_standing=False,  # the write path saves the whole triage-list row next
    )
    news = [r for r in raised[len(red_flags) :] if r.is_news]
    tier = highest_tier([*(r.tier for r in decided.triaged), *(r.spec.tier for r in news)])
    medication = any(r.spec.code is RuleCode.MEDICATION_REVIEW for r in news)

    known = KnownRecipients(
        users=frozenset({patient.user_id, *reach.care_team}),
        devices=reach.devices,
        locales={patient.user_id: patient.locale},
        quiet={}
        if reach.quiet_start is None
        else {
            patient.user_id: ReminderPrefs(patient.timezone, quiet_start=reach.quiet_start, quiet_end=reach.quiet_end)
        },
    )
    drafts: list[NotificationDraft] = []

    def queue_drafts() -> None:
        enqueue_notifications(session, drafts, now, known=known)
        drafts.clear()

    # Round 0 of the opened alerts (``notify_opened``), queued with the patient's messages below.
    opened = [r.alert for r in raised if r.event is RaiseEvent.OPENED and r.alert is not None]
    rounds = opened_rounds(opened)
    recipients: dict[int, list[Recipient]] = {}
    if rounds:
        if reach.care_team:
            recipients = {patient.id: [Recipient(u, Audience.CARE_TEAM) for u in reach.care_team]}
        else:
            recipients = recipients_by_patient(session, {patient.id}, include_clinic=False)
        drafts += messages_for(rounds, recipients)

    # ``_act``: pause the plan for the most urgent live alert.
    live = [(r, r.alert) for r in raised if r.alert is not None]
    urgent = [(r, alert) for r, alert in live if Tier(alert.tier) in URGENT_TIERS]
    top: tuple[Raised, Alert] | None = None
    paused = None
    if urgent:
        top = max(urgent, key=lambda pair: Tier(pair[1].tier).rank)
        alert = top[1]
        top_tier = Tier(alert.tier)
        assert alert.id is not None
        reason = _PAUSE_REASONS[top_tier]
        inputs = {"alert_id": alert.id, "rule": alert.rule, "tier": str(top_tier)}
        if loaded.plan is not None:
            paused = pause_as_loaded(
                session,
                loaded.plan,
                user_id=patient.user_id,
                locale=patient.locale,
                reason=reason,
                now=now,
                inputs=inputs,
            )
        if paused is None:
            queue_drafts()  # in the order the services queue them
            pause_plan(session, patient.id, reason=reason, now=now, inputs=inputs)
        elif paused.message is not None:
            drafts.append(paused.message)

    # Who is told: known from the messages queued here when every urgent live alert was opened
    # by this write (a new alert has no earlier message); else read back from the messages.
    live_alerts = list({id(alert): alert for _, alert in live}.values())
    urgent_live = [a for a in live_alerts if Tier(a.tier) in URGENT_TIERS]
    informed = None
    if all(any(a is o for o in opened) for a in urgent_live):
        informed = _informed([r.audience for r in recipients.get(patient.id, [])] if urgent_live else [])
    else:
        queue_drafts()
    facts = _Known(
        country=reach.country,
        has_care_team=bool(reach.care_team),
        informed=informed,
        plan_paused=True if paused is not None else None,
    )
    advice = _advice(session, patient, tier, live_alerts, rules, medication_review=medication, known=facts)
    if top is not None:
        spec, alert = top[0].spec, top[1]
        drafts.append(
            NotificationDraft(
                user_id=patient.user_id,
                kind=NotificationKind.SAFETY,
                title=_SAFETY_TITLES[Tier(alert.tier)],
                body=advice,
                patient_id=patient.id,
                alert_id=alert.id,
                safety=True,
                occurrence_key=f"safety:alert:{alert.id}:{stored_key(spec)}",
            )
        )
    queue_drafts()
    ids = tuple(dict.fromkeys(alert.id for _, alert in live if alert.id is not None))
    return Applied(EscalationOutcome(tier, advice, ids, bool(urgent)), paused)


def _informed(audiences: Sequence[Audience]) -> Informed:
    """``told_about`` for messages about to be queued to these audiences."""
    if Audience.CARE_TEAM in audiences:
        return Informed.CARE_TEAM
    if Audience.CLINIC in audiences:
        return Informed.CLINIC
    if Audience.UNASSIGNED_QUEUE in audiences:
        return Informed.SERVICE_TEAM
    return Informed.NOBODY


def evaluate_pain_logs(
    session: Session,
    patient: Patient,
    now: datetime,
    *,
    new_logs: Sequence[PainLog],
    rules: RuleSettings,
    decided: Decisions | None = None,
) -> EscalationOutcome:
    """Escalate what the logs just created or changed (already flushed) tell us.

    Time-based rules are judged through the last complete day (today once today is
    logged, else yesterday), exactly as the daily sweep judges them. ``decided``: the
    pure evaluation of these logs over the patient's snapshot (``api.rules.pipeline``),
    already made by the caller: it is acted on instead of loading and deciding again.
    """
    assert patient.id is not None
    if not new_logs:
        return EscalationOutcome(Tier.NONE, _advice(session, patient, Tier.NONE, (), rules), (), False)
    if decided is not None:
        triaged = list(decided.triaged)
        to_record = decided.checkpoints_to_record
        timed = list(decided.timed_alerts)
    else:
        profile = profile_of(patient)
        triaged = _triage_logs(session, patient.id, profile, new_logs, rules)
        today = local_today(patient.timezone, now)
        days = load_pain_days(session, patient.id)
        as_of = complete_through(today, max((d.on for d in days if d.on <= today), default=None))
        to_record = tuple(checkpoint_outcomes(days, as_of, rules))
        timed = [*checkpoint_alerts(days, as_of, profile, rules)]
        timed += history_alerts(LogHistory(days, today, as_of, profile, rules))  # the registry's log-history rules
    record_checkpoints(session, [(patient.id, o) for o in to_record], now)
    red_flags = [spec for result in triaged for spec in result.alerts]
    raised = raise_alerts(
        session, [(patient.id, spec) for spec in [*red_flags, *timed]], now, renew_resolved=RED_FLAG_RULES
    )
    news = [r for r in raised[len(red_flags) :] if r.is_news]
    tier = highest_tier([*(r.tier for r in triaged), *(r.spec.tier for r in news)])
    medication = any(r.spec.code is RuleCode.MEDICATION_REVIEW for r in news)
    return _act(session, patient, raised, tier, now, rules, medication_review=medication)


def triage_of_logs(
    session: Session, patient: Patient, now: datetime, *, logs: Sequence[PainLog], rules: RuleSettings
) -> EscalationOutcome:
    """The red-flag answer for logs already evaluated (a replay), read without side effects.

    ``alert_ids`` are the unresolved alerts of the red-flag rules these logs trigger. One
    exception keeps the answer true: when a red flag of these logs has no unresolved
    alert any more (a clinician resolved it since), the replay is handled as the new
    report it is for the patient, who is being told to get help now: a new alert is
    opened, the team told, the plan paused, exactly as for a changed log.
    """
    assert patient.id is not None
    triaged = _triage_logs(session, patient.id, profile_of(patient), logs, rules)
    tier = highest_tier(r.tier for r in triaged)
    specs = [spec for r in triaged for spec in r.alerts]
    codes = {str(spec.code) for spec in specs}
    alerts: Sequence[Alert] = []
    if codes:
        alerts = session.exec(
            select(Alert)
            .where(
                Alert.patient_id == patient.id,
                col(Alert.rule).in_(codes),
                col(Alert.status) != AlertStatus.RESOLVED,
            )
            .order_by(col(Alert.id))
        ).all()
    if (codes & RED_FLAG_RULES) - {a.rule for a in alerts}:
        # A replay wrote nothing, so the patient row is not locked yet: take it first (the
        # lock order everywhere is patient row, then alert rows, then the plan).
        session.exec(select(Patient.id).where(Patient.id == patient.id).with_for_update()).first()
        raised = raise_alerts(session, [(patient.id, spec) for spec in specs], now, renew_resolved=RED_FLAG_RULES)
        return _act(session, patient, raised, tier, now, rules)
    ids = tuple(a.id for a in alerts if a.id is not None)
    pauses = any(Tier(a.tier) in URGENT_TIERS for a in alerts)
    return EscalationOutcome(tier, _advice(session, patient, tier, alerts, rules), ids, pauses)


def evaluate_red_flag_screening(
    session: Session,
    patient: Patient,
    now: datetime,
    *,
    symptoms: Iterable[Symptom | str],
    rules: RuleSettings,
    exclude_screening_id: int | None = None,
) -> EscalationOutcome:
    """Triage a red-flag screening's answers and escalate at once.

    Call it before storing the screening (or pass ``exclude_screening_id``): a symptom
    is "known" only when the *previous* screening already reported it.
    """
    assert patient.id is not None
    reported = symptoms_of(str(s) for s in symptoms)
    profile = profile_of(patient)
    today = local_today(patient.timezone, now)
    known: frozenset[Symptom] = frozenset()
    if red_flag_triggers(reported, profile, today, rules):
        known = known_symptoms(session, patient.id, exclude_screening_id=exclude_screening_id)
    result = triage(reported, profile, today, known, rules)
    raised = raise_alerts(session, [(patient.id, spec) for spec in result.alerts], now, renew_resolved=RED_FLAG_RULES)
    return _act(session, patient, raised, result.tier, now, rules)


def raise_start_back_alerts(session: Session, patient: Patient, result: StartBackResult, now: datetime) -> list[Alert]:
    """Routine ``start_back_medium`` / ``start_back_high`` alerts for a STarT Back result."""
    assert patient.id is not None
    specs = start_back_alerts(result, screened_on=local_today(patient.timezone, now))
    raised = raise_alerts(session, [(patient.id, spec) for spec in specs], now)
    return [r.alert for r in raised if r.alert is not None]


def _triage_logs(
    session: Session, patient_id: int, profile: PatientProfile, logs: Sequence[PainLog], rules: RuleSettings
) -> list[TriageResult]:
    """Triage each log's symptoms on its own date, loading the known symptoms only when needed."""
    reported = sorted(((log.log_date, symptoms_of(log.symptoms or ())) for log in logs), key=lambda item: item[0])
    known: frozenset[Symptom] = frozenset()
    if any(red_flag_triggers(symptoms, profile, on, rules) for on, symptoms in reported):
        known = known_symptoms(session, patient_id)
    return [triage(symptoms, profile, on, known, rules) for on, symptoms in reported]


def told_about(session: Session, patient_id: int, alerts: Sequence[Alert]) -> Informed:
    """Who was actually sent a message about these alerts: read from the messages written.

    Care-team messages count only for active clinicians still in the patient's care
    team; otherwise the clinic's clinicians, then the admins of the unassigned-patients
    queue; nobody when no message about these alerts exists.
    """
    ids = [a.id for a in alerts if a.id is not None]
    if not ids:
        return Informed.NOBODY
    rows = session.exec(
        select(User.role, CareTeamMember.clinician_id)
        .select_from(Notification)
        .join(User, col(User.id) == Notification.user_id)
        .outerjoin(
            CareTeamMember,
            and_(col(CareTeamMember.patient_id) == patient_id, col(CareTeamMember.clinician_id) == User.id),
        )
        .where(
            Notification.patient_id == patient_id,
            col(Notification.alert_id).in_(ids),
            Notification.kind == NotificationKind.CARE_TEAM_ALERT,
            col(User.is_active).is_(True),
        )
        .distinct()
    ).all()
    if any(role == Role.CLINICIAN and member is not None for role, member in rows):
        return Informed.CARE_TEAM
    if any(role == Role.CLINICIAN for role, _ in rows):
        return Informed.CLINIC
    if any(role == Role.ADMIN for role, _ in rows):
        return Informed.SERVICE_TEAM
    return Informed.NOBODY


def has_care_team(session: Session, patient_id: int) -> bool:
    """Whether an active clinician follows the patient (else: the unassigned-patients queue)."""
    found = session.exec(
        select(CareTeamMember.clinician_id)
        .join(User, col(User.id) == CareTeamMember.clinician_id)
        .where(CareTeamMember.patient_id == patient_id, col(User.is_active).is_(True), User.role == Role.CLINICIAN)
        .limit(1)
    ).first()
    return found is not None


def _advice(
    session: Session,
    patient: Patient,
    tier: Tier,
    live: Sequence[Alert],
    rules: RuleSettings,
    *,
    medication_review: bool = False,
    known: _Known | None = None,
) -> str:
    """The advice for ``tier``, saying who was told and what was paused only where it happened."""
    assert patient.id is not None
    if known is not None:
        locale, rules = rules_in(patient, known.country, rules)
    else:
        locale, rules = patient_rules(session, patient, rules)
    if tier in URGENT_TIERS:
        informed = known.informed if known is not None else None
        if informed is None:
            informed = told_about(session, patient.id, [a for a in live if Tier(a.tier) in URGENT_TIERS])
        paused = known.plan_paused if known is not None else None
        if paused is None:
            plan = session.exec(select(Plan.status).where(Plan.patient_id == patient.id)).first()
            paused = plan == PlanStatus.PAUSED
        advice = patient_advice(tier, rules, informed=informed, plan_paused=paused)
    elif tier is Tier.ROUTINE:
        if not any(Tier(a.tier) is Tier.ROUTINE for a in live):
            informed = Informed.ALREADY_REVIEWED  # this very occurrence was resolved by a clinician
        elif known.has_care_team if known is not None else has_care_team(session, patient.id):
            informed = Informed.CARE_TEAM  # the alert waits on their dashboard
        else:
            informed = Informed.SERVICE_TEAM  # the alert waits in the unassigned-patients queue
        advice = patient_advice(tier, rules, informed=informed)
    else:
        advice = advice_for(tier, rules)
    return render(Text([advice, MEDICATION_REVIEW_ADVICE]) if medication_review else advice, locale)


def _act(
    session: Session,
    patient: Patient,
    raised: Sequence[Raised],
    tier: Tier,
    now: datetime,
    rules: RuleSettings,
    *,
    medication_review: bool = False,
) -> EscalationOutcome:
    """Pause the plan and tell the patient when an emergency/urgent alert is live.

    The advice is composed after the alerts were raised, their messages queued and the
    plan paused, from what actually happened. The safety message's occurrence key
    (alert and occurrence) makes a retried request or a replayed sync a no-op, while a
    new report of the same red flag is a new message.
    """
    assert patient.id is not None
    live = [(r, r.alert) for r in raised if r.alert is not None]
    urgent = [(r, alert) for r, alert in live if Tier(alert.tier) in URGENT_TIERS]
    top: tuple[Raised, Alert] | None = None
    if urgent:
        top = max(urgent, key=lambda pair: Tier(pair[1].tier).rank)
        alert = top[1]
        top_tier = Tier(alert.tier)
        assert alert.id is not None
        pause_plan(
            session,
            patient.id,
            reason=_PAUSE_REASONS[top_tier],
            now=now,
            inputs={"alert_id": alert.id, "rule": alert.rule, "tier": str(top_tier)},
        )
    live_alerts = list({id(alert): alert for _, alert in live}.values())
    advice = _advice(session, patient, tier, live_alerts, rules, medication_review=medication_review)
    if top is not None:
        spec, alert = top[0].spec, top[1]
        enqueue_notification(
            session,
            user_id=patient.user_id,
            kind=NotificationKind.SAFETY,
            title=_SAFETY_TITLES[Tier(alert.tier)],
            body=advice,
            now=now,
            patient_id=patient.id,
            alert_id=alert.id,
            safety=True,
            occurrence_key=f"safety:alert:{alert.id}:{stored_key(spec)}",
        )
    ids = tuple(dict.fromkeys(alert.id for _, alert in live if alert.id is not None))
    return EscalationOutcome(tier, advice, ids, bool(urgent))
