"""What a new password must be (NIST SP 800-63B, section 3.1.1.2).

At least 10 characters, and not a value attackers try first: one of the 10,000 most
common passwords (``common_passwords.txt``, shipped as package data, compared
case-insensitively), such a password with digits or symbols around it
(``password12``, ``!monkey2024``), a few characters repeated (``aaaaaaaaaa``,
``abcabcabca``) or a run of consecutive characters (``0123456789``). No composition
rules (NIST advises against them). Applied wherever a password is set: registration,
admin and command-line account creation (all through ``auth.service.create_user``).
Login and erasure confirmation only compare with the stored hash, so an account made
before a rule changed can still sign in.
"""

from __future__ import annotations

import itertools
import string
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

MIN_LENGTH = 10
MAX_LENGTH = 128
_AROUND = string.digits + string.punctuation + string.whitespace
_MIN_CORE = 4  # "abc" + digits is not "a common password with digits added"


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("api.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must have at most {MAX_LENGTH} characters"
    folded = password.casefold()
    common = common_passwords()
    if folded in common:
        return "is one of the most commonly used passwords; choose another"
    core = folded.strip(_AROUND)
    if core != folded and len(core) >= _MIN_CORE and core in common:
        return "is a commonly used password with digits or symbols added; choose another"
    if _repeats(folded):
        return "repeats a few characters; choose another"
    if _consecutive(folded):
        return "is a run of consecutive characters; choose another"
    return None


def _repeats(text: str) -> bool:
    """Made of one unit of up to 4 characters, repeated (``aaaa…``, ``abab…``, ``1231…``)."""
    return any(text == (text[:size] * (len(text) // size + 1))[: len(text)] for size in range(1, 5))


def _consecutive(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1})


def _check(password: str) -> str:
    problem = password_problem(password)
    if problem is not None:
        raise PydanticCustomError("password_policy", problem)
    return password


# A password being set (registration, account creation). minLength/maxLength stay in the
# schema so the OpenAPI document tells clients.
NewPassword = Annotated[
    str, StringConstraints(strict=True, min_length=MIN_LENGTH, max_length=MAX_LENGTH), AfterValidator(_check)
]
