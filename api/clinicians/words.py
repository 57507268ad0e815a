"""Plain words for codes a clinician reads: tiers, rules, classifications, plan actions.

Shared by the web dashboard and the exports so a code reads the same everywhere.
"""

from __future__ import annotations

from api.rules.catalogue import CATALOGUE
from api.rules.types import Classification, PlanAction, RuleCode, Tier

TIER_WORDS: dict[str, str] = {
    Tier.EMERGENCY: "Emergency",
    Tier.URGENT_SAME_DAY: "Urgent today",
    Tier.URGENT_DAYS: "Urgent within days",
    Tier.ROUTINE: "Routine review",
    Tier.NONE: "No open alerts",
}

TIER_ADVICE: dict[str, str] = {
    Tier.EMERGENCY: "Act now: the patient was told to call the emergency number or go to A&E.",
    Tier.URGENT_SAME_DAY: "Same day: the patient was told to contact their GP today or call the urgent number.",
    Tier.URGENT_DAYS: "Within a few days: the patient was told to book a GP appointment.",
    Tier.ROUTINE: "Review at the next routine contact.",
    Tier.NONE: "",
}

RULE_WORDS: dict[str, str] = {
    RuleCode.RED_FLAG_EMERGENCY: "Red flag: possible emergency (e.g. cauda equina symptoms)",
    RuleCode.RED_FLAG_URGENT_SAME_DAY: "Red flag: needs a GP today",
    RuleCode.RED_FLAG_URGENT_DAYS: "Possible fragility fracture",
    RuleCode.KNOWN_SYMPTOM: "Known symptom reported again",
    RuleCode.PERSISTENT_NUMBNESS: "Leg numbness for 7 days or more",
    RuleCode.START_BACK_MEDIUM: "STarT Back medium risk: physiotherapy review",
    RuleCode.START_BACK_HIGH: "STarT Back high risk: biopsychosocial assessment",
    RuleCode.NO_IMPROVEMENT_2W: "No meaningful improvement after 2 weeks",
    RuleCode.NO_IMPROVEMENT_4W: "No meaningful improvement after 4 weeks",
    RuleCode.NO_IMPROVEMENT_6W: "No meaningful improvement after 6 weeks",
    RuleCode.PERSISTENT_12W: "Pain persisting at 12 weeks",
    RuleCode.WORSENING: "Pain worsening for 2 weeks",
    RuleCode.PROLONGED_FLARE: "Flare-up lasting more than a week",
    RuleCode.SILENT: "No pain log for 7 days",
    RuleCode.MEDICATION_REVIEW: "Muscle relaxant most days: medication review",
}

RULE_TRIGGERS: dict[str, str] = {entry.code: entry.trigger for entry in CATALOGUE}

CLASSIFICATION_WORDS: dict[str, str] = {
    Classification.WORSENED: "Worse than week 1",
    Classification.NO_MEANINGFUL_IMPROVEMENT: "No meaningful improvement",
    Classification.INSUFFICIENT_DATA: "Too early or too few logs",
    Classification.IMPROVED: "Improving",
    Classification.MINIMAL_PAIN: "Minimal pain",
}

ACTION_WORDS: dict[str, str] = {
    PlanAction.ASSIGN: "Plan assigned",
    PlanAction.PROGRESS: "Progressed a level",
    PlanAction.HOLD: "Held at level",
    PlanAction.REGRESS: "Eased back a level",
    PlanAction.REDUCE: "Flare-up: lighter plan",
    PlanAction.RESTORE: "Flare settled: plan restored",
    PlanAction.PAUSE: "Plan paused",
    PlanAction.RESUME: "Plan resumed",
    PlanAction.SET_LEVEL: "Level set by clinician",
    PlanAction.COMPLETE: "Plan completed",
}

STATUS_WORDS: dict[str, str] = {
    "active": "Active",
    "reduced": "Lighter (flare-up)",
    "paused": "Paused",
    "completed": "Completed (maintenance)",
}


def rule_words(code: str) -> str:
    return RULE_WORDS.get(code, code.replace("_", " "))
