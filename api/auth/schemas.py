from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field, StringConstraints

from api.auth.passwords import NewPassword
from api.care_team.schemas import CareTeamPublic
from api.i18n.fields import LocaleTag
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
    locale: LocaleTag | None = Field(
        default=None,
        description="BCP 47 (en-GB, de-DE, es-ES, fr-FR); by default from Accept-Language, then the clinic's default",
    )


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


# --- second factor (api/auth/mfa.py) ---------------------------------------------------

TotpCode = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^[0-9]{6}$"),
    Field(description="the 6 digits the authenticator app shows"),
]
RecoveryCodeInput = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=64),
    Field(description="one of the recovery codes (dashes and case ignored)"),
]
MfaTokenString = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024)]


class MfaChallenge(Public):
    """The password was right, but it does not log in alone: the second step needs ``mfa_token``."""

    mfa_required: Literal[True] = True
    mfa_token: str
    enrolment_required: bool  # staff without TOTP where it is required: enrol first
    expires_in: int


class MfaLoginRequest(StrictInput):
    """Exactly one of ``code`` and ``recovery_code``."""

    mfa_token: MfaTokenString
    code: TotpCode | None = None
    recovery_code: RecoveryCodeInput | None = None


class MfaTokenRequest(StrictInput):
    mfa_token: MfaTokenString


class MfaEnrolLoginRequest(StrictInput):
    mfa_token: MfaTokenString
    code: TotpCode


class TotpEnrolmentPublic(Public):
    secret: str  # base32, for typing into an app that cannot scan
    otpauth_uri: str
    qr_svg: str  # the otpauth URI as a QR code, an inline SVG element


class RecoveryCodesPublic(Public):
    recovery_codes: list[str]  # shown once; each works once


class EnrolledTokenPair(TokenPair):
    recovery_codes: list[str]


class TotpConfirmRequest(StrictInput):
    code: TotpCode


class TotpDisableRequest(StrictInput):
    """The password and exactly one of ``code`` and ``recovery_code``."""

    password: LoginPassword
    code: TotpCode | None = None
    recovery_code: RecoveryCodeInput | None = None


class MfaStatusPublic(Public):
    totp: Literal["off", "pending", "on"]
    required: bool  # this account may not log in without it (staff, where the clinic requires it)
    recovery_codes_left: int
