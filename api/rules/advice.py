"""Patient-facing advice texts.

Plain, kind language. Follows NICE NG59 (stay active, no bed rest, no routine imaging) and
the GIRFT cauda equina pathway (explicit safety-netting). Nothing of CLINICAL_RULES.md §6:
no bed rest, corsets or belts, early X-ray, medication names or doses, "exercise until pain
appears" or "90 % are better in 6 weeks". Numbers come from the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.text import Msg, Text
from api.rules.types import Symptom, Tier

RED_FLAG_QUESTIONS: Mapping[Symptom, Msg] = MappingProxyType(
    {
        Symptom.SADDLE_NUMBNESS: Msg("Do you have numbness or tingling around your bottom, genitals or inner thighs?"),
        Symptom.BLADDER_CHANGE: Msg(
            "Have you noticed any new change in passing urine, such as difficulty starting, "
            "leaking, or not feeling when your bladder is full?"
        ),
        Symptom.BOWEL_CHANGE: Msg("Have you noticed any new difficulty controlling your bowels?"),
        Symptom.SEXUAL_DYSFUNCTION: Msg("Have you noticed any new change in sexual function, such as loss of feeling?"),
        Symptom.BOTH_LEGS_SYMPTOMS: Msg("Do you have pain, tingling or numbness in both legs?"),
        Symptom.BOTH_LEGS_WEAKNESS: Msg("Do both of your legs feel weak?"),
        Symptom.ONE_LEG_WEAKNESS: Msg("Is one leg newly weak or getting weaker, or does your foot catch or drag?"),
        Symptom.ONE_LEG_NUMBNESS: Msg("Do you have numbness in one leg?"),
        Symptom.FEVER: Msg("Do you have a temperature of 38 °C or more, or feel generally unwell?"),
        Symptom.UNEXPLAINED_WEIGHT_LOSS: Msg("Have you lost weight without trying to?"),
        Symptom.NIGHT_PAIN: Msg("Is your pain much worse at night, and not eased by resting or changing position?"),
        Symptom.THORACIC_PAIN: Msg("Do you have pain in the middle of your back or your ribs?"),
        Symptom.PAIN_ON_STRAINING: Msg("Is your pain worse when you cough, sneeze or strain?"),
        Symptom.MAJOR_TRAUMA: Msg("Did this pain start after a serious accident or a bad fall?"),
        Symptom.MINOR_TRAUMA: Msg("Did this pain start after a minor fall, slip or knock?"),
        Symptom.CHEST_PAIN: Msg("Do you have pain in your chest?"),
    }
)


def emergency_safety_net(settings: RuleSettings = DEFAULT_RULES) -> Msg:
    """The cauda equina safety-net line (GIRFT CES pathway: tell every patient, every time)."""
    return Msg(
        "If you ever notice numbness around your bottom or genitals, or a change in your "
        "bladder or bowel control, call {emergency_number} or go to A&E straight away.",
        emergency_number=settings.emergency_number,
    )


class Informed(StrEnum):
    """Who actually heard about what the patient reported: the only basis for saying so.

    The escalation service derives it from the messages it really queued (or, for a
    routine review, from the alert really left open on a physiotherapist's list); the
    advice never claims more.
    """

    CARE_TEAM = "care_team"  # a physiotherapist of the patient's care team
    CLINIC = "clinic"  # no care team: colleagues of the patient's clinic
    SERVICE_TEAM = "service_team"  # no care team: the Backstep administrators (unassigned-patients queue)
    NOBODY = "nobody"  # no one could be told: the patient must not be led to wait for anyone
    ALREADY_REVIEWED = "already_reviewed"  # a physiotherapist already reviewed and closed this very report


def _who_was_told(informed: Informed) -> Msg:
    if informed is Informed.CARE_TEAM:
        return Msg("Your physiotherapy team has been told.")
    if informed is Informed.CLINIC:
        return Msg(
            "No physiotherapist follows you in Backstep yet, so the physiotherapists of your clinic have been told."
        )
    if informed is Informed.SERVICE_TEAM:
        return Msg(
            "No physiotherapist follows you in Backstep yet; the Backstep team has been told "
            "and can arrange one for you."
        )
    if informed is Informed.ALREADY_REVIEWED:
        return Msg("A physiotherapist has already reviewed this report.")
    return Msg(
        "No physiotherapist follows you in Backstep yet and nobody could be told, so please "
        "make sure you get help yourself as described here."
    )


def _paused(plan_paused: bool) -> str:
    return Msg("Your exercise plan is paused for now.") if plan_paused else ""


def patient_advice(
    tier: Tier,
    settings: RuleSettings = DEFAULT_RULES,
    *,
    informed: Informed = Informed.CARE_TEAM,
    plan_paused: bool = True,
) -> Text:
    """The advice for a tier, saying only what happened (§2 tiers).

    ``informed`` is who was actually told (emergency and urgent same day) or has the
    alert on their list (routine); ``plan_paused`` whether a plan was actually paused.
    The defaults are CLINICAL_RULES.md's table (a care team, a plan); the escalation
    service always passes the facts. An empty ``settings.urgent_number`` means the
    country has no urgent-care line (the advice then names none).
    """
    emergency, urgent = settings.emergency_number, settings.urgent_number
    if tier is Tier.EMERGENCY:
        return Text(
            [
                Msg(
                    "Please call {emergency_number} now, or go to A&E straight away. "
                    "What you have told us can be a sign of a problem that needs checking by a "
                    "doctor urgently, so please do not wait.",
                    emergency_number=emergency,
                ),
                _paused(plan_paused),
                _who_was_told(informed),
            ]
        )
    if tier is Tier.URGENT_SAME_DAY:
        first = (
            Msg(
                "Please contact your GP surgery today, or call {urgent_number} if you cannot get through. "
                "What you have told us needs to be checked by a doctor today.",
                urgent_number=urgent,
            )
            if urgent
            else Msg(
                "Please contact your doctor today. If you cannot reach a doctor today, go to an emergency "
                "department. What you have told us needs to be checked by a doctor today."
            )
        )
        return Text([first, _paused(plan_paused), _who_was_told(informed), emergency_safety_net(settings)])
    if tier is Tier.URGENT_DAYS:
        worse = (
            Msg("If things get suddenly worse, call {urgent_number}.", urgent_number=urgent)
            if urgent
            else Msg("If things get suddenly worse, contact a doctor the same day.")
        )
        return Text(
            [
                Msg(
                    "Please book an appointment with your GP within the next few days so they can "
                    "check what you have told us. Keep gently active in the meantime."
                ),
                worse,
                emergency_safety_net(settings),
            ]
        )
    if tier is Tier.ROUTINE:
        return Text(
            [
                _routine(informed),
                Msg("Keep going with your plan in the meantime: staying active helps."),
                emergency_safety_net(settings),
            ]
        )
    return Text(
        [
            Msg(
                "Thank you. Nothing you have told us needs urgent attention. Keep going with your "
                "plan: staying active helps, and most people improve a lot within the first six "
                "weeks."
            ),
            emergency_safety_net(settings),
        ]
    )


def _routine(informed: Informed) -> Msg:
    if informed is Informed.CARE_TEAM:
        return Msg("We have asked your physiotherapist to arrange a routine review with you.")
    if informed is Informed.ALREADY_REVIEWED:
        return Msg("A physiotherapist has already reviewed what you told us.")
    if informed in (Informed.CLINIC, Informed.SERVICE_TEAM):
        return Msg(
            "No physiotherapist follows you in Backstep yet. What you told us is waiting for "
            "the Backstep team, who can arrange a routine review once a physiotherapist follows you."
        )
    return Msg("No physiotherapist follows you in Backstep yet, so nobody has been asked to review this.")


def advice_for(tier: Tier, settings: RuleSettings = DEFAULT_RULES) -> Text:
    """Advice for a tier as CLINICAL_RULES.md's table words it: a care team was told, the plan paused.

    The pure rules use it as the reference text; what a patient is shown comes from
    ``patient_advice`` with the facts of their case.
    """
    return patient_advice(tier, settings)


def flare_advice(settings: RuleSettings = DEFAULT_RULES) -> Text:
    """Flare advice: reduce the load for a couple of days, do not stop, re-ask the red flags.

    Source: CLINICAL_RULES.md §5 flare protocol; NICE NG59 (encourage activity); red-flag
    questions re-asked because a flare can hide a new serious symptom (GIRFT CES pathway).
    """
    return Text(
        [
            Msg(
                "Flare-ups are common and usually settle. We have made your exercises lighter for "
                "the next couple of days. Please keep moving gently and keep walking: staying "
                "active helps, so do not stop altogether. Before you carry on, please check these "
                "questions and tell us in the app if any answer is yes:"
            ),
            *(Text(["-", q]) for q in RED_FLAG_QUESTIONS.values()),
            emergency_safety_net(settings),
        ]
    )


# Sent to every silent patient, followed by a physiotherapist or not: it claims no one.
SILENCE_NUDGE = Msg(
    "We have not heard from you for a few days. How is your back? A quick pain log keeps "
    "your plan and your progress up to date."
)
SILENCE_NUDGE_TITLE = Msg("How is your back?")

MEDICATION_REVIEW_ADVICE = Msg(
    "You have logged a muscle relaxant on most days for several weeks. Please talk to your "
    "prescriber about whether it is still right for you."
)
