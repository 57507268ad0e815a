"""What the patient and the admins are shown about a care team."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Public


class CareTeamClinician(Public):
    id: int
    display_name: str


class CareTeamPublic(Public):
    """Whether a physiotherapist follows the patient in Backstep, in a sentence the app can show."""

    followed_by_clinician: bool = Field(description="false: no active clinician follows the patient yet")
    clinicians: list[CareTeamClinician]
    message: str = Field(description="plain words for the patient, true when read")
