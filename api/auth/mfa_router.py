"""The caller's own second factor: status, enrolment with a QR code, confirmation, turning off;
and an admin's reset of someone's second factor.

Any logged-in account may enrol (patients opt in; staff may be required to:
``BACKSTEP_MFA_REQUIRED_FOR_STAFF``, in which case the login itself enrols them, see
``enrolLoginMfa``). Code checks are throttled like passwords (``api/auth/mfa.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from api.audit import record_audit
from api.auth import mfa, throttle
from api.auth.schemas import (
    MfaStatusPublic,
    RecoveryCodesPublic,
    TotpConfirmRequest,
    TotpDisableRequest,
    TotpEnrolmentPublic,
)
from api.deps import ClientIpDep, CurrentAdmin, CurrentUser, NowDep, RowIdPath, SessionDep, SettingsDep, WallNowDep
from api.errors import Problem, not_found, problem_response
from api.models import User
from api.security import verify_password

router = APIRouter(tags=["mfa"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def _throttled(retry_after: int) -> Response:
    headers = {"Retry-After": str(retry_after)}
    return problem_response(
        Problem(429, "too_many_attempts", "too many failed attempts; try again later", headers=headers)
    )


@router.get("/me/mfa", response_model=MfaStatusPublic)
def get_mfa(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> MfaStatusPublic:
    """Whether the caller's account has TOTP on, and whether it must."""
    assert user.id is not None
    row = mfa.totp_row(session, user.id)
    state = "off" if row is None else ("on" if row.confirmed_at is not None else "pending")
    return MfaStatusPublic(
        totp=state,
        required=mfa.required_for(user, settings),
        recovery_codes_left=mfa.recovery_codes_left(session, user.id) if state == "on" else 0,
    )


@router.post(
    "/me/mfa/totp", status_code=status.HTTP_201_CREATED, response_model=TotpEnrolmentPublic, responses={409: _PROBLEM}
)
def start_totp(user: CurrentUser, session: SessionDep, settings: SettingsDep, now: NowDep) -> TotpEnrolmentPublic:
    """Start an enrolment: a new secret (as text, ``otpauth://`` URI and QR code SVG), pending
    until ``confirmTotp``. Starting again replaces a pending secret; an active one is a 409."""
    try:
        enrolment = mfa.start_enrolment(session, user, settings, now)
    except mfa.MfaConflict as conflict:
        raise Problem(409, conflict.code, conflict.detail) from None
    record_audit(session, at=now, action="mfa_enrol", resource="totp", actor=user)
    return TotpEnrolmentPublic(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post(
    "/me/mfa/totp/confirm", response_model=RecoveryCodesPublic, responses={403: _PROBLEM, 409: _PROBLEM, 429: _PROBLEM}
)
def confirm_totp(
    body: TotpConfirmRequest,
    user: CurrentUser,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
) -> Response:
    """Turn TOTP on with the app's first code; the ten recovery codes are in the answer, and
    only there. From the next login on, a code is asked after the password."""
    assert user.id is not None
    row = mfa.totp_row(session, user.id)
    if row is None or row.confirmed_at is not None:
        raise Problem(409, "mfa_not_pending", "no enrolment is waiting for a code; start one first")
    outcome = mfa.check_second_factor(
        session,
        user,
        code=body.code,
        recovery_code=None,
        client_ip=client_ip,
        settings=settings,
        now=now,
        wall_now=wall_now,
        via="totp",
        pending=True,
    )
    if outcome.retry_after is not None:
        return _throttled(outcome.retry_after)
    if outcome.method is None:
        return problem_response(Problem(403, "invalid_mfa_code", "the code is wrong, already used or expired"))
    codes = mfa.confirm_enrolment(session, user, now)
    record_audit(session, at=now, action="mfa_confirm", resource="totp", actor=user)
    return JSONResponse(RecoveryCodesPublic(recovery_codes=codes).model_dump())


@router.delete(
    "/me/mfa/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={204: {"description": "TOTP is off"}, 403: _PROBLEM, 409: _PROBLEM, 422: _PROBLEM, 429: _PROBLEM},
)
def disable_totp(
    body: TotpDisableRequest,
    user: CurrentUser,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
) -> Response:
    """Turn TOTP off (its secret and recovery codes are deleted), with the password and a code
    or recovery code: a stolen access token alone cannot remove the second factor. Staff who
    must use MFA are asked to enrol again at their next login."""
    mfa.one_factor(body.code, body.recovery_code)
    assert user.id is not None
    if not mfa.has_totp(session, user):
        raise Problem(409, "mfa_not_enrolled", "TOTP is not on for this account")
    # The password first, on the same budget as the code that follows.
    attempt = throttle.begin(session, user.email, client_ip, settings, wall_now)
    if attempt.retry_after is not None:
        return _throttled(attempt.retry_after)
    if not verify_password(body.password, user.password_hash, settings):
        throttle.failed(session, attempt, settings, wall_now)
        detail = {"account_id": user.id, "method": "password", "reason": "wrong"}
        record_audit(session, at=now, action="mfa_failed", resource="totp", actor=None, detail=detail)
        return problem_response(Problem(403, "wrong_password", "the password is wrong; TOTP stays on"))
    outcome = mfa.check_second_factor(
        session,
        user,
        code=body.code,
        recovery_code=body.recovery_code,
        client_ip=client_ip,
        settings=settings,
        now=now,
        wall_now=wall_now,
        via="totp",
    )
    if outcome.retry_after is not None:
        return _throttled(outcome.retry_after)
    if outcome.method is None:
        return problem_response(Problem(403, "invalid_mfa_code", "the code is wrong, already used or expired"))
    mfa.remove_totp(session, user.id)
    record_audit(session, at=now, action="mfa_disable", resource="totp", actor=user, detail={"with": outcome.method})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/admin/users/{user_id}/mfa",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={204: {"description": "the account's TOTP and recovery codes are deleted"}, 404: _PROBLEM, 409: _PROBLEM},
)
def reset_mfa(user_id: RowIdPath, admin: CurrentAdmin, session: SessionDep, now: NowDep) -> Response:
    """An admin removes an account's second factor (a lost phone and lost recovery codes),
    after checking who is asking by other means. The account logs in with its password
    next time, and staff who must use MFA enrol again at once."""
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user")
    if mfa.totp_row(session, user_id) is None:
        raise Problem(409, "mfa_not_enrolled", "this account has no second factor")
    mfa.remove_totp(session, user_id)
    record_audit(session, at=now, action="mfa_reset", resource="totp", actor=admin, detail={"user_id": user_id})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
