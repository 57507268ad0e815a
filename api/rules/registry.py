"""One home per alert rule: its code, tiers, trigger, words and catalogue text.

Every alert rule the engine can raise is one ``AlertRule`` in ``ALERT_RULES`` below (and
its code in ``RuleCode``, declared first because the rule modules name their codes).
Everything else is derived from this module, never written out a second time:

- the API enum: ``RuleCode`` is this enum (re-exported by ``api.rules.types``), so the
  OpenAPI ``RuleCode`` schema lists exactly these codes;
- the database's accepted codes: ``accepted_code`` is what ``alert.rule`` accepts
  (``api.models.clinical``; there is no CHECK constraint, so a new rule needs no migration);
- the README and docs/clinical-rules.md catalogue (``api.rules.catalogue``) and the
  clinician's words (``api.clinicians.words.RULE_WORDS``), both from the settings, so a
  threshold is never written as a number in prose;
- the rules judged over a patient's log history on every write and by the daily sweep:
  ``history_alerts`` iterates the entries that have a ``trigger``.

Adding a rule: README "Adding a rule".
"""

from __future__ import annotations

from enum import StrEnum, auto


class RuleCode(StrEnum):
    """Alert rule codes, exactly those of CLINICAL_RULES.md §8."""

    RED_FLAG_EMERGENCY = auto()
    RED_FLAG_URGENT_SAME_DAY = auto()
    RED_FLAG_URGENT_DAYS = auto()
    KNOWN_SYMPTOM = auto()
    PERSISTENT_NUMBNESS = auto()
    START_BACK_MEDIUM = auto()
    START_BACK_HIGH = auto()
    NO_IMPROVEMENT_2W = auto()
    NO_IMPROVEMENT_4W = auto()
    NO_IMPROVEMENT_6W = auto()
    PERSISTENT_12W = auto()
    WORSENING = auto()
    PROLONGED_FLARE = auto()
    SILENT = auto()
    MEDICATION_REVIEW = auto()


# Imported after ``RuleCode``: ``api.rules.types`` re-exports it, so either module may be
# imported first. The rule modules themselves are imported inside the triggers (they name
# their codes through ``api.rules.types``), never at import time.
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date  # noqa: E402
from types import MappingProxyType  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from api.rules.types import AlertSpec, PainDay, PatientProfile, Tier  # noqa: E402

if TYPE_CHECKING:
    from api.rules.settings import RuleSettings  # imports api.rules.types, which imports this module


@dataclass(frozen=True, slots=True)
class LogHistory:
    """What a rule judged over the log history reads: the same on a write and in the sweep.

    ``today`` is the patient's local date; ``as_of`` the last complete day (today once
    today is logged, else yesterday: ``api.rules.windows.complete_through``).
    """

    days: Sequence[PainDay]
    today: date
    as_of: date
    profile: PatientProfile
    settings: RuleSettings


