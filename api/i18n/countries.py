"""Emergency and urgent-care numbers per country (ISO 3166-1 alpha-2), used in every advice.

GB's numbers are the rule settings' ``emergency_number`` / ``urgent_number`` (999 / 111 by
default, as before), so a deployment's override still applies there. A country is offered
for a clinic only when its numbers are known here: a guessed number in safety advice is
worse than a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from babel.lists import format_list

from api.i18n.locales import DEFAULT_LOCALE
from api.rules.settings import RuleSettings


@dataclass(frozen=True, slots=True)
class CareNumbers:
    """``emergency``: numbers to call now (any of them); ``urgent``: the same-day line, if the country has one."""

    emergency: tuple[str, ...]
    urgent: str | None


COUNTRY_NUMBERS: dict[str, CareNumbers] = {
    "GB": CareNumbers(("999",), "111"),
    "DE": CareNumbers(("112",), "116117"),
    "ES": CareNumbers(("112",), None),
    "FR": CareNumbers(("15", "112"), None),
    "US": CareNumbers(("911",), None),
}
SUPPORTED_COUNTRIES: tuple[str, ...] = tuple(sorted(COUNTRY_NUMBERS))
DEFAULT_COUNTRY = "GB"

_LOCALE_COUNTRY = {"en-GB": "GB", "de-DE": "DE", "es-ES": "ES", "fr-FR": "FR"}
_COUNTRY_LOCALE = {"GB": "en-GB", "DE": "de-DE", "ES": "es-ES", "FR": "fr-FR", "US": "en-GB"}


def country_of_locale(locale: str) -> str:
    """The country of a shipped locale (a patient without a clinic uses it)."""
    return _LOCALE_COUNTRY.get(locale, DEFAULT_COUNTRY)


def default_locale_of_country(country: str) -> str:
    """A clinic's default patient locale when none is given: its country's language."""
    return _COUNTRY_LOCALE.get(country, DEFAULT_LOCALE)


def numbers_for(country: str, rules: RuleSettings) -> CareNumbers:
    if country == DEFAULT_COUNTRY or country not in COUNTRY_NUMBERS:
        return CareNumbers((rules.emergency_number,), rules.urgent_number or None)
    return COUNTRY_NUMBERS[country]


def rules_for_country(rules: RuleSettings, country: str, locale: str) -> RuleSettings:
    """``rules`` with the country's numbers, worded for ``locale`` ("15 or 112", "15 ou 112").

    An empty ``urgent_number`` tells the advice that the country has no urgent-care line.
    """
    numbers = numbers_for(country, rules)
    emergency = format_list(list(numbers.emergency), style="or", locale=locale.replace("-", "_"))
    return replace(rules, emergency_number=emergency, urgent_number=numbers.urgent or "")
