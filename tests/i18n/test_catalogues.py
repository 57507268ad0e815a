"""The gettext catalogues: complete for every shipped locale, placeholders intact, and free of
CLINICAL_RULES.md §6's forbidden advice in each language's own words (a CI gate)."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from api.i18n import SUPPORTED_LOCALES
from api.i18n.catalogues import TEMPLATE, extract, shipped_translations
from api.i18n.render import catalogue_path

TRANSLATED = shipped_translations()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _catalogue(locale: str) -> dict[str, str]:
    with catalogue_path(locale).open("rb") as handle:
        catalogue = read_po(handle, locale=locale.replace("-", "_"))
    return {str(m.id): str(m.string) for m in catalogue if m.id and not m.fuzzy}


def test_every_shipped_locale_but_english_has_a_catalogue() -> None:
    assert set(TRANSLATED) == set(SUPPORTED_LOCALES) - {"en-GB"}
    assert {"de-DE", "es-ES", "fr-FR"} <= set(TRANSLATED)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_no_message_is_missing_and_placeholders_match(locale: str) -> None:
    extracted = {str(m.id) for m in extract() if m.id}
    assert len(extracted) > 100
    catalogue = _catalogue(locale)
    missing = sorted(m for m in extracted if not catalogue.get(m))
    assert not missing, f"{locale}: untranslated (run python -m api.i18n.catalogues, then translate): {missing}"
    stale = sorted(set(catalogue) - extracted)
    assert not stale, f"{locale}: messages no code uses any more: {stale}"
    wrong = {m: catalogue[m] for m in extracted if _placeholders(m) != _placeholders(catalogue[m])}
    assert not wrong, f"{locale}: placeholders differ: {wrong}"


def test_the_template_is_the_extraction() -> None:
    with TEMPLATE.open("rb") as handle:
        template = {str(m.id) for m in read_po(handle) if m.id}
    assert template == {str(m.id) for m in extract() if m.id}, "run python -m api.i18n.catalogues"


# CLINICAL_RULES.md §6 in each language: bed rest as treatment, corsets or belts, early
# X-ray, medication doses, "exercise until pain appears", "90 % are better in 6 weeks".
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "en-GB": (
        r"bed ?rest",
        r"stay in bed",
        r"\bcorset",
        r"\bback belt",
        r"\bsupport belt",
        r"\bbrace\b",
        r"x-?ray",
        r"\d+\s*(mg|milligram|microgram|µg|mcg|ml)\b",
        r"\btablets?\b",
        r"\bibuprofen|paracetamol|codeine|naproxen|diazepam|tramadol",
        r"until (the )?pain (appears|starts)",
        r"90\s*%",
    ),
    "de-DE": (
        r"bettruhe",
        r"im bett bleiben",
        r"korsett",
        r"mieder",
        r"stützgürtel|rückengürtel|bandage",
        r"röntgen",
        r"\d+\s*(mg|milligramm|mikrogramm|µg|ml)\b",
        r"tablette",
        r"ibuprofen|paracetamol|codein|naproxen|diazepam|tramadol|metamizol",
        r"bis (der )?schmerz(en)? (auftritt|auftreten|kommt|kommen)",
        r"90\s*%",
    ),
    "es-ES": (
        r"reposo en cama",
        r"guardar cama",
        r"quedarse en (la )?cama",
        r"cors[eé]",
        r"\bfaja",
        r"cintur[oó]n lumbar",
        r"radiograf[ií]a|rayos x",
        r"\d+\s*(mg|miligramos?|microgramos?|µg|ml)\b",
        r"comprimido|pastilla",
        r"ibuprofeno|paracetamol|code[ií]na|naproxeno|diazepam|tramadol|metamizol",
        r"hasta que (aparezca|empiece|salga) el dolor",
        r"90\s*%",
    ),
    "fr-FR": (
        r"repos au lit",
        r"rester au lit",
        r"alitement",
        r"\bcorset",
        r"ceinture lombaire|ceinture de soutien",
        r"radio(graphie)?\b",
        r"\d+\s*(mg|milligrammes?|microgrammes?|µg|ml)\b",
        r"comprim[ée]",
        r"ibuprof[eè]ne|parac[ée]tamol|cod[ée]ine|napro[xx]?[eè]ne|diaz[ée]pam|tramadol",
        r"jusqu.(à|a) ce que (la )?douleur (apparaisse|arrive)",
        r"90\s*%",
    ),
}


def test_the_forbidden_advice_list_covers_every_shipped_locale() -> None:
    assert set(FORBIDDEN) == set(SUPPORTED_LOCALES)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_catalogue_gives_forbidden_advice(locale: str) -> None:
    texts = sorted({str(m.id) for m in extract() if m.id}) if locale == "en-GB" else sorted(_catalogue(locale).values())
    assert texts
    found = [(pattern, text) for pattern in FORBIDDEN[locale] for text in texts if re.search(pattern, text, re.I)]
    assert not found, found


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_scan_would_catch_each_forbidden_phrase(locale: str) -> None:
    samples = {
        "en-GB": ["Two days of bed rest.", "Wear a corset.", "Take 400 mg ibuprofen."],
        "de-DE": ["Zwei Tage Bettruhe.", "Tragen Sie ein Korsett.", "Nehmen Sie 400 mg Ibuprofen."],
        "es-ES": ["Dos días de reposo en cama.", "Use una faja.", "Tome 400 mg de ibuprofeno."],
        "fr-FR": ["Deux jours de repos au lit.", "Portez un corset.", "Prenez 400 mg de paracétamol."],
    }[locale]
    for sample in samples:
        assert any(re.search(p, sample, re.I) for p in FORBIDDEN[locale]), sample
