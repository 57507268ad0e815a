"""Machine-readable catalogue of every alert rule code, rendered into the README.

A view of the registry (``api.rules.registry``): one row per ``AlertRule``, its trigger
text derived from the settings. ``python -m api.docs`` rewrites the README block between
the ``rule-catalogue`` markers from ``render_markdown()``, and ``tests/test_docs.py`` fails
when they differ, so the documentation cannot drift from the code. The README shows the
default settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.rules.registry import ALERT_RULES
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import RuleCode, Tier
from api.rules.version import RULESET_VERSION


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    code: RuleCode
    tiers: tuple[Tier, ...]
    trigger: str
    source: str
    function: str  # the pure function that decides it, ``module.name``


def catalogue(settings: RuleSettings = DEFAULT_RULES) -> tuple[CatalogueEntry, ...]:
    """Every rule of the registry, its trigger worded with ``settings``' thresholds."""
    return tuple(CatalogueEntry(r.code, r.tiers, r.describe(settings), r.source, r.function) for r in ALERT_RULES)


CATALOGUE: tuple[CatalogueEntry, ...] = catalogue()


def render_markdown() -> str:
    """The catalogue as a Markdown table (the README block between the markers)."""
    lines = [
        f"Generated from `api/rules/registry.py` (rule set {RULESET_VERSION}); "
        "do not edit by hand: run `python -m api.docs`.",
        "",
        "| code | tier | trigger | source | rule |",
        "|---|---|---|---|---|",
    ]
    for entry in CATALOGUE:
        tiers = " or ".join(f"`{t}`" for t in entry.tiers)
        lines.append(f"| `{entry.code}` | {tiers} | {entry.trigger} | {entry.source} | `{entry.function}` |")
    return "\n".join(lines) + "\n"
