"""Screening instruments: STarT Back (Hill et al. 2008) and ODI v2.1a (Fairbank)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum, auto
from fractions import Fraction

from api.rules._num import exact, round_half_up
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import AlertSpec, RiskGroup, RuleCode, Tier
from api.rules.version import RULESET_VERSION


class Bothersome(StrEnum):
    """STarT Back item 9 answers."""

    NOT_AT_ALL = auto()
    SLIGHTLY = auto()
    MODERATELY = auto()
    VERY_MUCH = auto()
    EXTREMELY = auto()


class OdiBand(StrEnum):
    """ODI disability bands (Fairbank). ``bed_bound`` is the source's "bed-bound"."""

    MINIMAL = auto()
    MODERATE = auto()
    SEVERE = auto()
    CRIPPLED = auto()
    BED_BOUND = auto()


@dataclass(frozen=True, slots=True)
class StartBackResult:
    total: int
    subscale: int
    risk_group: RiskGroup
    ruleset_version: str = RULESET_VERSION


@dataclass(frozen=True, slots=True)
class OdiResult:
    percent: float | None
    band: OdiBand | None
    answered: int
    missing_sections: tuple[int, ...]
    ruleset_version: str = RULESET_VERSION


_BOTHERSOME_SCORING = frozenset({Bothersome.VERY_MUCH, Bothersome.EXTREMELY})
_START_BACK_LOW_MAX_TOTAL = 3
_START_BACK_HIGH_MIN_SUBSCALE = 4


def score_start_back(items_1_to_8: Sequence[bool], bothersome: str) -> StartBackResult:
    """Score the Keele STarT Back Screening Tool.

    Rationale: stratified care (Hill et al. 2008, Lancet 2011; NICE NG59 1.1.2) matches
    treatment intensity to the risk of persistent disabling pain. Items 1-8 agree = 1;
    item 9 scores 1 only for "very much" or "extremely". Total = items 1-9; psychosocial
    subscale = items 5-9. Low: total ≤ 3; high: subscale ≥ 4; medium otherwise.
    All nine answers are required: raises ``ValueError`` otherwise (the shell answers 422).
    """
    if len(items_1_to_8) != 8 or not all(isinstance(item, bool) for item in items_1_to_8):
        raise ValueError("STarT Back needs exactly 8 agree/disagree answers for items 1-8")
    try:
        item9 = Bothersome(bothersome)
    except ValueError:
        raise ValueError(f"unknown STarT Back item 9 answer: {bothersome!r}") from None
    item9_score = 1 if item9 in _BOTHERSOME_SCORING else 0
    total = sum(items_1_to_8) + item9_score
    subscale = sum(items_1_to_8[4:]) + item9_score
    if total <= _START_BACK_LOW_MAX_TOTAL:
        group = RiskGroup.LOW
    elif subscale >= _START_BACK_HIGH_MIN_SUBSCALE:
        group = RiskGroup.HIGH
    else:
        group = RiskGroup.MEDIUM
    return StartBackResult(total=total, subscale=subscale, risk_group=group)


def start_back_alerts(result: StartBackResult, screened_on: date | None = None) -> tuple[AlertSpec, ...]:
    """Routine alerts for a medium or high STarT Back result.

    Rationale: medium risk warrants a physiotherapy review; high risk a biopsychosocial
    assessment and psychologically informed care (Hill 2008; NICE NG59 1.2.8).
    Key: ``start-back:<date>`` (the screening date, or ``start-back`` if unknown), so a
    later screening with the same group raises a fresh alert once the old one is resolved.
    """
    if result.risk_group is RiskGroup.LOW:
        return ()
    if result.risk_group is RiskGroup.HIGH:
        code, reason = RuleCode.START_BACK_HIGH, "high risk: biopsychosocial assessment"
    else:
        code, reason = RuleCode.START_BACK_MEDIUM, "physiotherapy review"
    evidence: dict[str, object] = {
        "total": result.total,
        "subscale": result.subscale,
        "risk_group": str(result.risk_group),
        "reason": reason,
        "screened_on": screened_on.isoformat() if screened_on else None,
    }
    key = f"start-back:{screened_on.isoformat()}" if screened_on else "start-back"
    return (AlertSpec(code=code, tier=Tier.ROUTINE, evidence=evidence, key=key),)


_ODI_SECTIONS = 10
_ODI_MAX_PER_SECTION = 5
# Upper bounds (inclusive) of each band in percent; above the last one is bed-bound.
_ODI_BANDS: tuple[tuple[int, OdiBand], ...] = (
    (20, OdiBand.MINIMAL),
    (40, OdiBand.MODERATE),
    (60, OdiBand.SEVERE),
    (80, OdiBand.CRIPPLED),
)


def score_odi(sections: Sequence[int | None], settings: RuleSettings = DEFAULT_RULES) -> OdiResult:
    """Score the Oswestry Disability Index v2.1a.

    Rationale (Fairbank & Pynsent 2000): percent = sum / (5 x answered) x 100, scored only
    with ≥ 9 of 10 sections answered, else ``percent`` is None and the missing sections
    are listed. Stored unrounded; the band is decided on the exact value.
    Raises ``ValueError`` for a wrong section count or a score outside 0-5.
    """
    if len(sections) != _ODI_SECTIONS:
        raise ValueError("ODI needs exactly 10 sections (use None for unanswered)")
    for score in sections:
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= _ODI_MAX_PER_SECTION
        ):
            raise ValueError(f"ODI section scores are integers 0-5, got {score!r}")
    answered = [s for s in sections if s is not None]
    missing = tuple(i for i, s in enumerate(sections, start=1) if s is None)
    if len(answered) < settings.odi_min_answered:
        return OdiResult(percent=None, band=None, answered=len(answered), missing_sections=missing)
    exact_percent = Fraction(sum(answered) * 100, _ODI_MAX_PER_SECTION * len(answered))
    band = next((b for upper, b in _ODI_BANDS if exact_percent <= upper), OdiBand.BED_BOUND)
    return OdiResult(
        percent=float(exact_percent),
        band=band,
        answered=len(answered),
        missing_sections=missing,
    )


def display_percent(percent: float | None) -> Decimal | None:
    """ODI percent for display: rounded half up to 2 places (35.555… → 35.56)."""
    if percent is None:
        return None
    return round_half_up(percent, 2)


def odi_meaningful_change(before: float, after: float, settings: RuleSettings = DEFAULT_RULES) -> bool:
    """True when the ODI improved by ≥ 10 points or ≥ 30 % (Ostelo et al. 2008)."""
    drop = exact(before) - exact(after)
    return drop >= exact(settings.odi_mic_points) or (
        before > 0 and drop / exact(before) >= exact(settings.odi_mic_percent)
    )
