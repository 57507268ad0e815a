"""Rendering ``Msg`` / ``Text`` in a locale from the gettext catalogues, numbers and dates by Babel."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from api.i18n.locales import DEFAULT_LOCALE
from api.rules.text import Msg, Text

CATALOGUE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


def catalogue_path(locale: str) -> Path:
    return CATALOGUE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def translations(locale: str) -> dict[str, str]:
    """msgid → msgstr of a shipped locale's catalogue (translated, non-fuzzy entries only)."""
    if locale == DEFAULT_LOCALE:
        return {}
    with catalogue_path(locale).open("rb") as handle:
        catalogue = read_po(handle, locale=locale.replace("-", "_"))
    return {
        str(m.id): str(m.string)
        for m in catalogue
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def _babel(locale: str) -> str:
    return locale.replace("-", "_")


def format_param(value: object, locale: str) -> str:
    """A parameter as the locale writes it: numbers and dates by Babel, messages rendered."""
    if isinstance(value, Msg | Text):
        return render(value, locale)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_decimal(value, locale=_babel(locale))
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(value, format=pattern, locale=_babel(locale))
    if isinstance(value, date):
        return format_date(value, format="long", locale=_babel(locale))
    return str(value)


def render(text: str, locale: str) -> str:
    """``text`` in ``locale``: a ``Msg`` from its catalogue, a ``Text`` part by part, a plain str as it is.

    English is the message identifier itself, so ``en-GB`` returns the English text
    unchanged. A message missing from a catalogue falls back to English (the catalogue
    check in the tests keeps that from shipping).
    """
    if locale == DEFAULT_LOCALE:
        return str(text)
    if isinstance(text, Text):
        return text.sep.join(part for part in (render(p, locale) for p in text.parts) if part)
    if isinstance(text, Msg):
        template = translations(locale).get(text.msgid, text.msgid)
        if not text.params:
            return template
        return template.format(**{name: format_param(value, locale) for name, value in text.params.items()})
    return str(text)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@lru_cache(maxsize=8)
def _patterns(locale: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """A regular expression per parameterised message, longest first (the most specific wins)."""
    found = []
    for msgid in sorted(translations(locale), key=len, reverse=True):
        if "{" not in msgid:
            continue
        pieces = _PLACEHOLDER.split(msgid)
        regex = "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.+?)" for i, piece in enumerate(pieces))
        found.append((re.compile(f"^{regex}$", re.DOTALL), msgid))
    return tuple(found)


def _parsed(value: str) -> object:
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def _stored_params(groups: dict[str, str], locale: str, glossary: Mapping[str, str]) -> dict[str, str] | None:
    """Each parameter in ``locale``: a number or date, a glossary name, or a stored message; else None."""
    rendered = {}
    for name, value in groups.items():
        parsed = _parsed(value)
        if isinstance(parsed, Decimal | date):
            rendered[name] = format_param(parsed, locale)
            continue
        if value in glossary:
            rendered[name] = glossary[value]
            continue
        inner = translate_stored(value, locale, glossary)
        if inner == value:
            return None
        rendered[name] = inner
    return rendered


def translate_stored(text: str, locale: str, glossary: Mapping[str, str] | None = None) -> str:
    """An English text stored earlier (a plan decision's reason) in ``locale``.

    Plan reasons are stored in English, as the clinician reads them; for the patient they
    are matched back to their catalogue message (numbers and dates re-read as such and
    formatted for the locale; names of the exercise library through ``glossary``, English
    name to local name). Text that is no catalogue message (a clinician's own words) is
    shown as written.
    """
    if locale == DEFAULT_LOCALE:
        return text
    table = translations(locale)
    if text in table:
        return table[text]
    for pattern, msgid in _patterns(locale):
        match = pattern.match(text)
        if match is not None:
            rendered = _stored_params(match.groupdict(), locale, glossary or {})
            if rendered is not None:
                return table[msgid].format(**rendered)
    return text
