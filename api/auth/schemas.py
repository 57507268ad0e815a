from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, StringConstraints

from api.auth.passwords import NewPassword
from api.care_team.schemas import CareTeamPublic
from api.schemas import Name, Public, StrictInput

# Setting a password: the policy of api.auth.passwords (length, common passwords).
Password = NewPassword
# Login accepts any length so an old or mistyped password is a 401, not a 422.
LoginPassword = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]
TokenString = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=512)]
InviteCode = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=4, max_length=32)]


class RegisterRequest(StrictInput):
    email: EmailStr
    password: Password
    display_name: Name
    invite_code: InviteCode | None = None


class LoginRequest(StrictInput):
    email: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=320)]
    password: LoginPassword


class RefreshRequest(StrictInput):
    refresh_token: TokenString


class UserPublic(Public):
    id: int
    email: str
    role: str


class RegisteredPublic(UserPublic):
    """``POST /auth/register``: the account, and whether a physiotherapist follows the patient."""

    care_team: CareTeamPublic


class TokenPair(Public):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
