"""Request fields naming a shipped locale or a clinic country (422 naming the field otherwise)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from api.i18n.countries import SUPPORTED_COUNTRIES
from api.i18n.locales import SUPPORTED_LOCALES, canonical_locale


def _shipped_locale(value: str) -> str:
    found = canonical_locale(value)
    if found is None:
        raise ValueError(f"unsupported locale; one of {', '.join(SUPPORTED_LOCALES)}")
    return found


def _known_country(value: str) -> str:
    if value not in SUPPORTED_COUNTRIES:
        raise ValueError(
            "an ISO 3166-1 alpha-2 code whose emergency numbers Backstep knows; "
            f"one of {', '.join(SUPPORTED_COUNTRIES)}"
        )
    return value


LocaleTag = Annotated[
    str,
    StringConstraints(strict=True, max_length=16),
    AfterValidator(_shipped_locale),
    Field(description=f"BCP 47 language tag, one of {', '.join(SUPPORTED_LOCALES)}", examples=["de-DE"]),
]
CountryCode = Annotated[
    str,
    StringConstraints(strict=True, min_length=2, max_length=2),
    AfterValidator(_known_country),
    Field(description=f"ISO 3166-1 alpha-2, one of {', '.join(SUPPORTED_COUNTRIES)}", examples=["DE"]),
]
