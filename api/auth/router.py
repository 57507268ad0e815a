from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from api.audit import record_audit
from api.auth import service
from api.auth.schemas import LoginRequest, RefreshRequest, RegisteredPublic, RegisterRequest, TokenPair
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
def register(body: RegisterRequest, session: SessionDep, settings: SettingsDep, now: NowDep) -> RegisteredPublic:
    """A patient account; ``care_team`` says whether a physiotherapist follows them (only with an invite)."""
    user, patient = service.register(session, body, now, settings)
    assert user.id is not None
    return RegisteredPublic(id=user.id, email=user.email, role=user.role, care_team=care_team_status(session, patient))


@router.post("/login", response_model=TokenPair, responses={401: _PROBLEM, 429: _PROBLEM})
def login(
    body: LoginRequest,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
) -> Response:
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
    access, refresh, lifetime = service.issue_tokens(session, user, wall_now, settings)
    record_audit(session, at=now, action="login", resource="session", actor=user)
    return JSONResponse(TokenPair(access_token=access, refresh_token=refresh, expires_in=lifetime).model_dump())


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
