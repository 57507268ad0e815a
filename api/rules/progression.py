"""Graded exercise plan: session classes, weekly review, adherence (CLINICAL_RULES.md §5).

Sources: Lambeek 2007 and Lindström 1992 graded activity (time-contingent quotas: pain is
not a reason to stop), Silbernagel 2007 pain-monitoring model (pain during ≤ 5 and settled
by next morning is acceptable), ACSM 2009 progression models (RPE, overload one step at a
time), ADHERE (adherence ≥ 80 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from statistics import median

from api.rules._num import exact, round_half_up
from api.rules.flare import (
    FlareState,
    FlareStep,
    flare_settled,
    flare_starts,
    flare_step,
)
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.text import Msg
from api.rules.types import (
    Classification,
    PainDay,
    PlanAction,
    SessionClass,
    SessionRecord,
)
from api.rules.version import RULESET_VERSION
from api.rules.walking import initial_walking_target, next_walking_target
from api.rules.windows import classify

# Monday is 0. Sessions are spread so there is a rest day between them where possible.
_WEEKDAY_SPREAD: Mapping[int, frozenset[int]] = {
    0: frozenset(),
    1: frozenset({2}),
    2: frozenset({0, 3}),
    3: frozenset({0, 2, 4}),
    4: frozenset({0, 1, 3, 4}),
    5: frozenset({0, 1, 2, 3, 4}),
    6: frozenset({0, 1, 2, 3, 4, 5}),
    7: frozenset(range(7)),
}


def planned_weekdays(sessions_per_week: int) -> frozenset[int]:
    """Weekdays (Monday = 0) with a planned session: 3 → Mon/Wed/Fri.

    Rationale: spacing sessions allows recovery between loading days (ACSM 2009).
    """
    if sessions_per_week not in _WEEKDAY_SPREAD:
        raise ValueError("sessions per week must be between 0 and 7")
    return _WEEKDAY_SPREAD[sessions_per_week]


def adherence(done: int, planned: int) -> float:
    """min(done / planned, 1) over a week; 1.0 when nothing was planned (nothing missed).

    Source: CLINICAL_RULES.md §7 (adherent ≥ 80 %, ADHERE).
    """
    if done < 0 or planned < 0:
        raise ValueError("session counts cannot be negative")
    if planned == 0:
        return 1.0
    return min(done / planned, 1.0)


def usual_pain(days: Iterable[PainDay], before: date, settings: RuleSettings = DEFAULT_RULES) -> float | None:
    """Median back pain of the 7 days before ``before`` (not including it); None if no logs.

    Rationale: the pain-monitoring model compares against the patient's own usual level;
    the median resists a single bad day (Silbernagel 2007).
    """
    first = before - timedelta(days=settings.usual_pain_lookback_days)
    scores = [d.back_pain for d in days if first <= d.on < before]
    return float(median(scores)) if scores else None


def next_morning_pain(session: SessionRecord, days: Iterable[PainDay]) -> int | None:
    """The session's next-morning pain, else the back pain logged the next local day."""
    if session.pain_next_morning is not None:
        return session.pain_next_morning
    next_day = session.on + timedelta(days=1)
    return next((d.back_pain for d in days if d.on == next_day), None)


def classify_session(
    pain_during: int,
    next_morning: int | None,
    usual: float | None,
    settings: RuleSettings = DEFAULT_RULES,
) -> SessionClass:
    """Pain-monitoring class of one session (Silbernagel 2007).

    red: pain during ≥ 6, or not settled (next morning > usual + tolerance) · green:
    pain during ≤ 3 and settled · amber: 4-5 and settled · unknown: next morning (or usual)
    missing. Pain during ≥ 6 is red even when the next morning is missing: the evidence
    is already there, and treating it as unknown would let the plan progress past it.
    """
    if pain_during > settings.amber_max_pain_during:
        return SessionClass.RED
    if next_morning is None or usual is None:
        return SessionClass.UNKNOWN
    if exact(next_morning) > exact(usual) + settings.next_morning_tolerance:
        return SessionClass.RED
    if pain_during <= settings.green_max_pain_during:
        return SessionClass.GREEN
    return SessionClass.AMBER


def session_class(
    session: SessionRecord,
    days: Iterable[PainDay],
    settings: RuleSettings = DEFAULT_RULES,
) -> SessionClass:
    """Classify a session from the pain logs around it (usual: the 7 days before it)."""
    logs = list(days)
    return classify_session(
        session.pain_during,
        next_morning_pain(session, logs),
        usual_pain(logs, session.on, settings),
        settings,
    )


