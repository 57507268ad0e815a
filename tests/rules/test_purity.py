"""The rules package stays a pure functional core: no framework, ORM, HTTP, database or
other ``api.*`` imports, no clock reads, no I/O outside the catalogue CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import api.rules

RULES_DIR = Path(api.rules.__file__).parent
MODULES = sorted(RULES_DIR.rglob("*.py"))

FORBIDDEN_ROOTS = {
    "fastapi",
    "starlette",
    "sqlmodel",
    "sqlalchemy",
    "httpx",
    "httpx2",
    "pydantic",
    "pydantic_settings",
    "alembic",
    "psycopg",
    "requests",
    "urllib",
    "socket",
    "subprocess",
    "os",
    "sqlite3",
    "time",  # the clock lives in the shell; datetime.time (a value type) is fine
    "random",
    "uuid",
}
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "localtime"),
    ("time", "gmtime"),
}
IO_BUILTINS = {"open", "input", "print", "exec", "eval"}
IO_ALLOWED: dict[str, set[str]] = {}


def _absolute(node: ast.ImportFrom, module_path: Path) -> str:
    if node.level == 0:
        return node.module or ""
    package = ["api", "rules", *module_path.relative_to(RULES_DIR).parent.parts]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def violations(source: str, module_path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [_absolute(node, module_path)]
        for name in names:
            root = name.split(".")[0]
            if root in FORBIDDEN_ROOTS:
                found.append(f"imports {name}")
            elif root == "api" and name != "api.rules" and not name.startswith("api.rules."):
                found.append(f"imports {name} (outside api.rules)")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                owner = func.value
                owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
                if (owner_name, func.attr) in CLOCK_CALLS:
                    found.append(f"reads the clock: {owner_name}.{func.attr}()")
            elif isinstance(func, ast.Name) and func.id in IO_BUILTINS - IO_ALLOWED.get(module_path.name, set()):
                found.append(f"calls {func.id}()")
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_rules_module_is_pure(module: Path) -> None:
    assert violations(module.read_text(encoding="utf-8"), module) == []


def test_every_module_is_checked() -> None:
    names = {p.name for p in MODULES}
    assert {"triage.py", "windows.py", "progression.py", "reminders_due.py", "screenings.py"} <= names


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("import fastapi", "imports fastapi"),
        ("from sqlalchemy.orm import Session", "imports sqlalchemy.orm"),
        ("from sqlmodel import select", "imports sqlmodel"),
        ("import httpx2", "imports httpx2"),
        ("from pydantic import BaseModel", "imports pydantic"),
        ("from starlette.requests import Request", "imports starlette.requests"),
        ("from api.db import get_session", "imports api.db (outside api.rules)"),
        ("from api import config", "imports api (outside api.rules)"),
        ("from .. import db", "imports api (outside api.rules)"),
        ("import time", "imports time"),
        ("from datetime import datetime\nx = datetime.now()", "reads the clock: datetime.now()"),
        ("import datetime\nx = datetime.datetime.utcnow()", "reads the clock: datetime.utcnow()"),
        ("import datetime\nx = datetime.date.today()", "reads the clock: date.today()"),
        ("x = time.time()", "reads the clock: time.time()"),
        ("x = open('f')", "calls open()"),
    ],
)
def test_the_checker_catches_violations(source: str, problem: str) -> None:
    assert problem in violations(source, RULES_DIR / "example.py")


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import date, time",
        "from api.rules.types import Tier",
        "from .types import Tier",
        "import zoneinfo",
    ],
)
def test_the_checker_allows_pure_imports(source: str) -> None:
    assert violations(source, RULES_DIR / "example.py") == []


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_public_function_has_a_docstring(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    missing = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and not ast.get_docstring(node)
    ]
    assert missing == []
