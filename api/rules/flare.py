"""Flare protocol: reduce the load for a couple of days, never stop (CLINICAL_RULES.md §5).

Sources: Silbernagel 2007 pain-monitoring model; NICE NG59 (keep active); Lambeek 2007
graded activity. Re-exported by ``api.rules.progression``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from api.rules._num import exact
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.text import Msg
from api.rules.types import PainDay, PlanAction
from api.rules.version import RULESET_VERSION


@dataclass(frozen=True, slots=True)
class FlareState:
    """An ongoing flare: reduced plan through ``reduced_until`` (inclusive).

    ``usual`` is the patient's usual pain *before* the flare; the restore check compares
    with it, not with the (flare-inflated) median of the days just before the check.
    """

    started_on: date
    reduced_until: date
    usual: float | None


@dataclass(frozen=True, slots=True)
class FlareStep:
    """What to do today. ``action`` is ``reduce`` (start or extend), ``restore`` or None."""

    action: PlanAction | None
    state: FlareState | None
    reason: str
    ask_red_flags: bool
    ruleset_version: str = RULESET_VERSION


def flare_starts(log: PainDay, usual: float | None, settings: RuleSettings = DEFAULT_RULES) -> bool:
    """A log starts a flare when it says so (``flare``) or back pain ≥ usual + 2.

    Rationale: a rise of 2 points over the patient's usual is the minimal important change
    (Ostelo 2008) and the pain-monitoring model's signal to lighten the load (Silbernagel).
    """
    if log.flare:
        return True
    return usual is not None and exact(log.back_pain) >= exact(usual) + settings.flare_pain_rise


def flare_settled(log: PainDay, usual: float | None, settings: RuleSettings = DEFAULT_RULES) -> bool:
    """Day-3 check: back pain ≤ usual + 1 and the patient no longer reports a flare.

    The patient's own "flare" answer keeps the plan reduced even if the number looks fine;
    with no usual pain known (no logs before the flare) only their answer decides.
    """
    if log.flare:
        return False
    if usual is None:
        return True
    return exact(log.back_pain) <= exact(usual) + settings.flare_restore_margin


def flare_step(
    state: FlareState | None,
    log: PainDay | None,
    today: date,
    usual: float | None,
    settings: RuleSettings = DEFAULT_RULES,
) -> FlareStep:
    """Advance the flare protocol for ``today``.

    ``log`` is today's pain log (or None); ``usual`` is the usual pain before today
    (``usual_pain(days, today)``), used only to detect a new flare. Call on every log for
    today and from the daily sweep. Back-dated logs never start a flare: lightening the
    plan for days already gone helps nobody.

    - No flare: a flare log reduces the plan for 2 days (today and tomorrow) and the
      red-flag questions are re-asked.
    - During the reduced days: nothing changes.
    - From day 3: today's log settled (≤ usual + 1) → restore; else reduce 2 more days.
      No log yet today → stay reduced until one arrives (the safe choice: never restore
      on missing data); the prolonged-flare rule escalates if this drags on.
    """
    todays = log if log is not None and log.on == today else None
    if state is None:
        if todays is not None and flare_starts(todays, usual, settings):
            until = today + timedelta(days=settings.flare_reduce_days - 1)
            return FlareStep(
                PlanAction.REDUCE,
                FlareState(started_on=today, reduced_until=until, usual=usual),
                Msg("flare-up: lighter plan until {date}", date=until),
                ask_red_flags=True,
            )
        return FlareStep(None, None, Msg("no flare"), ask_red_flags=False)
    if today <= state.reduced_until:
        return FlareStep(
            None,
            state,
            Msg("lighter plan continues until {date}", date=state.reduced_until),
            ask_red_flags=todays is not None and todays.flare,
        )
    if todays is None:
        return FlareStep(
            None,
            state,
            Msg("no pain log yet today: the lighter plan continues until one arrives"),
            ask_red_flags=False,
        )
    if flare_settled(todays, state.usual, settings):
        return FlareStep(PlanAction.RESTORE, None, Msg("flare-up settled"), ask_red_flags=False)
    until = today + timedelta(days=settings.flare_reduce_days - 1)
    return FlareStep(
        PlanAction.REDUCE,
        FlareState(state.started_on, until, state.usual),
        Msg("flare-up not settled yet: lighter plan until {date}", date=until),
        ask_red_flags=True,
    )
