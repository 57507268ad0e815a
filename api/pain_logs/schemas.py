"""Pain log request and response bodies (SPEC §3), shared by PUT and the offline sync."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from api.models import PainLog
from api.rules.types import MedicationClass, Symptom, Tier
from api.schemas import AppInstant, IsoDate, Public, Score0To10, StrictBool, StrictInput, Text

Minutes = Annotated[int, Field(strict=True, ge=0, le=1440)]
Steps = Annotated[int, Field(strict=True, ge=0, le=200_000)]


class Medication(StrictInput):
    """A medication class taken that day: classes only, never names or doses."""

    class_: MedicationClass = Field(alias="class")


class SymptomChecklist(StrictInput):
    """The red-flag checklist of CLINICAL_RULES.md §2 on a daily log; omitted means no."""

    saddle_numbness: StrictBool = False
    bladder_change: StrictBool = False
    bowel_change: StrictBool = False
    sexual_dysfunction: StrictBool = False
    both_legs_symptoms: StrictBool = False
    both_legs_weakness: StrictBool = False
    one_leg_weakness: StrictBool = False
    one_leg_numbness: StrictBool = False
    fever: StrictBool = False
    unexplained_weight_loss: StrictBool = False
    night_pain: StrictBool = False
    thoracic_pain: StrictBool = False
    pain_on_straining: StrictBool = False
    major_trauma: StrictBool = False
    minor_trauma: StrictBool = False
    chest_pain: StrictBool = False

    def reported(self) -> frozenset[Symptom]:
        return frozenset(s for s in Symptom if getattr(self, s.value))


class PainLogWrite(StrictInput):
    """Body of ``PUT /me/pain-logs/{log_date}``."""

    back_pain: Score0To10
    leg_pain: Score0To10 | None = None
    interference: Score0To10 | None = None
    sleep_quality: Score0To10 | None = None
    activity_minutes: Minutes | None = None
    steps: Steps | None = None
    flare: StrictBool = False
    medications: list[Medication] = Field(default_factory=list, max_length=len(MedicationClass))
    symptoms: SymptomChecklist = Field(default_factory=SymptomChecklist)
    note: Text | None = None
    client_updated_at: AppInstant = Field(
        description="When the app last edited this log (device clock); a write older than the stored one is stale"
    )


class PainLogSyncItem(PainLogWrite):
    """A pain log in ``POST /me/sync``: the PUT body plus its local date."""

    log_date: IsoDate


class MedicationPublic(Public):
    # Serialised as ``class`` wherever it is dumped (a 409 body too), never as ``class_``.
    model_config = ConfigDict(
        from_attributes=True, serialize_by_alias=True, json_schema_serialization_defaults_required=True
    )

    class_: MedicationClass = Field(alias="class")


class PainLogPublic(Public):
    log_date: date
    back_pain: int
    leg_pain: int | None
    interference: int | None
    sleep_quality: int | None
    activity_minutes: int | None
    steps: int | None
    flare: bool
    medications: list[MedicationPublic]
    symptoms: dict[str, bool]
    note: str | None
    client_updated_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, log: PainLog) -> PainLogPublic:
        reported = set(log.symptoms)
        return cls(
            log_date=log.log_date,
            back_pain=log.back_pain,
            leg_pain=log.leg_pain,
            interference=log.interference,
            sleep_quality=log.sleep_quality,
            activity_minutes=log.activity_minutes,
            steps=log.steps,
            flare=log.flare,
            medications=[MedicationPublic.model_validate({"class": m}) for m in log.medications],
            symptoms={s.value: s.value in reported for s in Symptom},
            note=log.note,
            client_updated_at=log.client_updated_at,
            created_at=log.created_at,
            updated_at=log.updated_at,
        )


class TriagePublic(Public):
    """The safety answer to a write: the highest tier it triggered, what to do, the alerts."""

    tier: Tier
    advice: str
    alert_ids: list[int]


WriteStatus = Literal["created", "updated", "unchanged", "stale", "rejected"]
