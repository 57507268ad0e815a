"""Rendering: one Jinja2 environment (autoescaping everything) and the filters the pages use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.clinicians.words import (
    ACTION_WORDS,
    CLASSIFICATION_WORDS,
    NO_VALUE,
    STATUS_WORDS,
    TIER_ADVICE,
    TIER_WORDS,
    change_words,
    exercise_gap_words,
    plan_review_reason,
    plan_words,
    rule_words,
)
from api.exercises.dose import dose_text

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def day_words(on: date | None, today: date) -> str:
    """A date as a physiotherapist says it, relative to the patient's own today."""
    if on is None:
        return "never"
    days = (today - on).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if 1 < days < 60:
        return f"{days} days ago"
    return f"{on:%a} {on.day} {on:%b %Y}"


def long_date(on: date | None) -> str:
    return "" if on is None else f"{on:%a} {on.day} {on:%b %Y}"


def local_time(moment: datetime | None, timezone: str) -> str:
    """An instant in the patient's zone: ``Tue 17 Feb 2026, 19:00``."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def locale_words(tag: str) -> str:
    """A patient's locale for the (English) dashboard: ``German (Germany) · de-DE``."""
    try:
        name = Locale.parse(tag, sep="-").get_display_name("en")
    except (ValueError, UnknownLocaleError):
        return tag
    return f"{name} · {tag}" if name else tag


def one_decimal(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.1f}"


def percent(value: float | None) -> str:
    return NO_VALUE if value is None else f"{round(value * 100)} %"


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """An alert's evidence (ids, dates, codes and numbers only) as short readable lines."""
    lines: list[str] = []
    for key, value in evidence.items():
        label = key.replace("_", " ")
        if isinstance(value, Mapping):
            if value.get("mean") is not None:
                lines.append(f"{label}: mean {value['mean']:.1f} ({value.get('start')} to {value.get('end')})")
        elif isinstance(value, list):
            if value and all(isinstance(v, str | int | float) for v in value):
                lines.append(f"{label}: {', '.join(str(v).replace('_', ' ') for v in value)}")
        elif isinstance(value, float):
            lines.append(f"{label}: {value:.2f}")
        elif value is not None:
            lines.append(f"{label}: {value}")
    return lines


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its extension: patient text is never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day_words=day_words,
        long_date=long_date,
        locale_words=locale_words,
        local_time=local_time,
        one_decimal=one_decimal,
        change_words=change_words,
        dose_text=dose_text,
        percent=percent,
        evidence_lines=evidence_lines,
        tier_words=lambda tier: TIER_WORDS.get(str(tier), str(tier)),
        tier_advice=lambda tier: TIER_ADVICE.get(str(tier), ""),
        rule_words=rule_words,
        classification_words=lambda c: CLASSIFICATION_WORDS.get(str(c), str(c)),
        action_words=lambda a: ACTION_WORDS.get(str(a), str(a)),
        status_words=lambda s: STATUS_WORDS.get(str(s), str(s)),
    )
    env.globals.update(
        plan_words=plan_words, plan_review_reason=plan_review_reason, exercise_gap_words=exercise_gap_words
    )
    return env


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)
