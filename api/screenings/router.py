from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from sqlmodel import col, select

from api.deps import CurrentPatient, CurrentUser, NowDep, SessionDep, SettingsDep
from api.i18n import DEFAULT_LOCALE, render
from api.i18n.patients import locale_of_user
from api.models import Screening
from api.pagination import Keyset
from api.rules.advice import RED_FLAG_QUESTIONS
from api.rules.text import Msg
from api.schemas import Limit, Page
from api.screenings import service
from api.screenings.schemas import (
    InstrumentItemPublic,
    InstrumentPublic,
    ScreeningCreate,
    ScreeningPublic,
    ScreeningResultPublic,
)
from exercise_library import get_library

# STarT Back and ODI wording must be a validated translation used verbatim under its licence.
_NOT_TRANSLATED = Msg(
    "This questionnaire is shown in English, as published: no validated translation into your language is "
    "included yet. Answer as best you can, or ask your physiotherapist for help."
)

router = APIRouter(tags=["screenings"])

_PROBLEM: dict[int | str, dict[str, Any]] = {422: {"content": {"application/problem+json": {}}}}


@router.post(
    "/me/screenings", status_code=status.HTTP_201_CREATED, response_model=ScreeningResultPublic, responses=_PROBLEM
)
def create_screening(
    body: ScreeningCreate,
    user: CurrentUser,
    patient: CurrentPatient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Any:
    """Score a STarT Back, red-flag or ODI screening and act on the result.

    STarT Back assigns the plan for the risk group and raises the medium/high routine
    alert; a red-flag screening answers with the triage tier and advice at once.
    """
    return service.record_screening(session, user, patient, body, now, settings.rules)


@router.get("/me/screenings", response_model=Page[ScreeningPublic])
def list_screenings(
    patient: CurrentPatient,
    session: SessionDep,
    instrument: Literal["start_back", "red_flags", "odi"] | None = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ScreeningPublic]:
    """The patient's screenings, newest first (optionally of one instrument)."""
    keyset = Keyset(cursor, limit, id=int)
    query = (
        select(Screening)
        .where(Screening.patient_id == patient.id)
        .order_by(col(Screening.id).desc())
        .limit(keyset.fetch)
    )
    if instrument is not None:
        query = query.where(Screening.instrument == instrument)
    if keyset.after is not None:
        query = query.where(col(Screening.id) < keyset.after["id"])
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda r: {"id": r.id})
    return Page[ScreeningPublic](items=[ScreeningPublic.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/screening-instruments", response_model=list[InstrumentPublic])
def list_instruments(user: CurrentUser, session: SessionDep) -> list[InstrumentPublic]:
    """The questionnaires' wording for the app: STarT Back (with Keele's copyright line),
    ODI section titles, and the red-flag questions.

    The red-flag questions are in the patient's own language. STarT Back and ODI are
    shown as published, in English, with a note in the patient's language: a validated
    translation must be used verbatim under its licence, and none is shipped.
    """
    locale = locale_of_user(session, user)
    note = None if locale == DEFAULT_LOCALE else render(_NOT_TRANSLATED, locale)
    library = get_library()
    instruments = [
        InstrumentPublic.model_validate({**i.model_dump(), "locale": DEFAULT_LOCALE, "note": note})
        for i in library.instruments.values()
    ]
    red_flags = InstrumentPublic(
        id="red_flags",
        name=render(Msg("Red-flag screening"), locale),
        version="1",
        copyright=None,
        licence=None,
        instructions=render(
            Msg("Please answer every question. If any answer is yes, we will tell you what to do straight away."),
            locale,
        ),
        items=[
            InstrumentItemPublic(id=symptom.value, text=render(text, locale), answer="yes_no", options=[])
            for symptom, text in RED_FLAG_QUESTIONS.items()
        ],
        locale=locale,
        note=None,
    )
    return sorted([*instruments, red_flags], key=lambda i: i.id)
