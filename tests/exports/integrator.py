"""What an EHR integrator checks on a Bundle, written without the exporter's own checks.

Structure is checked twice, independently: against the official HL7 FHIR JSON Schema
(``tests/data/fhir/fhir.schema.json.gz``, R4, vendored with its origin in
``tests/data/fhir/NOTICE.md``) by ``jsonschema_rs``, and by a strict ``fhir.resources`` R4B
round trip (every element must be known to the R4B model and survive being read back
unchanged), plus the structural rules below; the R4 core invariants are evaluated by
``fhirpathpy`` (an independent FHIRPath engine) on every resource.
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import fhirpathpy
import jsonschema_rs
from fhir.resources.R4B.bundle import Bundle
from fhirpathpy.models import models
from pydantic import ValidationError

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "fhir" / "fhir.schema.json.gz"

# R4 model: choice types (``value[x]``) resolve; R4B changed none of the elements used here.
_R4 = models["r4"]

# R4 core invariants, as the specification writes them (ids kept so a failure names one).
# ``descendants()``-based forms are given in their flat equivalent: no element here nests items.
DOMAIN_RESOURCE_INVARIANTS: dict[str, str] = {
    "dom-2": "contained.contained.empty()",
    "dom-4": "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
    "dom-5": "contained.meta.security.empty()",
    "dom-6": "text.`div`.exists()",
    "ext-1": "extension.all(extension.exists() != value.exists())",
    "per-1": "period.all(start.empty() or end.empty() or (start <= end))",
    "qty-3": "(valueQuantity | component.valueQuantity).all(code.empty() or system.exists())",
}
TYPE_INVARIANTS: dict[str, dict[str, str]] = {
    "Bundle": {
        "bdl-1": "total.empty() or (type = 'searchset') or (type = 'history')",
        "bdl-2": "entry.search.empty() or (type = 'searchset')",
        "bdl-3": "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' "
        "or %resource.type = 'history'))",
        "bdl-4": "entry.all(response.exists() = (%resource.type = 'batch-response' "
        "or %resource.type = 'transaction-response' or %resource.type = 'history'))",
        "bdl-5": "entry.all(resource.exists() or request.exists() or response.exists())",
        "bdl-7": "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId)"
        ".isDistinct()",
        "bdl-8": "entry.all(fullUrl.contains('/_history/').not())",
        "bdl-9": "type = 'document' implies (identifier.system.exists() and identifier.value.exists())",
    },
    "Observation": {
        "obs-6": "dataAbsentReason.empty() or value.empty()",
        "obs-7": "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
    },
    "Questionnaire": {
        "que-0": "name.exists() implies name.matches('[A-Z]([A-Za-z0-9_]){0,254}')",
        "que-2": "item.linkId.isDistinct()",
        "que-4": "item.all(answerOption.empty() or answerValueSet.empty())",
        "que-5": "item.all((type ='choice' or type = 'open-choice' or type = 'decimal' or type = 'integer' "
        "or type = 'date' or type = 'dateTime' or type = 'time' or type = 'string' or type = 'quantity') "
        "or (answerValueSet.empty() and answerOption.empty()))",
        "que-6": "item.all(type!='display' or (required.empty() and repeats.empty()))",
        "que-9": "item.all(type!='display' or readOnly.empty())",
    },
    "QuestionnaireResponse": {
        "qrs-1": "item.all((answer.exists() and item.exists()).not())",
        "qrs-linkId": "item.linkId.isDistinct()",
    },
    "CodeSystem": {
        "csd-0": "name.exists() implies name.matches('[A-Z]([A-Za-z0-9_]){0,254}')",
        "csd-1": "concept.code.isDistinct()",
        "csd-count": "count.empty() or count = concept.count()",
    },
    "CarePlan": {"cpl-3": "activity.all(detail.empty() or reference.empty())"},
    "Flag": {"flag-period": "status = 'inactive' or period.end.empty()"},
}
XHTML = "{http://www.w3.org/1999/xhtml}"
_NARRATIVE_TAGS = {f"{XHTML}div", f"{XHTML}p"}


@cache
def fhir_schema() -> dict[str, Any]:
    """HL7's ``fhir.schema.json`` (R4, ``http://hl7.org/fhir/json-schema/4.0``, JSON Schema draft-06)."""
    schema: dict[str, Any] = json.loads(gzip.decompress(SCHEMA_FILE.read_bytes()))
    return schema


@cache
def _schema_validator(definition: str | None = None) -> jsonschema_rs.Draft6Validator:
    """The whole schema (any resource), or one of its definitions (for messages that name the fault)."""
    schema = fhir_schema()
    if definition is None:
        return jsonschema_rs.Draft6Validator(schema)
    part = {"$schema": schema["$schema"], "definitions": schema["definitions"], "$ref": f"#/definitions/{definition}"}
    return jsonschema_rs.Draft6Validator(part)


