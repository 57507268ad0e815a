"""Plain words for codes a clinician reads: tiers, rules, classifications, plan actions.

Shared by the web dashboard and the exports so a code reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection

from api.rules import registry
from api.rules.registry import ALERT_RULES
from api.rules.settings import DEFAULT_RULES
from api.rules.standing import NOT_IMPROVING_RULES
from api.rules.types import Classification, PlanAction, Tier

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

# From the registry, worded with the default settings (as the README catalogue is).
RULE_WORDS: dict[str, str] = {str(rule.code): rule.words(DEFAULT_RULES) for rule in ALERT_RULES}


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
    return registry.rule_words(code, DEFAULT_RULES)


NOT_IMPROVING_TRENDS: frozenset[str] = frozenset({Classification.WORSENED, Classification.NO_MEANINGFUL_IMPROVEMENT})
NO_VALUE = "\u2013"  # an en dash where a number is missing


def change_words(change: float | None) -> str:
    """Pain change since week 1 (baseline minus now, positive is better) with its direction
    in words: ``2.0 better``, ``1.1 worse``, ``no change``; never a bare sign to decode."""
    if change is None:
        return NO_VALUE
    shown = round(change, 1)
    if shown == 0:
        return "no change"
    return f"{abs(shown):.1f} {'better' if shown > 0 else 'worse'}"


def plan_review_reason(status: str | None, classification: str, open_rules: Collection[str]) -> str | None:
    """Why a completed plan needs review, or None when nothing contradicts it.

    An unresolved not-improving alert comes first (it names the rule); else a trend
    that is worse or not improving. Only a completed plan is checked: an active plan
    that is not working is what the weekly review and these alerts already handle.
    """
    if status != "completed":
        return None
    for code in NOT_IMPROVING_RULES:
        if code in open_rules:
            return f"open alert: {rule_words(code)}"
    if classification in NOT_IMPROVING_TRENDS:
        return f"pain trend: {CLASSIFICATION_WORDS[classification]}"
    return None


def plan_words(level: int | None, status: str | None, review_reason: str | None) -> str:
    """The plan in one line (triage list): ``Level 2 · Active``, ``No plan yet``, or a
    completed plan with the reason it needs review instead of "Completed (maintenance)"."""
    if level is None or status is None:
        return "No plan yet"
    if review_reason is not None:
        return f"Level {level} · Completed, needs review ({review_reason})"
    return f"Level {level} · {STATUS_WORDS.get(status, status)}"


def exercise_gap_words(plan_status: str | None) -> str:
    """What to show where an adherence figure is missing, from the same plan state the
    plan column shows: without a plan there is nothing to adhere to; with one, no session
    was due in the window (the plan started today, or it was paused)."""
    if plan_status is None:
        return "no plan"
    if plan_status == "paused":
        return "paused: no sessions due"
    return "no sessions due"