Trigger = Callable[[LogHistory], AlertSpec | None]


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alert rule.

    ``tiers``: every tier it can raise (the rule function picks one, e.g. by age).
    ``words``: what a clinician reads for it (dashboard, exports), from the settings.
    ``describe``: its trigger in the catalogue, from the settings.
    ``function``: the pure function that decides it (its docstring is the rationale).
    ``trigger``: for a rule judged over the log history, the rule over ``LogHistory``,
    run by ``history_alerts`` on every pain-log write and by the daily sweep; None for a
    rule raised by its own event (a report, a screening, a checkpoint, the nightly tick).
    """

    code: RuleCode
    tiers: tuple[Tier, ...]
    words: Callable[[RuleSettings], str]
    describe: Callable[[RuleSettings], str]
    source: str
    function: str
    trigger: Trigger | None = None


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _span(days: int) -> str:
    """A duration in words: whole weeks as weeks (``a week``, ``2 weeks``), else days."""
    if days % 7:
        return _days(days)
    return "a week" if days == 7 else f"{days // 7} weeks"


def _window(s: RuleSettings, last_day: int) -> str:
    """The programme days of the window ending on ``last_day``."""
    return f"days {last_day - s.window_days + 1}-{last_day}"


def _fixed(text: str) -> Callable[[RuleSettings], str]:
    return lambda _settings: text


def _persistent_numbness(history: LogHistory) -> AlertSpec | None:
    from api.rules.triage import persistent_numbness

    return persistent_numbness(history.days, history.today, history.settings)


def _medication_review(history: LogHistory) -> AlertSpec | None:
    from api.rules.monitoring import medication_review

    return medication_review(history.days, history.as_of, history.settings)


_RED_FLAG_SOURCE = "NICE NG59/CKS red flags; GIRFT CES pathway; NICE NG234, CG75"
_WINDOW_SOURCE = "NICE NG59; Ostelo 2008 (MIC 2 points / 30 %)"
_ROUTINE = (Tier.ROUTINE,)

ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        RuleCode.RED_FLAG_EMERGENCY,
        (Tier.EMERGENCY,),
        words=_fixed("Red flag: possible emergency (e.g. cauda equina symptoms)"),
        describe=_fixed(
            "new saddle numbness, bladder/bowel/sexual change, symptoms or weakness in both legs, "
            "major trauma, chest pain; cancer history with one-leg weakness or numbness"
        ),
        source=_RED_FLAG_SOURCE,
        function="api.rules.triage.triage",
    ),
    AlertRule(
        RuleCode.RED_FLAG_URGENT_SAME_DAY,
        (Tier.URGENT_SAME_DAY,),
        words=_fixed("Red flag: needs a GP today"),
        describe=_fixed(
            "new one-leg weakness, fever, unexplained weight loss, night pain; cancer history with "
            "thoracic pain or pain on straining"
        ),
        source=_RED_FLAG_SOURCE,
        function="api.rules.triage.triage",
    ),
    AlertRule(
        RuleCode.RED_FLAG_URGENT_DAYS,
        (Tier.URGENT_DAYS,),
        words=_fixed("Possible fragility fracture"),
        describe=_fixed("new minor trauma with osteoporosis or steroid use (fragility fracture pattern)"),
        source="NICE CKS low back pain; NOGG",
        function="api.rules.triage.fragility_fracture_trigger",
    ),
    AlertRule(
        RuleCode.KNOWN_SYMPTOM,
        _ROUTINE,
        words=_fixed("Known symptom reported again"),
        describe=_fixed("a triggering symptom already true in the latest red-flag screening, reported again"),
        source="CLINICAL_RULES.md section 2 (new qualifier)",
        function="api.rules.triage.triage",
    ),
    AlertRule(
        RuleCode.PERSISTENT_NUMBNESS,
        _ROUTINE,
        words=lambda s: f"Leg numbness for {_days(s.persistent_numbness_days)} or more",
        describe=lambda s: f"one-leg numbness on >= {s.persistent_numbness_days} consecutive logged days",
        source="NICE NG59 (sciatica)",
        function="api.rules.triage.persistent_numbness",
        trigger=_persistent_numbness,
    ),
    AlertRule(
        RuleCode.START_BACK_MEDIUM,
        _ROUTINE,
        words=_fixed("STarT Back medium risk: physiotherapy review"),
        describe=_fixed("STarT Back medium risk: physiotherapy review"),
        source="Hill et al. 2008; NICE NG59",
        function="api.rules.screenings.start_back_alerts",
    ),
    AlertRule(
        RuleCode.START_BACK_HIGH,
        _ROUTINE,
        words=_fixed("STarT Back high risk: biopsychosocial assessment"),
        describe=_fixed("STarT Back high risk: biopsychosocial assessment"),
        source="Hill et al. 2008; NICE NG59",
        function="api.rules.screenings.start_back_alerts",
    ),
    AlertRule(
        RuleCode.NO_IMPROVEMENT_2W,
        _ROUTINE,
        words=lambda s: f"No meaningful improvement after {_span(s.checkpoint_2w_day)}",
        describe=lambda s: (
            f"day {s.checkpoint_2w_day}: {_window(s, s.checkpoint_2w_day)} not improved on baseline "
            f"({_window(s, s.window_days)})"
        ),
        source=_WINDOW_SOURCE,
        function="api.rules.windows.no_improvement_checkpoints",
    ),
    AlertRule(
        RuleCode.NO_IMPROVEMENT_4W,
        (Tier.ROUTINE, Tier.URGENT_DAYS),
        words=lambda s: f"No meaningful improvement after {_span(s.checkpoint_4w_day)}",
        describe=lambda s: (
            f"day {s.checkpoint_4w_day}: {_window(s, s.checkpoint_4w_day)} not improved; urgent_days if age >= "
            f"{s.escalation_age} or cancer history"
        ),
        source=_WINDOW_SOURCE + "; NICE NG234",
        function="api.rules.windows.no_improvement_checkpoints",
    ),
    AlertRule(
        RuleCode.NO_IMPROVEMENT_6W,
        _ROUTINE,
        words=lambda s: f"No meaningful improvement after {_span(s.checkpoint_6w_day)}",
        describe=lambda s: f"day {s.checkpoint_6w_day}: {_window(s, s.checkpoint_6w_day)} not improved",
        source=_WINDOW_SOURCE,
        function="api.rules.windows.no_improvement_checkpoints",
    ),
    AlertRule(
        RuleCode.PERSISTENT_12W,
        _ROUTINE,
        words=lambda s: f"Pain persisting at {_span(s.checkpoint_12w_day)}",
        describe=lambda s: (
            f"day {s.checkpoint_12w_day}: mean of {_window(s, s.checkpoint_12w_day)} above "
            f"{s.persistent_12w_min_mean:g} (chronic: refer per local pathway)"
        ),
        source="NICE NG59, NG193",
        function="api.rules.windows.persistent_12w",
    ),
    AlertRule(
        RuleCode.WORSENING,
        _ROUTINE,
        words=lambda s: f"Pain worsening for {_span(s.worsening_consecutive_windows * s.window_days)}",
        describe=lambda s: (
            f"{s.worsening_consecutive_windows} consecutive valid programme weeks each "
            f"{s.worsening_points:g}+ points worse than baseline"
        ),
        source="Ostelo 2008",
        function="api.rules.windows.worsening_alerts",
    ),
    AlertRule(
        RuleCode.PROLONGED_FLARE,
        _ROUTINE,
        words=lambda s: f"Flare-up lasting more than {_span(s.prolonged_flare_days)}",
        describe=lambda s: f"a flare lasting more than {s.prolonged_flare_days} days",
        source="Silbernagel pain-monitoring model",
        function="api.rules.monitoring.prolonged_flare",
    ),
    AlertRule(
        RuleCode.SILENT,
        _ROUTINE,
        words=lambda s: f"No pain log for {_days(s.silence_alert_days)}",
        describe=lambda s: (
            f"no pain log for {s.silence_alert_days} local days (patient nudge at {s.silence_nudge_days})"
        ),
        source="ADHERE; Lally 2010",
        function="api.rules.monitoring.silence",
    ),
    AlertRule(
        RuleCode.MEDICATION_REVIEW,
        _ROUTINE,
        words=_fixed("Muscle relaxant most days: medication review"),
        describe=lambda s: (
            f"muscle relaxant logged on more than {s.muscle_relaxant_max_days} of the last "
            f"{s.muscle_relaxant_lookback_days} days: talk to your prescriber"
        ),
        source="NICE NG59",
        function="api.rules.monitoring.medication_review",
        trigger=_medication_review,
    ),
)

BY_CODE: Mapping[str, AlertRule] = MappingProxyType({rule.code: rule for rule in ALERT_RULES})
if list(BY_CODE) != list(RuleCode) or len(ALERT_RULES) != len(RuleCode):
    raise RuntimeError("every RuleCode needs exactly one AlertRule, in the same order")

# The codes the database accepts in ``alert.rule`` (checked by the application, not a CHECK).
ACCEPTED_CODES: frozenset[str] = frozenset(str(code) for code in RuleCode)


def accepted_code(value: str) -> str:
    """``value`` when it is a rule code of the registry; ValueError otherwise."""
    if value not in ACCEPTED_CODES:
        raise ValueError(f"unknown alert rule code: {value!r}")
    return str(value)


def history_alerts(history: LogHistory) -> list[AlertSpec]:
    """Every rule judged over the log history, in registry order: the alerts that fire now.

    The one list the pain-log write path and the daily sweep both evaluate.
    """
    fired = (rule.trigger(history) for rule in ALERT_RULES if rule.trigger is not None)
    return [spec for spec in fired if spec is not None]


def rule_words(code: str, settings: RuleSettings) -> str:
    """What a clinician reads for ``code`` (the code itself, spaced, for an unknown one)."""
    rule = BY_CODE.get(code)
    return rule.words(settings) if rule is not None else code.replace("_", " ")
