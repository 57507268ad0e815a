"""The shipped locales (BCP 47 tags) and the choice of one from an ``Accept-Language`` header."""

from __future__ import annotations

from babel import Locale

DEFAULT_LOCALE = "en-GB"
# Every patient-facing catalogue message and exercise text exists in each of these.
SUPPORTED_LOCALES: tuple[str, ...] = ("en-GB", "de-DE", "es-ES", "fr-FR")
_BY_LOWER = {tag.lower(): tag for tag in SUPPORTED_LOCALES}


def canonical_locale(tag: str) -> str | None:
    """The shipped locale ``tag`` names (case-insensitive, ``_`` or ``-``), or None."""
    return _BY_LOWER.get(tag.strip().replace("_", "-").lower())


def _preferences(header: str) -> list[str]:
    """Language ranges of an ``Accept-Language`` header, most preferred first (RFC 9110 §12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            ranked.append((-weight, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_locale(header: str | None) -> str | None:
    """The shipped locale that best fits an ``Accept-Language`` header (Babel's negotiation), or None.

    ``de`` or ``de-AT`` choose ``de-DE``: Babel's negotiation matches the language when no
    region matches.
    """
    if not header:
        return None
    preferred = _preferences(header)
    found = Locale.negotiate(preferred, list(SUPPORTED_LOCALES), sep="-")
    if found is not None:
        return canonical_locale(f"{found.language}-{found.territory}") if found.territory else None
    # Babel matches "de" to a bare "de" only: fall back to the language of each range in order.
    for tag in preferred:
        language = tag.split("-")[0].lower()
        for shipped in SUPPORTED_LOCALES:
            if shipped.split("-")[0].lower() == language:
                return shipped
    return None
