"""The dependency direction of ARCHITECTURE.md, enforced.

The pure core (``api/rules``, ``exercise_library``) imports no web framework, ORM,
HTTP client or database module; a violation fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_PACKAGES = ["api/rules", "exercise_library"]
FORBIDDEN = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "httpx", "httpx2", "api.db", "alembic", "apscheduler")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def pure_modules() -> list[Path]:
    return sorted(p for package in PURE_PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_there_are_pure_modules_to_check() -> None:
    assert len(pure_modules()) >= 5


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_import_no_framework_orm_or_database(path: Path) -> None:
    bad = {m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((ROOT / "exercise_library").rglob("*.py")), ids=lambda p: p.name)
def test_the_exercise_library_depends_on_nothing_in_api(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m == "api" or m.startswith("api.")}
