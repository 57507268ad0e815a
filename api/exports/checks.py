"""Checks on an exported Bundle that ``fhir.resources`` does not make (it validates structure).

Codes and systems present, pain scores within 0-10 and integers, times carrying an
offset, every reference resolving to an entry of the Bundle, one Patient and nothing
more identifying than a name and a birth year. A failure is a bug in the exporter: the
export is refused rather than sending a receiver a record it could misread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from api.exports.fhir import ALERT_RULES, LOINC, PAIN_SEVERITY, SNOMED, TRIAGE_TIERS
from api.rules.types import RuleCode, Tier

_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_PATIENT_FIELDS = {"resourceType", "id", "name", "birthDate"}


class ExportCheckFailed(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _codings(concept: Any) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


def _has(concept: Any, system: str, code: str | None = None) -> bool:
    return any(
        c.get("system") == system and c.get("code") and (code is None or c["code"] == code) for c in _codings(concept)
    )


def _observation(where: str, r: dict[str, Any]) -> list[str]:
    problems = []
    if not _has(r.get("code"), LOINC, PAIN_SEVERITY["code"]):
        problems.append(f"{where}: not coded LOINC {PAIN_SEVERITY['code']}")
    value = r.get("valueInteger")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
        problems.append(f"{where}: valueInteger {value!r} is not an integer 0-10")
    if not _WITH_OFFSET.match(str(r.get("effectiveDateTime", ""))):
        problems.append(f"{where}: effectiveDateTime without a time and offset")
    if not _has(r.get("bodySite"), SNOMED):
        problems.append(f"{where}: no SNOMED CT body site (back or leg)")
    return problems


def _questionnaire_response(where: str, r: dict[str, Any]) -> list[str]:
    problems = []
    if not r.get("questionnaire") or r.get("status") != "completed":
        problems.append(f"{where}: no questionnaire or not completed")
    if not any(str(i.get("linkId", "")).startswith("score-") for i in r.get("item") or []):
        problems.append(f"{where}: no score item")
    if not _WITH_OFFSET.match(str(r.get("authored", ""))):
        problems.append(f"{where}: authored without a time and offset")
    return problems


def _flag(where: str, r: dict[str, Any]) -> list[str]:
    problems = []
    rules = {c.get("code") for c in _codings(r.get("code")) if c.get("system") == ALERT_RULES}
    if not rules or not rules <= {str(code) for code in RuleCode}:
        problems.append(f"{where}: no known alert rule code")
    tiers = {c.get("code") for cat in r.get("category") or [] for c in _codings(cat) if c.get("system") == TRIAGE_TIERS}
    if len(tiers) != 1 or not tiers <= {str(t) for t in Tier} - {str(Tier.NONE)}:
        problems.append(f"{where}: no triage tier category")
    return problems


def _care_plan(where: str, r: dict[str, Any]) -> list[str]:
    problems = []
    if r.get("intent") != "plan":
        problems.append(f"{where}: intent is not plan")
    for n, activity in enumerate(r.get("activity") or []):
        if not _codings((activity.get("detail") or {}).get("code")):
            problems.append(f"{where}: activity {n} has no coded exercise")
    return problems


def _patient(where: str, r: dict[str, Any]) -> list[str]:
    problems = [f"{where}: carries {key}" for key in sorted(set(r) - _PATIENT_FIELDS)]
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


def check_bundle(bundle: Bundle) -> None:
    """Raise ``ExportCheckFailed`` listing every problem found."""
    data = bundle.model_dump(mode="json")
    entries = data.get("entry") or []
    urls = [e.get("fullUrl") for e in entries]
    problems = []
    if len(set(urls)) != len(urls) or None in urls:
        problems.append("entries without a fullUrl, or a fullUrl used twice")
    kinds = [(e.get("resource") or {}).get("resourceType") for e in entries]
    if kinds.count("Patient") != 1:
        problems.append(f"{kinds.count('Patient')} Patient resources (exactly one expected)")
    for n, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        where = f"entry {n} ({kind})"
        check = _CHECKS.get(str(kind))
        if check is None:
            problems.append(f"{where}: unexpected resource type")
            continue
        problems.extend(check(where, resource))
        problems.extend(
            f"{where}: reference {ref} not in the bundle" for ref in _references(resource) if ref not in urls
        )
    if problems:
        raise ExportCheckFailed(problems)
