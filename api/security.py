"""Password hashing (argon2id via pwdlib), access JWTs (PyJWT), refresh token secrets."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.config import Settings

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "backstep"
JWT_AUDIENCE = "backstep-api"
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "role", "ver", "iss", "aud"]


@cache
def password_hasher(time_cost: int, memory_cost: int) -> PasswordHash:
    return PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost),))


def _hasher(settings: Settings) -> PasswordHash:
    return password_hasher(settings.argon2_time_cost, settings.argon2_memory_cost)


def hash_password(password: str, settings: Settings) -> str:
    return _hasher(settings).hash(password)


def verify_password(password: str, password_hash: str | None, settings: Settings) -> bool:
    """Constant-work check: an unknown account still pays for one hash."""
    hasher = _hasher(settings)
    if password_hash is None:
        hasher.hash(password)
        return False
    try:
        return hasher.verify(password, password_hash)
    except ValueError:  # malformed stored hash
        return False


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    role: str
    token_version: int


def create_access_token(
    user_id: int, role: str, now: datetime, settings: Settings, *, token_version: int
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds.

    ``now`` is the wall clock (``Clock.wall_now``): moving the test clock must not log
    anyone out. ``token_version`` is the account's ``app_user.token_version``; a logout
    or a revoked refresh family moves it on, so the token dies at the next request.
    """
    lifetime = timedelta(minutes=settings.access_token_minutes)
    payload = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 5,
        "exp": int((now + lifetime).timestamp()),
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(payload, settings.jwt_secret, algorithm=JWT_ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str, now: datetime, settings: Settings) -> AccessClaims | None:
    """The token's claims, or None if it is invalid or expired at ``now`` (the wall clock)."""
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    # Time claims are checked here against the ``now`` given, so the clock is the caller's
    # explicit choice (the wall clock; tests move it), not PyJWT's hidden time.time().
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if not isinstance(exp, int) or not isinstance(nbf, int):
        return None
    ts = now.timestamp()
    if ts >= exp or ts < nbf:
        return None
    sub, role, version = payload.get("sub"), payload.get("role"), payload.get("ver")
    if not isinstance(sub, str) or not sub.isdigit() or not isinstance(role, str):
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return AccessClaims(user_id=int(sub), role=role, token_version=version)


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_token(secret: str) -> str:
    """Refresh tokens are stored as SHA-256: high-entropy secrets need no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()
