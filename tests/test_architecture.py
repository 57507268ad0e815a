"""The dependency direction of ARCHITECTURE.md, enforced.

The pure core (``api/rules``, ``exercise_library``) imports no web framework, ORM,
HTTP client or database module; a violation fails here rather than in review.
"""

from __future__ import annotations

import ast
import itertools
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


# --- the import graph of api/** (ARCHITECTURE.md: dependencies point one way) -------------
#
# Built statically with ``ast``: module-level and function-local imports both count, since a
# cycle hidden inside a function is still a cycle (it only fails later, at call time).

# The modules that assemble routers: only they may import from a router module (``api.main``
# includes every API router; the dashboard's aggregator mounts its sub-routers). Everything
# else, routers included, reaches a use case through its service, never through a router.
ROUTER_AGGREGATORS = {"api.main", "api.dashboard.router"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def api_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / "api").rglob("*.py"))}


def imports_of(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """Every ``(module, names)`` imported anywhere in the file, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
    return found


def imported_api_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The api modules a file depends on (``from api.x import y`` counts module ``api.x.y`` if it is one)."""
    targets: set[str] = set()
    for module, names in imports_of(name, path):
        if module.startswith("api"):
            targets.add(module)
            targets.update(f"{module}.{n}" for n in names if f"{module}.{n}" in known)
    return {t for t in targets if t in known}


def domain_of(module: str) -> str | None:
    """``api.<domain>.…`` for a domain folder under api/, else None (top-level modules are shared)."""
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and (ROOT / "api" / parts[1]).is_dir() else None


def domain_graph() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Domain → imported domain → the (importer, imported) module pairs behind that edge."""
    known = api_modules()
    graph: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for name, path in known.items():
        source = domain_of(name)
        for target in imported_api_modules(name, path, known):
            destination = domain_of(target)
            if source and destination and destination != source:
                graph.setdefault(source, {}).setdefault(destination, []).append((name, target))
    return graph


def find_cycle(graph: dict[str, dict[str, list[tuple[str, str]]]]) -> list[str] | None:
    """One cycle of domains (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_domain_graph_is_built_from_real_edges() -> None:
    graph = domain_graph()
    # Known one-way dependencies: a blind walker (no edges found) would pass vacuously.
    assert "alerts" in graph["plans"] and "auth" in graph["patients"] and "escalation" in graph["pain_logs"]


def test_the_cycle_finder_finds_a_cycle_through_several_domains() -> None:
    edge = [("x", "y")]
    assert find_cycle({"a": {"b": edge}, "b": {"c": edge}, "c": {"a": edge}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": edge}, "b": {"c": edge}}) is None


def test_no_import_cycle_between_domain_folders() -> None:
    graph = domain_graph()
    cycle = find_cycle(graph)
    if cycle is not None:
        edges = [
            f"{a} -> {b}: " + ", ".join(f"{m} imports {t}" for m, t in graph[a][b])
            for a, b in itertools.pairwise(cycle)
        ]
        pytest.fail("import cycle between domains:\n" + "\n".join(edges))


def router_modules() -> set[str]:
    """Modules that define a module-level ``router = APIRouter(...)``."""
    found = set()
    for name, path in api_modules().items():
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "router" for t in node.targets)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "APIRouter"
            ):
                found.add(name)
    return found


def test_router_modules_are_found() -> None:
    assert {"api.plans.clinician_router", "api.auth.router", "api.care_team.router"} <= router_modules()


def test_only_the_aggregators_import_from_router_modules() -> None:
    """Use cases live in services: no route handler or helper is reached through a router."""
    routers = router_modules()
    bad = []
    for name, path in api_modules().items():
        for module, names in imports_of(name, path):
            whole = [n for n in names if f"{module}.{n}" in routers]  # ``from api.x import router_module``
            if name in ROUTER_AGGREGATORS:
                continue
            if module in routers:
                bad.append(f"{name} imports {names} from {module}")
            elif whole:
                bad.append(f"{name} imports router module(s) {whole} from {module}")
    assert not bad, "\n".join(bad)


def test_every_cursor_paginated_list_uses_the_one_keyset_helper() -> None:
    """Cursors are decoded, typed and re-encoded in ``api/pagination.py`` only."""
    cursor_functions = {"decode_cursor", "encode_cursor", "cursor_value"}
    allowed = {"api.schemas", "api.pagination"}
    bad = [
        f"{name} imports {sorted(cursor_functions & set(names))}"
        for name, path in api_modules().items()
        if name not in allowed
        for module, names in imports_of(name, path)
        if module == "api.schemas" and cursor_functions & set(names)
    ]
    assert not bad, "\n".join(bad)
    users = [name for name, path in api_modules().items() if ("api.pagination", ["Keyset"]) in imports_of(name, path)]
    assert len(users) >= 10, users
