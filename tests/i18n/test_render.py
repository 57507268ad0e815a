"""Rendering rule messages in a locale: English unchanged, numbers and dates by Babel, the
emergency numbers of each country, and Accept-Language negotiation (pure, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from api.i18n import negotiate_locale, render, rules_for_country, translate_stored
from api.i18n.countries import country_of_locale, default_locale_of_country
from api.rules.advice import Informed, flare_advice, patient_advice
from api.rules.progression import WeeklyReviewInput, weekly_review
from api.rules.reminder_copy import REMINDER_COPY
from api.rules.settings import DEFAULT_RULES
from api.rules.text import Msg, Text
from api.rules.types import SessionClass, Tier


def test_english_is_the_message_itself() -> None:
    advice = patient_advice(Tier.EMERGENCY, DEFAULT_RULES, informed=Informed.CLINIC)
    assert isinstance(advice, Text)
    assert render(advice, "en-GB") == advice
    assert advice.startswith("Please call 999 now, or go to A&E straight away. ")


@pytest.mark.parametrize(
    ("country", "locale", "start"),
    [
        ("DE", "de-DE", "Bitte rufen Sie jetzt den Notruf 112 an"),
        ("ES", "es-ES", "Llame ahora al 112 o acuda a urgencias"),
        ("FR", "fr-FR", "Appelez le 15 ou 112 maintenant"),
        ("FR", "en-GB", "Please call 15 or 112 now"),
        ("US", "en-GB", "Please call 911 now"),
        ("GB", "de-DE", "Bitte rufen Sie jetzt den Notruf 999 an"),
    ],
)
def test_emergency_advice_names_the_country_numbers_in_the_patient_language(
    country: str, locale: str, start: str
) -> None:
    rules = rules_for_country(DEFAULT_RULES, country, locale)
    assert render(patient_advice(Tier.EMERGENCY, rules), locale).startswith(start)


def test_the_urgent_line_is_used_where_the_country_has_one_and_never_invented() -> None:
    german = render(patient_advice(Tier.URGENT_SAME_DAY, rules_for_country(DEFAULT_RULES, "DE", "de-DE")), "de-DE")
    assert "rufen Sie 116117 an" in german and "den Notruf 112" in german
    us = render(patient_advice(Tier.URGENT_SAME_DAY, rules_for_country(DEFAULT_RULES, "US", "en-GB")), "en-GB")
    assert us.startswith("Please contact your doctor today. If you cannot reach a doctor today, go to an emergency")
    assert "111" not in us and "911" in us
    days = render(patient_advice(Tier.URGENT_DAYS, rules_for_country(DEFAULT_RULES, "US", "en-GB")), "en-GB")
    assert "If things get suddenly worse, contact a doctor the same day." in days


def test_gb_keeps_the_deployment_numbers() -> None:
    rules = rules_for_country(replace(DEFAULT_RULES, urgent_number="112"), "GB", "en-GB")
    assert (rules.emergency_number, rules.urgent_number) == ("999", "112")


def test_a_patient_without_a_clinic_uses_the_country_of_their_locale() -> None:
    assert [country_of_locale(x) for x in ("en-GB", "de-DE", "es-ES", "fr-FR")] == ["GB", "DE", "ES", "FR"]
    assert [default_locale_of_country(x) for x in ("GB", "DE", "ES", "FR", "US")] == [
        "en-GB",
        "de-DE",
        "es-ES",
        "fr-FR",
        "en-GB",
    ]


@pytest.mark.parametrize("locale", ["de-DE", "es-ES", "fr-FR"])
def test_every_tier_and_the_flare_advice_render_with_no_english_left(locale: str) -> None:
    rules = rules_for_country(DEFAULT_RULES, country_of_locale(locale), locale)
    for tier in Tier:
        for informed in Informed:
            text = render(patient_advice(tier, rules, informed=informed), locale)
            assert "{" not in text and "Please" not in text and "physiotherapist" not in text
            assert "112" in text
    flare = render(flare_advice(rules), locale)
    assert flare.count("- ") >= 16 and "Do you" not in flare


def test_numbers_and_dates_follow_the_locale() -> None:
    message = Msg("weekly pain {before} → {after}", before=Decimal("4.3"), after=Decimal("4.0"))
    assert message == "weekly pain 4.3 → 4.0"
    assert render(message, "de-DE") == "Wochenschmerz 4,3 → 4,0"
    assert render(message, "fr-FR") == "douleur de la semaine 4,3 → 4,0"
    until = Msg("flare-up: lighter plan until {date}", date=date(2026, 12, 8))
    assert until == "flare-up: lighter plan until 2026-12-08"
    assert render(until, "es-ES") == "crisis de dolor: plan más suave hasta el 8 de diciembre de 2026"
    assert render(until, "de-DE") == "Schmerzschub: leichterer Plan bis 8. Dezember 2026"


def test_stored_plan_reasons_are_read_back_in_the_patient_language() -> None:
    decision = weekly_review(
        WeeklyReviewInput(
            level=2,
            level_count=4,
            planned_sessions=3,
            done_sessions=2,
            session_classes=(SessionClass.GREEN, SessionClass.GREEN),
            weekly_mean_prev=4.0,
            weekly_mean_this=3.9,
            mean_rpe=4.0,
            too_hard_count=0,
            days_at_level=7,
            flare_in_week=False,
            open_urgent_alert=False,
        )
    )
    assert decision.reasons == ("adherence 67 % (below 80 %)",)
    stored = [str(r) for r in decision.reasons]  # what the JSON column keeps
    assert [translate_stored(r, "es-ES") for r in stored] == ["cumplimiento 67 % (por debajo del 80 %)"]
    assert translate_stored("2 red sessions this week", "de-DE") == "2 rote Einheiten in dieser Woche"
    assert translate_stored("a clinician's own words", "fr-FR") == "a clinician's own words"


def test_reminders_have_every_language() -> None:
    for title, body in REMINDER_COPY.values():
        assert render(title, "es-ES") != title and render(body, "es-ES") != body


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("de-DE", "de-DE"),
        ("de", "de-DE"),
        ("de-AT,de;q=0.9", "de-DE"),
        ("ja,es;q=0.5", "es-ES"),
        ("fr-CA;q=0.3, es;q=0.8", "es-ES"),
        ("en-US", "en-GB"),
        ("ja", None),
        ("*", None),
        ("es;q=0", None),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str | None) -> None:
    assert negotiate_locale(header) == expected
