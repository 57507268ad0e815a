"""A patient's locale and country, read once where their texts are rendered."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from api.i18n.countries import country_of_locale, rules_for_country
from api.i18n.locales import DEFAULT_LOCALE
from api.i18n.render import render
from api.models import Clinic, Patient, User
from api.rules.settings import RuleSettings


def patient_language(session: Session, patient: Patient) -> tuple[str, str]:
    """(locale, country): the clinic's country, or for a patient without a clinic their locale's."""
    country = None
    if patient.clinic_id is not None:
        country = session.exec(select(Clinic.country).where(Clinic.id == patient.clinic_id)).first()
    return language_in(patient, country)


def language_in(patient: Patient, clinic_country: str | None) -> tuple[str, str]:
    """``patient_language`` with the clinic's country already loaded (None without a clinic)."""
    locale = patient.locale or DEFAULT_LOCALE
    return locale, clinic_country or country_of_locale(locale)


def patient_rules(session: Session, patient: Patient, rules: RuleSettings) -> tuple[str, RuleSettings]:
    """The patient's locale and ``rules`` with their country's emergency numbers, worded for it."""
    locale, country = patient_language(session, patient)
    return locale, rules_for_country(rules, country, locale)


def rules_in(patient: Patient, clinic_country: str | None, rules: RuleSettings) -> tuple[str, RuleSettings]:
    """``patient_rules`` with the clinic's country already loaded (None without a clinic)."""
    locale, country = language_in(patient, clinic_country)
    return locale, rules_for_country(rules, country, locale)


def render_for(session: Session, patient: Patient, text: str) -> str:
    return render(text, patient_language(session, patient)[0])


def user_locales(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """The locale of each patient account among ``user_ids`` (staff are not listed: English)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = session.exec(select(Patient.user_id, Patient.locale).where(col(Patient.user_id).in_(ids))).all()
    return dict(rows)


def locale_of_user(session: Session, user: User) -> str:
    """A patient's locale; staff read the library and questionnaires in English."""
    found = session.exec(select(Patient.locale).where(Patient.user_id == user.id)).first()
    return found or DEFAULT_LOCALE