@dataclass(frozen=True, slots=True)
class WeeklyReviewInput:
    """Everything the weekly review looks at, for one plan and one 7-day review period."""

    level: int
    level_count: int
    planned_sessions: int
    done_sessions: int
    session_classes: tuple[SessionClass, ...]
    weekly_mean_prev: float | None
    weekly_mean_this: float | None
    mean_rpe: float | None
    too_hard_count: int
    days_at_level: int
    flare_in_week: bool
    open_urgent_alert: bool
    top_level_reviews_met: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "level": self.level,
            "level_count": self.level_count,
            "planned_sessions": self.planned_sessions,
            "done_sessions": self.done_sessions,
            "session_classes": [str(c) for c in self.session_classes],
            "weekly_mean_prev": self.weekly_mean_prev,
            "weekly_mean_this": self.weekly_mean_this,
            "mean_rpe": self.mean_rpe,
            "too_hard_count": self.too_hard_count,
            "days_at_level": self.days_at_level,
            "flare_in_week": self.flare_in_week,
            "open_urgent_alert": self.open_urgent_alert,
            "top_level_reviews_met": self.top_level_reviews_met,
        }


@dataclass(frozen=True, slots=True)
class PlanDecision:
    action: PlanAction
    from_level: int
    to_level: int
    reasons: tuple[str, ...]
    inputs: Mapping[str, object]
    all_criteria_met: bool = False
    ruleset_version: str = RULESET_VERSION


def _one(value: float) -> Decimal:
    return round_half_up(value, 1)


def _percent(fraction: float | Fraction) -> Decimal:
    return round_half_up(exact(fraction) * 100, 0)


# One message per count and noun (singular for exactly one), so every language words it whole.
_COUNTED = {
    "red session": (Msg("{count} red session"), Msg("{count} red sessions")),
    "amber session": (Msg("{count} amber session"), Msg("{count} amber sessions")),
    "green session": (Msg("{count} green session"), Msg("{count} green sessions")),
}


def _count(n: int, noun: str) -> Msg:
    one, many = _COUNTED[noun]
    return Msg((one if n == 1 else many).msgid, count=n)


def regress_reasons(inp: WeeklyReviewInput, settings: RuleSettings = DEFAULT_RULES) -> list[str]:
    """Reasons to regress one level: ≥ 2 red sessions, a flare, or pain worsened.

    Rationale: repeated red sessions mean the load exceeds tolerance (Silbernagel 2007);
    a flare or a clinically meaningful worsening week (Δ ≤ -2, Ostelo 2008) calls for
    less load, not rest.
    """
    reasons: list[str] = []
    reds = inp.session_classes.count(SessionClass.RED)
    if reds >= settings.regress_min_red_sessions:
        reasons.append(Msg("{sessions} this week", sessions=_count(reds, "red session")))
    if inp.flare_in_week:
        reasons.append(Msg("a flare-up this week"))
    prev, this = inp.weekly_mean_prev, inp.weekly_mean_this
    worsened = classify(prev, this, settings) is Classification.WORSENED
    if worsened and prev is not None and this is not None:
        reasons.append(Msg("pain worse than last week ({before} → {after})", before=_one(prev), after=_one(this)))
    return reasons


