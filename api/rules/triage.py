"""Red-flag triage (CLINICAL_RULES.md §2).

Sources: NICE NG59 and CKS "Back pain - low (without radiculopathy)" red flags; the
NHS/GIRFT national suspected cauda equina syndrome pathway; NICE NG234 (suspected cancer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from api.rules.advice import advice_for
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import (
    AlertSpec,
    PainDay,
    PatientProfile,
    RuleCode,
    Symptom,
    Tier,
    highest_tier,
)
from api.rules.version import RULESET_VERSION

CES_SYMPTOMS: frozenset[Symptom] = frozenset(
    {
        Symptom.SADDLE_NUMBNESS,
        Symptom.BLADDER_CHANGE,
        Symptom.BOWEL_CHANGE,
        Symptom.SEXUAL_DYSFUNCTION,
        Symptom.BOTH_LEGS_SYMPTOMS,
        Symptom.BOTH_LEGS_WEAKNESS,
    }
)

_EMERGENCY_ALONE: frozenset[Symptom] = CES_SYMPTOMS | {
    Symptom.MAJOR_TRAUMA,
    Symptom.CHEST_PAIN,
}
_URGENT_SAME_DAY_ALONE: frozenset[Symptom] = frozenset(
    {
        Symptom.ONE_LEG_WEAKNESS,
        Symptom.FEVER,
        Symptom.UNEXPLAINED_WEIGHT_LOSS,
        Symptom.NIGHT_PAIN,
    }
)
_WITH_CANCER_HISTORY: Mapping[Symptom, Tier] = MappingProxyType(
    {
        Symptom.ONE_LEG_WEAKNESS: Tier.EMERGENCY,
        Symptom.ONE_LEG_NUMBNESS: Tier.EMERGENCY,
        Symptom.THORACIC_PAIN: Tier.URGENT_SAME_DAY,
        Symptom.PAIN_ON_STRAINING: Tier.URGENT_SAME_DAY,
    }
)
_CODE_FOR_TIER: Mapping[Tier, RuleCode] = MappingProxyType(
    {
        Tier.EMERGENCY: RuleCode.RED_FLAG_EMERGENCY,
        Tier.URGENT_SAME_DAY: RuleCode.RED_FLAG_URGENT_SAME_DAY,
        Tier.URGENT_DAYS: RuleCode.RED_FLAG_URGENT_DAYS,
    }
)


@dataclass(frozen=True, slots=True)
class Trigger:
    """One red-flag rule that fired: its name, tier and the reported symptom behind it."""

    name: str
    tier: Tier
    symptom: Symptom


@dataclass(frozen=True, slots=True)
class TriageResult:
    tier: Tier
    alerts: tuple[AlertSpec, ...]
    advice: str
    triggers: tuple[str, ...]
    ruleset_version: str = RULESET_VERSION

    @property
    def pauses_plan(self) -> bool:
        """Emergency and urgent-same-day advice says the plan is paused (§2 table)."""
        return self.tier in (Tier.EMERGENCY, Tier.URGENT_SAME_DAY)


def emergency_triggers(symptoms: Iterable[Symptom], profile: PatientProfile) -> list[Trigger]:
    """Emergency: suspected cauda equina, major trauma, chest pain; cancer with a leg deficit.

    Rationale: CES symptoms (saddle numbness, bladder/bowel/sexual change, bilateral leg
    symptoms or weakness) need emergency MRI the same day (GIRFT CES pathway); major trauma
    and chest pain are not back-pain problems. With a cancer history, a new leg deficit may
    be metastatic cord compression (NICE NG234, CG75 metastatic spinal cord compression).
    """
    found = [Trigger(str(s), Tier.EMERGENCY, s) for s in symptoms if s in _EMERGENCY_ALONE]
    if profile.cancer_history:
        found += [
            Trigger(f"cancer_history+{s}", Tier.EMERGENCY, s)
            for s in symptoms
            if _WITH_CANCER_HISTORY.get(s) is Tier.EMERGENCY
        ]
    return found


def urgent_same_day_triggers(symptoms: Iterable[Symptom], profile: PatientProfile) -> list[Trigger]:
    """Urgent same day: new leg weakness, fever, weight loss, night pain; cancer combos.

    Rationale: progressive motor deficit, possible infection (fever) or malignancy (weight
    loss, non-mechanical night pain) need a same-day medical assessment (NICE CKS low back
    pain red flags). With a cancer history, thoracic pain or pain on straining suggests
    spinal metastasis (NICE CG75/NG234).
    """
    found = [Trigger(str(s), Tier.URGENT_SAME_DAY, s) for s in symptoms if s in _URGENT_SAME_DAY_ALONE]
    if profile.cancer_history:
        found += [
            Trigger(f"cancer_history+{s}", Tier.URGENT_SAME_DAY, s)
            for s in symptoms
            if _WITH_CANCER_HISTORY.get(s) is Tier.URGENT_SAME_DAY
        ]
    return found


def fragility_fracture_trigger(
    symptoms: Iterable[Symptom],
    profile: PatientProfile,
    on: date,
    settings: RuleSettings = DEFAULT_RULES,
) -> list[Trigger]:
    """Urgent within days: minor trauma with osteoporosis or long-term steroids.

    Rationale: possible osteoporotic vertebral fracture (NICE CKS; NOGG). Age plays no role
    by default, exactly as CLINICAL_RULES.md §2 specifies; ``settings.fragility_min_age``
    lets a clinic also flag minor trauma at or above an age.
    """
    if Symptom.MINOR_TRAUMA not in symptoms:
        return []
    if profile.osteoporosis_or_steroids:
        return [
            Trigger(
                "minor_trauma+osteoporosis_or_steroids",
                Tier.URGENT_DAYS,
                Symptom.MINOR_TRAUMA,
            )
        ]
    age = profile.age_on(on)
    if settings.fragility_min_age is not None and age is not None and age >= settings.fragility_min_age:
        return [Trigger("minor_trauma+age", Tier.URGENT_DAYS, Symptom.MINOR_TRAUMA)]
    return []


def red_flag_triggers(
    symptoms: frozenset[Symptom],
    profile: PatientProfile,
    on: date,
    settings: RuleSettings = DEFAULT_RULES,
) -> tuple[Trigger, ...]:
    """Every red-flag rule that fires for these symptoms, before the known-symptom qualifier."""
    ordered = sorted(symptoms)
    return (
        *emergency_triggers(ordered, profile),
        *urgent_same_day_triggers(ordered, profile),
        *fragility_fracture_trigger(ordered, profile, on, settings),
    )


def triage(
    symptoms: frozenset[Symptom],
    profile: PatientProfile,
    on: date,
    known_symptoms: frozenset[Symptom] = frozenset(),
    settings: RuleSettings = DEFAULT_RULES,
) -> TriageResult:
    """Triage a screening or a pain log's symptom checklist; the highest tier wins.

    Known-symptom qualifier (§2): a triggering symptom already true in the latest red-flag
    screening (``known_symptoms``) raises one routine ``known_symptom`` alert instead of its
    own tier; new symptoms keep theirs. Symptoms that trigger nothing raise nothing.

    Alert keys: red flags ``<on>:<symptoms of that tier, sorted, joined by +>`` (a new day's
    report re-raises after resolution); known symptoms ``known:<symptoms>`` without the date,
    because re-raising a clinician-reviewed symptom every day would only add alert fatigue.
    One alert per triggered code is returned, so a resolved emergency does not hide a
    same-day urgent trigger reported with it.
    """
    triggers = red_flag_triggers(symptoms, profile, on, settings)
    new = [t for t in triggers if t.symptom not in known_symptoms]
    known = sorted({t.symptom for t in triggers if t.symptom in known_symptoms})
    context: dict[str, object] = {
        "on": on.isoformat(),
        "age": profile.age_on(on),
        "cancer_history": profile.cancer_history,
        "osteoporosis_or_steroids": profile.osteoporosis_or_steroids,
        "reported_symptoms": sorted(str(s) for s in symptoms),
    }
    alerts: list[AlertSpec] = []
    for tier, code in _CODE_FOR_TIER.items():
        fired = [t for t in new if t.tier is tier]
        if not fired:
            continue
        names = sorted({str(t.symptom) for t in fired})
        alerts.append(
            AlertSpec(
                code=code,
                tier=tier,
                evidence={**context, "triggers": [t.name for t in fired]},
                key=f"{on.isoformat()}:{'+'.join(names)}",
            )
        )
    if known:
        own_tiers = {str(s): str(highest_tier(t.tier for t in triggers if t.symptom is s)) for s in known}
        alerts.append(
            AlertSpec(
                code=RuleCode.KNOWN_SYMPTOM,
                tier=Tier.ROUTINE,
                evidence={
                    **context,
                    "known_symptoms": [str(s) for s in known],
                    "own_tiers": own_tiers,
                },
                key="known:" + "+".join(str(s) for s in known),
            )
        )
    tier = highest_tier(a.tier for a in alerts)
    return TriageResult(
        tier=tier,
        alerts=tuple(alerts),
        advice=advice_for(tier, settings),
        triggers=(*(t.name for t in new), *(f"known:{s}" for s in known)),
    )


def persistent_numbness(
    days: Iterable[PainDay], today: date, settings: RuleSettings = DEFAULT_RULES
) -> AlertSpec | None:
    """Routine alert: one-leg numbness on ≥ 7 consecutive logged days.

    Rationale: persisting radicular numbness without other red flags warrants clinical
    review (NICE NG59 sciatica pathway) but not urgent care. "Consecutive logged days" is
    read as consecutive *logs*: a day without a log neither counts nor breaks the run (a
    log without numbness breaks it), which catches patients who log every other day. The
    run is the one ending at the latest log on or before ``today``.
    Key: ``numbness-from:<first date of the run>``, so an ongoing run is raised once.
    """
    logged = sorted((d for d in days if d.on <= today), key=lambda d: d.on)
    run: list[PainDay] = []
    for day in reversed(logged):
        if Symptom.ONE_LEG_NUMBNESS not in day.symptoms:
            break
        run.append(day)
    if len(run) < settings.persistent_numbness_days:
        return None
    first, last = run[-1].on, run[0].on
    return AlertSpec(
        code=RuleCode.PERSISTENT_NUMBNESS,
        tier=Tier.ROUTINE,
        evidence={
            "first_on": first.isoformat(),
            "last_on": last.isoformat(),
            "logged_days": len(run),
            "calendar_days": (last - first + timedelta(days=1)).days,
        },
        key=f"numbness-from:{first.isoformat()}",
    )