def schema_failures(data: dict[str, Any]) -> list[str]:
    """Every error the HL7 FHIR JSON Schema reports on the Bundle (empty when it validates).

    The Bundle as a whole is validated against the whole schema, as a receiver would; each
    resource is also validated against its own definition, because the schema's ``oneOf`` over
    every resource type reports a bad resource without saying what is wrong with it.
    """
    failures = []
    definitions = fhir_schema()["definitions"]
    for n, entry in enumerate(data.get("entry", [])):
        resource = entry.get("resource", {})
        kind = resource.get("resourceType")
        where = f"entry[{n}] {kind}/{resource.get('id')}"
        if kind not in definitions:
            failures.append(f"{where}: not a resource type of the schema")
            continue
        failures.extend(
            f"{where}: schema: {error.message} at /{'/'.join(map(str, error.instance_path))}"
            for error in _schema_validator(kind).iter_errors(resource)
        )
    if not failures:
        failures.extend(f"Bundle: schema: {error.message[:300]}" for error in _schema_validator().iter_errors(data))
    return failures


@cache
def _invariant(expression: str) -> Callable[[dict[str, Any], dict[str, Any]], list[Any]]:
    """The expression parsed once (``fhirpathpy.evaluate`` parses it on every call, which was
    nearly all of the time spent checking invariants), then evaluated as ``evaluate`` does."""
    return fhirpathpy.compile(expression, _R4)


def invariant_failures(resource: dict[str, Any]) -> list[str]:
    kind = resource["resourceType"]
    failures = []
    general = DOMAIN_RESOURCE_INVARIANTS if kind != "Bundle" else {}
    for key, expression in {**general, **TYPE_INVARIANTS.get(kind, {})}.items():
        result = _invariant(expression)(resource, {"resource": resource})
        if result != [True]:
            failures.append(f"{kind}/{resource.get('id')}: {key} gives {result}")
    return failures


def _empty_elements(node: Any, path: str) -> Iterator[str]:
    """ele-1: every element has a value or children; JSON has no empty objects, arrays or strings."""
    if isinstance(node, dict):
        if not node:
            yield path
        for key, value in node.items():
            yield from _empty_elements(value, f"{path}.{key}")
    elif isinstance(node, list):
        if not node:
            yield path
        for n, value in enumerate(node):
            yield from _empty_elements(value, f"{path}[{n}]")
    elif node is None or node == "":
        yield path


def narrative_failures(resource: dict[str, Any]) -> list[str]:
    """txt-1/txt-2: the div is well-formed XHTML with non-whitespace content (and here, only p elements)."""
    where = f"{resource['resourceType']}/{resource.get('id')}"
    text = resource.get("text") or {}
    if text.get("status") != "generated":
        return [f"{where}: no generated narrative"]
    try:
        root = ET.fromstring(text["div"])
    except ET.ParseError as error:
        return [f"{where}: narrative is not XML ({error})"]
    problems = []
    if root.tag != f"{XHTML}div":
        problems.append(f"{where}: narrative root is {root.tag}")
    if any(element.tag not in _NARRATIVE_TAGS or element.attrib for element in root.iter() if element is not root):
        problems.append(f"{where}: narrative has markup beyond plain paragraphs")
    if not "".join(root.itertext()).strip():
        problems.append(f"{where}: empty narrative")
    return problems


def _all(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, value in node.items():
            if k == key:
                yield value
            yield from _all(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _all(item, key)


def integrator_failures(body: bytes | str) -> list[str]:
    """Every problem an integrator would raise with this Bundle (empty when it imports cleanly)."""
    data = json.loads(body)
    # Structure, twice: the HL7 JSON Schema, then the R4B model reading the Bundle and writing
    # it back unchanged (nothing unknown, nothing lost).
    failures = schema_failures(data)
    try:
        bundle = Bundle.model_validate_json(body)
    except ValidationError as error:
        failures.append(f"fhir.resources R4B refuses the Bundle: {error}")
    else:
        if bundle.model_dump(mode="json", exclude_none=True) != data:
            failures.append("the Bundle does not round-trip through fhir.resources R4B unchanged")
    failures.extend(f"empty element at {path}" for path in _empty_elements(data, "Bundle"))
    failures.extend(invariant_failures(data))
    entries = data["entry"]
    urls = [e["fullUrl"] for e in entries]
    canonicals = {e["resource"]["url"]: e["resource"] for e in entries if "url" in e["resource"]}
    for entry in entries:
        resource = entry["resource"]
        where = f"{resource['resourceType']}/{resource['id']}"
        if entry["fullUrl"] != f"urn:uuid:{resource['id']}":
            failures.append(f"{where}: fullUrl and id disagree")
        failures.extend(invariant_failures(resource))
        failures.extend(narrative_failures(resource))
        failures.extend(
            f"{where}: reference {r} does not resolve" for r in _all(resource, "reference") if r not in urls
        )
        if resource["resourceType"] == "QuestionnaireResponse" and resource["questionnaire"] not in canonicals:
            failures.append(f"{where}: questionnaire {resource['questionnaire']} does not resolve")
        for coding in [*_all(resource, "coding"), *([c] for c in _all(resource, "valueCoding"))]:
            for code in coding:
                system = code.get("system", "")
                if system.startswith("https://backstep.app/"):
                    defined = canonicals.get(system)
                    if defined is None or code["code"] not in {k["code"] for k in defined.get("concept", [])}:
                        failures.append(f"{where}: {system}#{code['code']} does not resolve")
    return failures