def progress_criteria(inp: WeeklyReviewInput, settings: RuleSettings = DEFAULT_RULES) -> list[tuple[bool, str]]:
    """Each progress criterion as (met, reason in plain words).

    Rationale: time-contingent graded activity progresses on schedule (Lambeek 2007),
    guarded by adherence (ADHERE), the pain-monitoring model (Silbernagel 2007), effort
    (RPE ≤ 6 on Borg CR10, ACSM 2009), ≥ 7 days at the level and no open urgent alert.
    Effort: mean RPE ≤ 6 when RPE was recorded, and no session rated "too hard" (the
    patient's own rating is respected even when RPE looks fine).
    """
    classes = inp.session_classes
    reds, ambers = classes.count(SessionClass.RED), classes.count(SessionClass.AMBER)
    greens = classes.count(SessionClass.GREEN)
    share = adherence(inp.done_sessions, inp.planned_sessions)
    adherent = exact(share) >= exact(settings.adherence_threshold)
    floor = _percent(settings.adherence_threshold)
    criteria: list[tuple[bool, str]] = [
        (
            adherent,
            Msg("adherence {share} % (at least {floor} %)", share=_percent(share), floor=floor)
            if adherent
            else Msg("adherence {share} % (below {floor} %)", share=_percent(share), floor=floor),
        ),
        (reds == 0, Msg("no red sessions") if reds == 0 else _count(reds, "red session")),
        (
            ambers <= settings.progress_max_amber,
            Msg(
                "{sessions} (at most {limit})",
                sessions=_count(ambers, "amber session"),
                limit=settings.progress_max_amber,
            ),
        ),
        (
            greens >= settings.progress_min_green,
            _count(greens, "green session") if greens else Msg("no green session"),
        ),
    ]
    prev, this = inp.weekly_mean_prev, inp.weekly_mean_this
    if this is None:
        criteria.append((False, Msg("weekly pain not known (fewer than 4 pain logs this week)")))
    elif prev is None:
        # The first week at a plan has no earlier week: pain cannot have risen against it,
        # and the session classes (pain during, next morning) still guard the progression.
        criteria.append((True, Msg("weekly pain {pain} (no earlier week to compare)", pain=_one(this))))
    else:
        rise_ok = exact(this) - exact(prev) < exact(settings.progress_max_weekly_mean_rise)
        before, after = _one(prev), _one(this)
        limit = _one(settings.progress_max_weekly_mean_rise)
        change = (
            Msg("weekly pain {before} → {after}", before=before, after=after)
            if rise_ok
            else Msg("weekly pain {before} → {after} (up by {limit} or more)", before=before, after=after, limit=limit)
        )
        criteria.append((rise_ok, change))
    if inp.mean_rpe is not None:
        rpe_ok = exact(inp.mean_rpe) <= exact(settings.max_mean_rpe)
        rpe, limit = _one(inp.mean_rpe), _one(settings.max_mean_rpe)
        rpe_words = (
            Msg("mean effort (RPE) {rpe}", rpe=rpe)
            if rpe_ok
            else Msg("mean effort (RPE) {rpe} (above {limit})", rpe=rpe, limit=limit)
        )
        criteria.append((rpe_ok, rpe_words))
    hard = inp.too_hard_count
    criteria.append(
        (
            hard == 0,
            Msg("no session rated too hard")
            if hard == 0
            else (
                Msg("{count} session rated too hard", count=hard)
                if hard == 1
                else Msg("{count} sessions rated too hard", count=hard)
            ),
        )
    )
    days_ok = inp.days_at_level >= settings.min_days_at_level
    criteria.append(
        (
            days_ok,
            Msg("{days} days at this level", days=inp.days_at_level)
            if days_ok
            else Msg(
                "{days} days at this level (needs {needed})", days=inp.days_at_level, needed=settings.min_days_at_level
            ),
        )
    )
    criteria.append(
        (
            not inp.open_urgent_alert,
            Msg("an emergency or urgent alert is open") if inp.open_urgent_alert else Msg("no urgent alert open"),
        )
    )
    return criteria


def weekly_review(inp: WeeklyReviewInput, settings: RuleSettings = DEFAULT_RULES) -> PlanDecision:
    """Weekly plan review: regress, progress, complete or hold — one level at most.

    Regress (never below 1) wins over everything; progress needs every criterion of
    ``progress_criteria``; the top level held for two reviews with all criteria met
    completes the plan (maintenance); otherwise hold. Reasons are plain words.
    """
    if not 1 <= inp.level <= inp.level_count:
        raise ValueError("level must be between 1 and level_count")
    inputs = inp.as_json()
    level = inp.level
    regress = regress_reasons(inp, settings)
    if regress:
        if level > 1:
            return PlanDecision(PlanAction.REGRESS, level, level - 1, tuple(regress), inputs)
        return PlanDecision(
            PlanAction.HOLD,
            level,
            level,
            (*regress, Msg("already at the first level")),
            inputs,
        )
    criteria = progress_criteria(inp, settings)
    if not all(met for met, _ in criteria):
        return PlanDecision(
            PlanAction.HOLD,
            level,
            level,
            tuple(r for met, r in criteria if not met),
            inputs,
        )
    met_reasons = tuple(r for _, r in criteria)
    if level < inp.level_count:
        return PlanDecision(PlanAction.PROGRESS, level, level + 1, met_reasons, inputs, True)
    reviews = inp.top_level_reviews_met + 1
    if reviews >= settings.completion_reviews:
        return PlanDecision(
            PlanAction.COMPLETE,
            level,
            level,
            (
                *met_reasons,
                Msg("top level managed well: plan complete, maintenance from now"),
            ),
            inputs,
            True,
        )
    return PlanDecision(
        PlanAction.HOLD,
        level,
        level,
        (
            *met_reasons,
            Msg(
                "top level: all criteria met in {reviews} of {needed} reviews needed to complete",
                reviews=reviews,
                needed=settings.completion_reviews,
            ),
        ),
        inputs,
        True,
    )


__all__ = [
    "FlareState",
    "FlareStep",
    "PlanDecision",
    "WeeklyReviewInput",
    "adherence",
    "classify_session",
    "flare_settled",
    "flare_starts",
    "flare_step",
    "initial_walking_target",
    "next_morning_pain",
    "next_walking_target",
    "planned_weekdays",
    "progress_criteria",
    "regress_reasons",
    "session_class",
    "usual_pain",
    "weekly_review",
]
