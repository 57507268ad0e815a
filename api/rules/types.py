"""Shared vocabulary of the rule engine: enums, input snapshots and alert output.

Everything here is a frozen value: the shell builds snapshots from the database, the rules
return new values, nothing is mutated in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum, auto

from api.rules.version import RULESET_VERSION


class Tier(StrEnum):
    """Triage tiers, most urgent first (CLINICAL_RULES.md §2)."""

    EMERGENCY = auto()
    URGENT_SAME_DAY = auto()
    URGENT_DAYS = auto()
    ROUTINE = auto()
    NONE = auto()

    @property
    def rank(self) -> int:
        """Higher is more urgent: ``max(tiers, key=tier_rank)`` picks the highest tier."""
        return _TIER_RANK[self]


_TIER_RANK: dict[Tier, int] = {
    Tier.NONE: 0,
    Tier.ROUTINE: 1,
    Tier.URGENT_DAYS: 2,
    Tier.URGENT_SAME_DAY: 3,
    Tier.EMERGENCY: 4,
}


def tier_rank(tier: Tier) -> int:
    """Key function for ``max``/``sorted``: higher is more urgent."""
    return _TIER_RANK[tier]


def highest_tier(tiers: Iterable[Tier]) -> Tier:
    """The most urgent of ``tiers``; ``Tier.NONE`` when there are none."""
    return max(tiers, key=tier_rank, default=Tier.NONE)


class Symptom(StrEnum):
    """The red-flag checklist carried by screenings and pain logs (CLINICAL_RULES.md §2)."""

    SADDLE_NUMBNESS = auto()
    BLADDER_CHANGE = auto()
    BOWEL_CHANGE = auto()
    SEXUAL_DYSFUNCTION = auto()
    BOTH_LEGS_SYMPTOMS = auto()
    BOTH_LEGS_WEAKNESS = auto()
    ONE_LEG_WEAKNESS = auto()
    ONE_LEG_NUMBNESS = auto()
    FEVER = auto()
    UNEXPLAINED_WEIGHT_LOSS = auto()
    NIGHT_PAIN = auto()
    THORACIC_PAIN = auto()
    PAIN_ON_STRAINING = auto()
    MAJOR_TRAUMA = auto()
    MINOR_TRAUMA = auto()
    CHEST_PAIN = auto()


class MedicationClass(StrEnum):
    """Medication classes a patient may log. Classes only: never drug names or doses."""

    PARACETAMOL = auto()
    NSAID = auto()
    OPIOID = auto()
    MUSCLE_RELAXANT = auto()
    GABAPENTINOID = auto()
    ANTIDEPRESSANT = auto()
    TOPICAL = auto()
    OTHER = auto()


class Classification(StrEnum):
    """Outcome of comparing a pain window with the baseline (CLINICAL_RULES.md §3)."""

    INSUFFICIENT_DATA = auto()
    MINIMAL_PAIN = auto()
    WORSENED = auto()
    IMPROVED = auto()
    NO_MEANINGFUL_IMPROVEMENT = auto()


class RiskGroup(StrEnum):
    """STarT Back risk groups."""

    LOW = auto()
    MEDIUM = auto()
    HIGH = auto()


class SessionClass(StrEnum):
    """Pain-monitoring class of one exercise session (CLINICAL_RULES.md §5)."""

    GREEN = auto()
    AMBER = auto()
    RED = auto()
    UNKNOWN = auto()


class Difficulty(StrEnum):
    """The patient's own rating of a session."""

    TOO_EASY = auto()
    ABOUT_RIGHT = auto()
    TOO_HARD = auto()


class PlanAction(StrEnum):
    """Plan decision actions (SPEC.md §3) plus ``complete`` (maintenance)."""

    ASSIGN = auto()
    PROGRESS = auto()
    HOLD = auto()
    REGRESS = auto()
    REDUCE = auto()
    RESTORE = auto()
    PAUSE = auto()
    RESUME = auto()
    SET_LEVEL = auto()
    COMPLETE = auto()


class ReminderKind(StrEnum):
    """Reminder kinds the scheduler sends (SPEC.md §3 notification kinds)."""

    DAILY_LOG_REMINDER = auto()
    EXERCISE_REMINDER = auto()
    WEEKLY_CHECKIN = auto()


@dataclass(frozen=True, slots=True)
class PatientProfile:
    """Profile facts the rules use."""

    birth_year: int | None
    cancer_history: bool
    osteoporosis_or_steroids: bool

    def age_on(self, on: date) -> int | None:
        """Age in years on ``on``, from the birth year alone.

        Only the year is stored, so this is the age the patient reaches during ``on``'s
        year: it can be one year high, never low, which errs towards escalation for the
        "age ≥ N" rules.
        """
        if self.birth_year is None:
            return None
        return on.year - self.birth_year


@dataclass(frozen=True, slots=True)
class PainDay:
    """One daily pain log (one per patient per local date)."""

    on: date
    back_pain: int
    leg_pain: int | None = None
    flare: bool = False
    activity_minutes: int | None = None
    medications: frozenset[MedicationClass] = frozenset()
    symptoms: frozenset[Symptom] = frozenset()


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One exercise session as the pain-monitoring rules see it."""

    on: date
    pain_during: int
    pain_next_morning: int | None
    rpe: int | None
    difficulty: Difficulty | None


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert a rule asks the shell to open (or keep open).

    ``evidence`` is JSON-serialisable (dates as ISO strings, floats unrounded, lists not
    tuples). ``key`` names the triggering occurrence (each rule documents its choice) so the
    shell can avoid re-raising an occurrence a clinician already resolved.
    """

    code: RuleCode
    tier: Tier
    evidence: Mapping[str, object] = field(hash=False)
    key: str
    ruleset_version: str = RULESET_VERSION


# The alert rule codes live with their rules, in the registry (one home per rule); imported
# last because the registry imports this module's vocabulary (it declares RuleCode first, so
# either module may be imported first).
from api.rules.registry import RuleCode as RuleCode  # noqa: E402
