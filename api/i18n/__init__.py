"""Patients in their own language: shipped locales, emergency numbers per country, rendering.

The rules return ``api.rules.text.Msg`` / ``Text`` (message identifiers and parameters);
this package renders them at the edge in a patient's locale, from the gettext catalogues
in ``api/i18n/locales/<ll_CC>/LC_MESSAGES/messages.po`` (read with Babel at first use, so
a fresh clone needs no compile step). English (``en-GB``) is the source language: its
text is the message identifier itself, byte for byte.
"""

from api.i18n.countries import (
    COUNTRY_NUMBERS,
    SUPPORTED_COUNTRIES,
    CareNumbers,
    country_of_locale,
    default_locale_of_country,
    rules_for_country,
)
from api.i18n.locales import DEFAULT_LOCALE, SUPPORTED_LOCALES, canonical_locale, negotiate_locale
from api.i18n.render import render, translate_stored

__all__ = [
    "COUNTRY_NUMBERS",
    "DEFAULT_LOCALE",
    "SUPPORTED_COUNTRIES",
    "SUPPORTED_LOCALES",
    "CareNumbers",
    "canonical_locale",
    "country_of_locale",
    "default_locale_of_country",
    "negotiate_locale",
    "render",
    "rules_for_country",
    "translate_stored",
]
