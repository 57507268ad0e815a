from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from api.audit import record_audit
from api.auth import mfa, service
from api.auth.mfa import Purpose
from api.auth.schemas import (
    EnrolledTokenPair,
    LoginRequest,
    MfaChallenge,
    MfaEnrolLoginRequest,
    MfaLoginRequest,
    MfaTokenRequest,
    RefreshRequest,
    RegisteredPublic,
    RegisterRequest,
    TokenPair,
    TotpEnrolmentPublic,
)
from api.care_team.service import care_team_status
from api.deps import ClientIpDep, NowDep, SessionDep, SettingsDep, WallNowDep
from api.errors import Problem, problem_response
from api.models import User

router = APIRouter(prefix="/auth", tags=["auth"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredPublic,
    responses={409: _PROBLEM, 422: _PROBLEM},
)
def register(
    body: RegisterRequest,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    accept_language: Annotated[str | None, Header(max_length=512)] = None,
) -> RegisteredPublic:
    """A patient account; ``care_team`` says whether a physiotherapist follows them (only with an invite).

    Its ``locale``: the one given, else the best fit of ``Accept-Language`` among the shipped
    locales, else the clinic's default (invited patients), else en-GB.
    """
    user, patient = service.register(session, body, now, settings, accept_language)
    assert user.id is not None
    return RegisteredPublic(id=user.id, email=user.email, role=user.role, care_team=care_team_status(session, patient))


@router.post("/login", response_model=TokenPair | MfaChallenge, responses={401: _PROBLEM, 429: _PROBLEM})
def login(
    body: LoginRequest,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
) -> Response:
    """Exchange e-mail and password for tokens, or, for an account with a second factor (or
    staff required to have one), for an ``mfa_token`` that ``loginMfa`` (or the enrolment
    steps) complete. Wrong passwords are throttled per account and client, and per client."""
    outcome = service.authenticate(
        session, body.email, body.password, client_ip, settings, now=now, wall_now=wall_now, via="session"
    )
    # Refusals are returned, not raised: the failure counters and audit must be committed.
    if outcome.retry_after is not None:
        headers = {"Retry-After": str(outcome.retry_after)}
        return problem_response(
            Problem(429, "login_throttled", "too many failed logins; try again later", headers=headers)
        )
    user = outcome.user
    if user is None:
        return problem_response(Problem(401, "invalid_credentials", "e-mail or password is wrong"))
    if outcome.second_step is not None:
        # The password alone opens nothing: a short-lived token for the second step.
        token, token_lifetime = mfa.create_mfa_token(user, outcome.second_step, wall_now, settings)
        detail = {"next": outcome.second_step.value}
        record_audit(session, at=now, action="login_password_verified", resource="session", actor=user, detail=detail)
        challenge = MfaChallenge(
            mfa_token=token, enrolment_required=outcome.second_step is Purpose.ENROL, expires_in=token_lifetime
        )
        return JSONResponse(challenge.model_dump())
    access, refresh, lifetime = service.issue_tokens(session, user, wall_now, settings)
    record_audit(session, at=now, action="login", resource="session", actor=user)
    return JSONResponse(TokenPair(access_token=access, refresh_token=refresh, expires_in=lifetime).model_dump())


def factor_refused(outcome: mfa.FactorOutcome) -> Response:
    if outcome.retry_after is not None:
        headers = {"Retry-After": str(outcome.retry_after)}
        return problem_response(
            Problem(429, "login_throttled", "too many failed attempts; try again later", headers=headers)
        )
    return problem_response(Problem(401, "invalid_mfa_code", "the code is wrong, already used or expired"))


def _mfa_token_refused() -> Problem:
    return Problem(401, "invalid_mfa_token", "the login step expired or is not valid; log in again")


@router.post("/login/mfa", response_model=TokenPair, responses={401: _PROBLEM, 429: _PROBLEM})
def login_mfa(
    body: MfaLoginRequest,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
) -> Response:
    """The second step of a login with TOTP: the ``mfa_token`` from ``login`` and a code (or a
    recovery code, each usable once). Wrong codes count like wrong passwords."""
    mfa.one_factor(body.code, body.recovery_code)
    user = mfa.mfa_token_user(session, body.mfa_token, Purpose.VERIFY, wall_now, settings)
    if user is None:
        raise _mfa_token_refused()
    outcome = mfa.check_second_factor(
        session,
        user,
        code=body.code,
        recovery_code=body.recovery_code,
        client_ip=client_ip,
        settings=settings,
        now=now,
        wall_now=wall_now,
        via="session",
    )
    if outcome.method is None:
        return factor_refused(outcome)
    access, refresh, lifetime = service.issue_tokens(session, user, wall_now, settings)
    record_audit(session, at=now, action="login", resource="session", actor=user, detail={"mfa": outcome.method})
    return JSONResponse(TokenPair(access_token=access, refresh_token=refresh, expires_in=lifetime).model_dump())


@router.post("/login/mfa/enrol", response_model=TotpEnrolmentPublic, responses={401: _PROBLEM})
def enrol_login_mfa(
    body: MfaTokenRequest, session: SessionDep, settings: SettingsDep, now: NowDep, wall_now: WallNowDep
) -> TotpEnrolmentPublic:
    """Staff who must use a second factor and have none enrol during the login: a new TOTP
    secret (pending until ``confirmLoginMfa``), as text, ``otpauth://`` URI and QR code."""
    user = mfa.mfa_token_user(session, body.mfa_token, Purpose.ENROL, wall_now, settings)
    if user is None:
        raise _mfa_token_refused()
    enrolment = mfa.start_enrolment(session, user, settings, now)
    record_audit(session, at=now, action="mfa_enrol", resource="totp", actor=user)
    return TotpEnrolmentPublic(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post("/login/mfa/confirm", response_model=EnrolledTokenPair, responses={401: _PROBLEM, 429: _PROBLEM})
def confirm_login_mfa(
    body: MfaEnrolLoginRequest,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
) -> Response:
    """Finish a login-time enrolment with the app's first code: TOTP is on, the recovery codes
    are shown (this once), and the login completes."""
    user = mfa.mfa_token_user(session, body.mfa_token, Purpose.ENROL, wall_now, settings)
    if user is None:
        raise _mfa_token_refused()
    outcome = mfa.check_second_factor(
        session,
        user,
        code=body.code,
        recovery_code=None,
        client_ip=client_ip,
        settings=settings,
        now=now,
        wall_now=wall_now,
        via="session",
        pending=True,
    )
    if outcome.method is None:
        return factor_refused(outcome)
    codes = mfa.confirm_enrolment(session, user, now)
    record_audit(session, at=now, action="mfa_confirm", resource="totp", actor=user)
    access, refresh, lifetime = service.issue_tokens(session, user, wall_now, settings)
    record_audit(session, at=now, action="login", resource="session", actor=user, detail={"mfa": "totp"})
    pair = EnrolledTokenPair(access_token=access, refresh_token=refresh, expires_in=lifetime, recovery_codes=codes)
    return JSONResponse(pair.model_dump())


@router.post("/refresh", response_model=TokenPair, responses={401: _PROBLEM})
def refresh(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep, now: NowDep, wall_now: WallNowDep
) -> Response:
    try:
        user, access, new_refresh, lifetime = service.rotate_refresh_token(
            session, body.refresh_token, wall_now, settings
        )
    except service.RefreshRefused as refused:
        if refused.code == "refresh_token_reused":  # a stolen token, or a client bug: worth an admin's look
            detail = {"account_id": refused.account_id}
            record_audit(session, at=now, action="refresh_reused", resource="session", actor=None, detail=detail)
        # Returned, not raised: a family revocation on reuse must be committed.
        return problem_response(Problem(401, refused.code, refused.detail))
    record_audit(session, at=now, action="refresh", resource="session", actor=user)
    return JSONResponse(TokenPair(access_token=access, refresh_token=new_refresh, expires_in=lifetime).model_dump())


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest, session: SessionDep, now: NowDep, wall_now: WallNowDep) -> Response:
    account_id = service.logout(session, body.refresh_token, wall_now)
    if account_id is not None:
        actor = session.get(User, account_id)
        record_audit(session, at=now, action="logout", resource="session", actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
