"""Machine-readable catalogue of every alert rule code, rendered into the README.

``python -m api.docs`` rewrites the README block between the ``rule-catalogue``
markers from ``render_markdown()``, and ``tests/test_docs.py`` fails when they differ,
so the documentation cannot drift from the code. Trigger texts use the default settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.rules import monitoring, screenings, triage, windows
from api.rules.settings import DEFAULT_RULES
from api.rules.types import RuleCode, Tier
from api.rules.version import RULESET_VERSION


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    code: RuleCode
    tiers: tuple[Tier, ...]
    trigger: str
    source: str
    rule: Callable[..., object]

    @property
    def function(self) -> str:
        return f"{self.rule.__module__}.{self.rule.__qualname__}"


_S = DEFAULT_RULES


def _days(last_day: int) -> str:
    """The programme days of the window ending on ``last_day``."""
    return f"days {last_day - _S.window_days + 1}-{last_day}"


_RED_FLAG_SOURCE = "NICE NG59/CKS red flags; GIRFT CES pathway; NICE NG234, CG75"
_WINDOW_SOURCE = "NICE NG59; Ostelo 2008 (MIC 2 points / 30 %)"

CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        RuleCode.RED_FLAG_EMERGENCY,
        (Tier.EMERGENCY,),
        "new saddle numbness, bladder/bowel/sexual change, symptoms or weakness in both legs, "
        "major trauma, chest pain; cancer history with one-leg weakness or numbness",
        _RED_FLAG_SOURCE,
        triage.triage,
    ),
    CatalogueEntry(
        RuleCode.RED_FLAG_URGENT_SAME_DAY,
        (Tier.URGENT_SAME_DAY,),
        "new one-leg weakness, fever, unexplained weight loss, night pain; cancer history with "
        "thoracic pain or pain on straining",
        _RED_FLAG_SOURCE,
        triage.triage,
    ),
    CatalogueEntry(
        RuleCode.RED_FLAG_URGENT_DAYS,
        (Tier.URGENT_DAYS,),
        "new minor trauma with osteoporosis or steroid use (fragility fracture pattern)",
        "NICE CKS low back pain; NOGG",
        triage.fragility_fracture_trigger,
    ),
    CatalogueEntry(
        RuleCode.KNOWN_SYMPTOM,
        (Tier.ROUTINE,),
        "a triggering symptom already true in the latest red-flag screening, reported again",
        "CLINICAL_RULES.md section 2 (new qualifier)",
        triage.triage,
    ),
    CatalogueEntry(
        RuleCode.PERSISTENT_NUMBNESS,
        (Tier.ROUTINE,),
        f"one-leg numbness on >= {_S.persistent_numbness_days} consecutive logged days",
        "NICE NG59 (sciatica)",
        triage.persistent_numbness,
    ),
    CatalogueEntry(
        RuleCode.START_BACK_MEDIUM,
        (Tier.ROUTINE,),
        "STarT Back medium risk: physiotherapy review",
        "Hill et al. 2008; NICE NG59",
        screenings.start_back_alerts,
    ),
    CatalogueEntry(
        RuleCode.START_BACK_HIGH,
        (Tier.ROUTINE,),
        "STarT Back high risk: biopsychosocial assessment",
        "Hill et al. 2008; NICE NG59",
        screenings.start_back_alerts,
    ),
    CatalogueEntry(
        RuleCode.NO_IMPROVEMENT_2W,
        (Tier.ROUTINE,),
        f"day {_S.checkpoint_2w_day}: {_days(_S.checkpoint_2w_day)} not improved on baseline ({_days(_S.window_days)})",
        _WINDOW_SOURCE,
        windows.no_improvement_checkpoints,
    ),
    CatalogueEntry(
        RuleCode.NO_IMPROVEMENT_4W,
        (Tier.ROUTINE, Tier.URGENT_DAYS),
        f"day {_S.checkpoint_4w_day}: {_days(_S.checkpoint_4w_day)} not improved; urgent_days if age >= "
        f"{_S.escalation_age} or cancer history",
        _WINDOW_SOURCE + "; NICE NG234",
        windows.no_improvement_checkpoints,
    ),
    CatalogueEntry(
        RuleCode.NO_IMPROVEMENT_6W,
        (Tier.ROUTINE,),
        f"day {_S.checkpoint_6w_day}: {_days(_S.checkpoint_6w_day)} not improved",
        _WINDOW_SOURCE,
        windows.no_improvement_checkpoints,
    ),
    CatalogueEntry(
        RuleCode.PERSISTENT_12W,
        (Tier.ROUTINE,),
        f"day {_S.checkpoint_12w_day}: mean of {_days(_S.checkpoint_12w_day)} above {_S.persistent_12w_min_mean:g} "
        "(chronic: refer per local pathway)",
        "NICE NG59, NG193",
        windows.persistent_12w,
    ),
    CatalogueEntry(
        RuleCode.WORSENING,
        (Tier.ROUTINE,),
        f"{_S.worsening_consecutive_windows} consecutive valid programme weeks each "
        f"{_S.worsening_points:g}+ points worse than baseline",
        "Ostelo 2008",
        windows.worsening_alerts,
    ),
    CatalogueEntry(
        RuleCode.PROLONGED_FLARE,
        (Tier.ROUTINE,),
        f"a flare lasting more than {_S.prolonged_flare_days} days",
        "Silbernagel pain-monitoring model",
        monitoring.prolonged_flare,
    ),
    CatalogueEntry(
        RuleCode.SILENT,
        (Tier.ROUTINE,),
        f"no pain log for {_S.silence_alert_days} local days (patient nudge at {_S.silence_nudge_days})",
        "ADHERE; Lally 2010",
        monitoring.silence,
    ),
    CatalogueEntry(
        RuleCode.MEDICATION_REVIEW,
        (Tier.ROUTINE,),
        f"muscle relaxant logged on more than {_S.muscle_relaxant_max_days} of the last "
        f"{_S.muscle_relaxant_lookback_days} days: talk to your prescriber",
        "NICE NG59",
        monitoring.medication_review,
    ),
)


def render_markdown() -> str:
    """The catalogue as a Markdown table (the README block between the markers)."""
    lines = [
        f"Generated from `api/rules/catalogue.py` (rule set {RULESET_VERSION}); "
        "do not edit by hand: run `python -m api.docs`.",
        "",
        "| code | tier | trigger | source | rule |",
        "|---|---|---|---|---|",
    ]
    for entry in CATALOGUE:
        tiers = " or ".join(f"`{t}`" for t in entry.tiers)
        lines.append(f"| `{entry.code}` | {tiers} | {entry.trigger} | {entry.source} | `{entry.function}` |")
    return "\n".join(lines) + "\n"
