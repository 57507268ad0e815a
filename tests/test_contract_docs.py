"""docs/ is the project's own contract: it must say what the running code does.

- docs/http-contract.md describes every operation of the OpenAPI document (and no other),
  under its operation id, and each of its request and response examples validates against
  the schema the document gives for it;
- docs/clinical-rules.md carries the rule catalogue generated from ``api.rules.catalogue``;
- the README sends readers there, not outside the repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from api.docs import DOCS, read_block
from api.main import create_app
from api.rules.catalogue import render_markdown
from tests.conftest import test_settings

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "http-contract.md"
HEADING = re.compile(r"^### `([A-Z]+) (\S+)` · `(\w+)`$", re.MULTILINE)
EXAMPLE = re.compile(r"\*\*(Request|Response (\d{3}))\*\*(?: \(([^)]*)\))?\n\n```(\w+)\n(.*?)\n```", re.DOTALL)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(test_settings(f"sqlite:///{tmp_path_factory.mktemp('doc') / 'unused.db'}"))
    served: dict[str, Any] = app.openapi()
    app.state.engine.dispose()
    return served


def sections() -> dict[tuple[str, str], tuple[str, str]]:
    """(method, path) -> (operation id, the text under its heading)."""
    text = CONTRACT.read_text()
    found: dict[tuple[str, str], tuple[str, str]] = {}
    matches = list(HEADING.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        body = text[match.end() : end].split("\n## ", 1)[0]
        key = (match.group(1), match.group(2))
        assert key not in found, f"{key} is described twice"
        found[key] = (match.group(3), body)
    return found


def test_every_operation_is_described_under_its_operation_id(document: dict[str, Any]) -> None:
    served = {
        (method.upper(), path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    described = {key: operation_id for key, (operation_id, _body) in sections().items()}
    assert sorted(set(served) - set(described)) == [], "operations missing from docs/http-contract.md"
    assert sorted(set(described) - set(served)) == [], "docs/http-contract.md describes operations that do not exist"
    assert described == served


def _validator(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_every_example_matches_its_schema(document: dict[str, Any]) -> None:
    """Responses against their status's schema; requests against the body schema when they
    were accepted (a request shown with its 4xx is wrong on purpose)."""
    checked = 0
    for (method, path), (_operation_id, body) in sections().items():
        operation = document["paths"][path][method.lower()]
        request: Any = None
        for kind, status, media_type, language, text in EXAMPLE.findall(body):
            example = json.loads(text) if language == "json" else text
            if kind == "Request":
                request = example
                continue
            assert status in operation["responses"], f"{method} {path}: {status} is not documented"
            # A sync answers 200 even when an item is rejected on its own: that item is wrong on purpose.
            rejected_item = isinstance(example, dict) and any(
                r.get("status") == "rejected" for r in example.get("results", [])
            )
            if request is not None and int(status) < 400 and not rejected_item:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                errors = [e.message for e in _validator(schema, document).iter_errors(request)]
                assert errors == [], f"{method} {path} request: {errors}"
                checked += 1
            request = None
            if language != "json":
                continue
            content = operation["responses"][status].get("content", {})
            schema = content.get(media_type, {}).get("schema")
            assert schema is not None, f"{method} {path}: no {media_type} schema for {status}"
            errors = [e.message for e in _validator(schema, document).iter_errors(example)]
            assert errors == [], f"{method} {path} {status}: {errors}"
            checked += 1
    assert checked > 60


def test_the_stale_write_example_spells_class() -> None:
    _operation_id, body = sections()[("PUT", "/api/v1/me/pain-logs/{log_date}")]
    assert '"class": "nsaid"' in body
    assert "class_" not in CONTRACT.read_text()


def test_the_rule_catalogue_in_docs_is_the_generated_one() -> None:
    assert read_block(DOCS["clinical-rules"].read_text(), "rule-catalogue") == render_markdown().strip()


def test_the_readme_points_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for page in ("docs/http-contract.md", "docs/clinical-rules.md", "docs/operations.md"):
        assert f"]({page})" in readme
        assert (ROOT / page).is_file()
    for link in re.findall(r"\]\(([^)#]+\.md)[^)]*\)", "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))):
        if not link.startswith("http"):
            assert (ROOT / "docs" / link).resolve().is_file(), link
