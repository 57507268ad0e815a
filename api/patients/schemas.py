from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from api.care_team.schemas import CareTeamPublic
from api.i18n.fields import LocaleTag
from api.rules.types import Classification
from api.schemas import IsoDate, Name, Public, StrictBool, StrictInput, TimeZoneName

BirthYear = Annotated[int, Field(strict=True, ge=1900, le=2100)]
Password = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]


class PatientProfilePublic(Public):
    id: int
    timezone: str
    locale: str = Field(description="BCP 47: the language of every text the patient is shown")
    birth_year: int | None
    episode_started_on: date | None
    cancer_history: bool
    osteoporosis_or_steroids: bool
    risk_group: str | None
    clinic_id: int | None


class PatientMePublic(PatientProfilePublic):
    """The profile as ``/me`` shows it to the patient, with who follows them."""

    care_team: CareTeamPublic

    @staticmethod
    def profile_of(patient: Any) -> dict[str, Any]:
        return PatientProfilePublic.model_validate(patient).model_dump()


class MePublic(Public):
    id: int
    email: str
    display_name: str
    role: str
    patient: PatientMePublic | None


# A field left out of a PATCH body. Typed Any so the fields below keep their non-null
# types (null is refused for them, and the OpenAPI document says so); handlers look at
# ``model_fields_set`` and never read a field that was not given.
NOT_GIVEN: Any = None


class PatientUpdate(StrictInput):
    """The patient profile fields a patient may change; only the fields given change.

    ``birth_year`` and ``episode_started_on`` may be set to null to clear them; the
    other fields always have a value, so null is refused for them.
    """

    timezone: TimeZoneName = Field(default=NOT_GIVEN, description="IANA zone, e.g. Europe/London")
    locale: LocaleTag = Field(default=NOT_GIVEN, description="BCP 47, one of en-GB, de-DE, es-ES, fr-FR")
    birth_year: BirthYear | None = Field(default=None, description="not in the future; null clears it")
    episode_started_on: IsoDate | None = Field(
        default=None, description="start of this back-pain episode: not in the future; null clears it"
    )
    cancer_history: StrictBool = NOT_GIVEN
    osteoporosis_or_steroids: StrictBool = Field(
        default=NOT_GIVEN, description="osteoporosis, or long-term oral steroid use"
    )


class MeUpdate(PatientUpdate):
    """Partial profile update, in the shape ``GET /me`` answers: ``{"patient": {...}, "display_name"}``.

    The patient fields may also be given at the top level (the original flat form); a
    field given both ways is refused.
    """

    display_name: Name = NOT_GIVEN
    patient: PatientUpdate = Field(
        default=NOT_GIVEN, description="patient profile fields, as in the `patient` object of `GET /me`"
    )

    def patient_changes(self) -> dict[str, tuple[Any, list[str | int]]]:
        """Each patient field given, flat or nested, with its value and its place in the request."""
        changes: dict[str, tuple[Any, list[str | int]]] = {
            name: (getattr(self, name), ["body", name]) for name in self.model_fields_set & PATIENT_FIELDS
        }
        if "patient" in self.model_fields_set:
            for name in self.patient.model_fields_set:
                changes[name] = (getattr(self.patient, name), ["body", "patient", name])
        return changes

    def given_twice(self) -> list[str]:
        """Patient fields given both flat and nested (refused: which one would win is a guess)."""
        if "patient" not in self.model_fields_set:
            return []
        return sorted(self.model_fields_set & self.patient.model_fields_set)


PATIENT_FIELDS = frozenset(
    {"timezone", "locale", "birth_year", "episode_started_on", "cancer_history", "osteoporosis_or_steroids"}
)


class EraseRequest(StrictInput):
    password: Password = Field(description="the account password, to confirm the erasure")


class SeriesPoint(Public):
    date: date
    back_pain: int
    leg_pain: int | None


class ProgressPublic(Public):
    """Pain against the programme's first week, and exercise adherence (unrounded values)."""

    programme_started_on: date | None
    programme_day: int | None
    baseline_mean: float | None = Field(description="mean back pain of programme days 1-7 (>= 4 logged days)")
    current_mean: float | None = Field(description="mean back pain of the 7 days ending today (>= 4 logged days)")
    change: float | None = Field(description="baseline_mean - current_mean: positive is better")
    change_percent: float | None
    classification: Classification
    adherence_7d: float | None = Field(
        description="sessions done / planned, capped at 1; null without a plan or when nothing was planned"
    )
    adherence_28d: float | None
    days_logged_7d: int
    series: list[SeriesPoint]
    ruleset_version: str


class ExportAccount(Public):
    id: int
    email: str
    display_name: str
    role: str
    created_at: datetime


class ExportProfile(PatientProfilePublic):
    programme_started_on: date | None
    last_log_on: date | None
    last_activity_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ExportReminders(Public):
    daily_log_enabled: bool
    daily_log_time: str
    exercise_enabled: bool
    exercise_time: str
    weekly_checkin_enabled: bool
    weekly_checkin_weekday: int = Field(description="Monday = 0 ... Sunday = 6")
    weekly_checkin_time: str
    quiet_start: str
    quiet_end: str
    updated_at: datetime


class ExportDevice(Public):
    """A push device, without its token (a credential, not personal data worth exporting)."""

    id: int
    platform: str
    created_at: datetime
    retired_at: datetime | None
    retired_reason: str | None
