"""Checks on an exported Bundle that ``fhir.resources`` does not make (it validates structure).

Narrative on every resource; pain, symptom and score Observations coded, with ``{score}``
quantities in range and the Patient as performer; times carrying an offset; every
reference resolving to an entry of the Bundle and every canonical (``questionnaire``,
code ``system`` under Backstep's namespace) to a Questionnaire or CodeSystem in it, with
each code defined there; one Patient carrying nothing more identifying than identifiers,
a name and a birth year; Flags with the standard priority; a transaction's entries all
with a request. A failure is a bug in the exporter: the export is refused rather than
sending a receiver a record it could misread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal, get_args

from fhir.resources.R4B.bundle import Bundle

from api.exports.fhir import codes as c
from api.rules.types import RuleCode, Tier

_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_PATIENT_FIELDS = {"resourceType", "id", "text", "identifier", "name", "birthDate"}
# Every resource type the export writes: the OpenAPI schema of the Bundle names the same.
ResourceType = Literal[
    "Patient",
    "Device",
    "Practitioner",
    "Observation",
    "MedicationStatement",
    "Procedure",
    "QuestionnaireResponse",
    "Questionnaire",
    "CarePlan",
    "Provenance",
    "DetectedIssue",
    "Flag",
    "Communication",
    "CodeSystem",
]
_KINDS = frozenset(get_args(ResourceType))
_XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">'


class ExportCheckFailed(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _walk(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, value in node.items():
            if k == key:
                yield value
            yield from _walk(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def _codings(concept: Any) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


def _has(concept: Any, system: str, code: str | None = None) -> bool:
    return any(
        c.get("system") == system and c.get("code") and (code is None or c["code"] == code) for c in _codings(concept)
    )


def _observation(where: str, r: dict[str, Any], subject: str) -> list[str]:
    problems = []
    if not _WITH_OFFSET.match(str(r.get("effectiveDateTime", ""))):
        problems.append(f"{where}: effectiveDateTime without a time and offset")
    if subject not in {p.get("reference") for p in r.get("performer") or []}:
        problems.append(f"{where}: the patient is not the performer")
    code = r.get("code")
    pain = [k["code"] for k in _codings(code) if k.get("system") == c.OBSERVATION_CODES] in (
        ["back-pain"],
        ["leg-pain"],
    )
    if pain:
        if not _has(code, c.LOINC, c.PAIN_SEVERITY["code"]):
            problems.append(f"{where}: not coded LOINC {c.PAIN_SEVERITY['code']}")
        if not _has(r.get("bodySite"), c.SNOMED):
            problems.append(f"{where}: no SNOMED CT body site (back or leg)")
    quantity = r.get("valueQuantity")
    if quantity is not None and quantity.get("code") == "{score}":
        value = quantity.get("value")
        if quantity.get("system") != c.UCUM or not isinstance(value, int | float) or not 0 <= value <= 10:
            problems.append(f"{where}: score {value!r} is not a UCUM {{score}} within 0-10")
    elif pain:
        problems.append(f"{where}: pain without a UCUM {{score}} valueQuantity")
    return problems


def _questionnaire_response(where: str, r: dict[str, Any], subject: str) -> list[str]:
    problems = []
    if not r.get("questionnaire") or r.get("status") != "completed":
        problems.append(f"{where}: no questionnaire or not completed")
    if any(str(i.get("linkId", "")).startswith("score") for i in r.get("item") or []):
        problems.append(f"{where}: a computed score among the answers")
    if not _WITH_OFFSET.match(str(r.get("authored", ""))):
        problems.append(f"{where}: authored without a time and offset")
    return problems


def _flag(where: str, r: dict[str, Any], subject: str) -> list[str]:
    problems = []
    rules = {k.get("code") for k in _codings(r.get("code")) if k.get("system") == c.ALERT_RULES}
    if not rules or not rules <= {str(code) for code in RuleCode}:
        problems.append(f"{where}: no known alert rule code")
    priority = [e for e in r.get("extension") or [] if e.get("url") == c.FLAG_PRIORITY_EXTENSION]
    concept = priority[0].get("valueCodeableConcept") if len(priority) == 1 else None
    tiers = {k.get("code") for k in _codings(concept) if k.get("system") == c.TRIAGE_TIERS}
    if not _has(concept, c.FLAG_PRIORITY) or len(tiers) != 1 or not tiers <= {str(t) for t in Tier}:
        problems.append(f"{where}: no standard priority with its triage tier")
    if not any(e.get("url") == c.FLAG_DETAIL_EXTENSION for e in r.get("extension") or []):
        problems.append(f"{where}: no detail (DetectedIssue with the evidence)")
    return problems


def _care_plan(where: str, r: dict[str, Any], subject: str) -> list[str]:
    problems = []
    if r.get("intent") != "plan":
        problems.append(f"{where}: intent is not plan")
    if r.get("status") == "completed" and not (r.get("period") or {}).get("end"):
        problems.append(f"{where}: completed without period.end")
    for n, activity in enumerate(r.get("activity") or []):
        if not _codings((activity.get("detail") or {}).get("code")):
            problems.append(f"{where}: activity {n} has no coded exercise")
    return problems


def _patient(where: str, r: dict[str, Any], subject: str) -> list[str]:
    problems = [f"{where}: carries {key}" for key in sorted(set(r) - _PATIENT_FIELDS)]
    if not r.get("identifier"):
        problems.append(f"{where}: no identifier")
    birth = r.get("birthDate")
    if birth is not None and not re.fullmatch(r"\d{4}", str(birth)):
        problems.append(f"{where}: birthDate more precise than a year")
    return problems


_CHECKS = {
    "Observation": _observation,
    "QuestionnaireResponse": _questionnaire_response,
    "Flag": _flag,
    "CarePlan": _care_plan,
    "Patient": _patient,
}


def _canonicals(data: dict[str, Any]) -> tuple[set[str], dict[str, set[str]]]:
    questionnaires: set[str] = set()
    systems: dict[str, set[str]] = {}
    for entry in data.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Questionnaire":
            questionnaires.add(resource.get("url", ""))
        elif resource.get("resourceType") == "CodeSystem":
            systems[resource.get("url", "")] = {k.get("code") for k in resource.get("concept") or []}
    return questionnaires, systems


def check_bundle(bundle: Bundle) -> None:
    """Raise ``ExportCheckFailed`` listing every problem found."""
    check_bundle_json(bundle.model_dump(mode="json"))


def check_bundle_json(data: dict[str, Any]) -> None:
    """``check_bundle`` on the Bundle as JSON: the exporter checks the very body it sends
    (parsed back), rather than serialising the Bundle a second time for the checks."""
    entries = data.get("entry") or []
    urls = [e.get("fullUrl") for e in entries]
    problems = []
    if len(set(urls)) != len(urls) or None in urls:
        problems.append("entries without a fullUrl, or a fullUrl used twice")
    kinds = [(e.get("resource") or {}).get("resourceType") for e in entries]
    if kinds.count("Patient") != 1 or kinds[0] != "Patient":
        problems.append(f"{kinds.count('Patient')} Patient resources (exactly one expected, first)")
    subject = urls[kinds.index("Patient")] if "Patient" in kinds else ""
    questionnaires, systems = _canonicals(data)
    for n, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        where = f"entry {n} ({kind})"
        if kind not in _KINDS:
            problems.append(f"{where}: unexpected resource type")
            continue
        if not str((resource.get("text") or {}).get("div", "")).startswith(_XHTML):
            problems.append(f"{where}: no narrative")
        if (data.get("type") == "transaction") != ("request" in entry):
            problems.append(f"{where}: request present or missing for a {data.get('type')} Bundle")
        check = _CHECKS.get(str(kind))
        if check is not None:
            problems.extend(check(where, resource, subject))
        problems.extend(
            f"{where}: reference {ref} not in the bundle" for ref in _walk(resource, "reference") if ref not in urls
        )
        if kind == "QuestionnaireResponse" and resource.get("questionnaire") not in questionnaires:
            problems.append(f"{where}: questionnaire {resource.get('questionnaire')} not in the bundle")
        for coding in (v for v in _walk(resource, "system") if isinstance(v, str) and v.startswith(c.CODE_BASE)):
            if coding not in systems:
                problems.append(f"{where}: code system {coding} not in the bundle")
        for found in _walk(resource, "coding"):
            for coding in found if isinstance(found, list) else []:
                known = systems.get(coding.get("system"))
                if known is not None and coding.get("code") not in known:
                    problems.append(f"{where}: code {coding.get('code')} not in {coding.get('system')}")
        for found in _walk(resource, "valueCoding"):
            known = systems.get(found.get("system"))
            if known is not None and found.get("code") not in known:
                problems.append(f"{where}: code {found.get('code')} not in {found.get('system')}")
    if problems:
        raise ExportCheckFailed(problems)
