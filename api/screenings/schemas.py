"""Screening bodies: one request shape per instrument, told apart by ``instrument``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from api.models import Instrument, Screening
from api.rules.screenings import Bothersome, OdiBand, display_percent
from api.rules.types import RiskGroup, Symptom, Tier
from api.schemas import Public, StrictBool, StrictInput

OdiScore = Annotated[int, Field(strict=True, ge=0, le=5)]


class StartBackAnswers(StrictInput):
    """Items 1-8 agree (true) / disagree (false); item 9 bothersomeness. All nine required."""

    q1: StrictBool
    q2: StrictBool
    q3: StrictBool
    q4: StrictBool
    q5: StrictBool
    q6: StrictBool
    q7: StrictBool
    q8: StrictBool
    q9: Bothersome

    def items_1_to_8(self) -> list[bool]:
        return [self.q1, self.q2, self.q3, self.q4, self.q5, self.q6, self.q7, self.q8]


class RedFlagAnswers(StrictInput):
    """Every question of the red-flag screening must be answered: an unasked question is not a no."""

    saddle_numbness: StrictBool
    bladder_change: StrictBool
    bowel_change: StrictBool
    sexual_dysfunction: StrictBool
    both_legs_symptoms: StrictBool
    both_legs_weakness: StrictBool
    one_leg_weakness: StrictBool
    one_leg_numbness: StrictBool
    fever: StrictBool
    unexplained_weight_loss: StrictBool
    night_pain: StrictBool
    thoracic_pain: StrictBool
    pain_on_straining: StrictBool
    major_trauma: StrictBool
    minor_trauma: StrictBool
    chest_pain: StrictBool

    def reported(self) -> frozenset[Symptom]:
        return frozenset(s for s in Symptom if getattr(self, s.value))


class OdiAnswers(StrictInput):
    """Each section scored 0-5; null or omitted when the patient left it out."""

    s1: OdiScore | None = None
    s2: OdiScore | None = None
    s3: OdiScore | None = None
    s4: OdiScore | None = None
    s5: OdiScore | None = None
    s6: OdiScore | None = None
    s7: OdiScore | None = None
    s8: OdiScore | None = None
    s9: OdiScore | None = None
    s10: OdiScore | None = None

    def sections(self) -> list[int | None]:
        return [getattr(self, f"s{i}") for i in range(1, 11)]


class StartBackCreate(StrictInput):
    instrument: Literal["start_back"]
    answers: StartBackAnswers


class RedFlagsCreate(StrictInput):
    instrument: Literal["red_flags"]
    answers: RedFlagAnswers


class OdiCreate(StrictInput):
    instrument: Literal["odi"]
    answers: OdiAnswers


ScreeningCreate = Annotated[StartBackCreate | RedFlagsCreate | OdiCreate, Field(discriminator="instrument")]


class StartBackResultPublic(Public):
    id: int
    instrument: Literal["start_back"] = "start_back"
    total: int
    subscale: int
    risk_group: RiskGroup
    alert_ids: list[int]
    created_at: datetime


class RedFlagsResultPublic(Public):
    id: int
    instrument: Literal["red_flags"] = "red_flags"
    tier: Tier
    advice: str
    alert_ids: list[int]
    created_at: datetime


class OdiResultPublic(Public):
    id: int
    instrument: Literal["odi"] = "odi"
    percent: float | None = Field(description="Rounded half up to 2 places; null with fewer than 9 sections answered")
    band: OdiBand | None
    answered: int
    missing_sections: list[int]
    created_at: datetime


ScreeningResultPublic = Annotated[
    StartBackResultPublic | RedFlagsResultPublic | OdiResultPublic, Field(discriminator="instrument")
]


class ScreeningPublic(Public):
    """A stored screening as listed: raw answers and the scores of its instrument."""

    id: int
    instrument: Literal["start_back", "red_flags", "odi"]
    answers: dict[str, Any]
    total: int | None
    subscale: int | None
    risk_group: RiskGroup | None
    tier: Tier | None
    percent: float | None
    band: OdiBand | None
    missing_sections: list[int] | None
    ruleset_version: str
    created_at: datetime

    @classmethod
    def of(cls, row: Screening) -> ScreeningPublic:
        shown = display_percent(row.percent)
        return cls(
            id=row.id,
            instrument=row.instrument,
            answers=row.answers,
            total=row.total,
            subscale=row.subscale,
            risk_group=row.risk_group,
            tier=row.tier,
            percent=float(shown) if shown is not None else None,
            band=row.band,
            missing_sections=row.result.get("missing_sections") if row.instrument == Instrument.ODI else None,
            ruleset_version=row.ruleset_version,
            created_at=row.created_at,
        )


class InstrumentOptionPublic(Public):
    value: str
    label: str


class InstrumentItemPublic(Public):
    id: str
    text: str
    answer: str
    options: list[InstrumentOptionPublic]


class InstrumentPublic(Public):
    """A questionnaire as the app shows it, with its copyright line."""

    id: str
    name: str
    version: str
    copyright: str | None
    licence: str | None
    instructions: str | None
    items: list[InstrumentItemPublic]
    locale: str = Field(description="BCP 47: the language the wording is in")
    note: str | None = Field(
        description="in the caller's language, when the wording is not: no validated translation is shipped"
    )
