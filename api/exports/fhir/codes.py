"""Code systems of the FHIR export: the published ones it uses and Backstep's own.

Backstep's own code systems live under ``CODE_BASE`` (a fixed canonical namespace, the same
for every deployment, so codes mean the same everywhere). They are not published on the
web: every one the export uses is included in the Bundle as a ``CodeSystem`` resource
(``code_system_resources``), so each ``system`` resolves inside the Bundle. docs/fhir.md
lists every code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from api.clinicians.words import ACTION_WORDS, RULE_WORDS, TIER_WORDS
from api.rules.screenings import Bothersome, OdiBand
from api.rules.types import MedicationClass, RiskGroup, Symptom
from exercise_library import get_library

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ATC = "http://www.whocc.no/atc"
CODE_BASE = "https://backstep.app/fhir"
CODE_SYSTEM_VERSION = "1"


def local_system(name: str) -> str:
    return f"{CODE_BASE}/CodeSystem/{name}"


OBSERVATION_CODES = local_system("observation")
SYMPTOMS = local_system("symptom")
MEDICATION_CLASSES = local_system("medication-class")
ALERT_RULES = local_system("alert-rule")
TRIAGE_TIERS = local_system("triage-tier")
ALERT_ACTIONS = local_system("alert-action")
PLAN_ACTIONS = local_system("plan-action")
EXERCISES = local_system("exercise")
BOTHERSOME = local_system("start-back-bothersome")
RISK_GROUPS = local_system("start-back-risk-group")
ODI_BANDS = local_system("odi-band")

# LOINC 72514-3 is a generic 0-10 pain severity rating: it says nothing about where. No
# site-specific LOINC term for back or leg pain could be verified, so the site-specific
# code is Backstep's own and comes first; LOINC 72514-3 stays as a second coding so a
# receiver that knows only LOINC still reads a 0-10 pain score (docs/fhir.md).
PAIN_SEVERITY = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
BACK = {"system": SNOMED, "code": "77568009", "display": "Back structure, excluding neck"}
LOWER_LIMB = {"system": SNOMED, "code": "61685007", "display": "Lower limb structure"}
EXERCISE_THERAPY = {"system": SNOMED, "code": "229065009", "display": "Exercise therapy"}
SURVEY = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}
CLINICAL_FLAG = {"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical"}
FLAG_PRIORITY_EXTENSION = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_DETAIL_EXTENSION = "http://hl7.org/fhir/StructureDefinition/flag-detail"
FLAG_PRIORITY = "http://hl7.org/fhir/flag-priority-code"
PROVENANCE_AUTHOR = {"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "author"}

# The standard flag priority for each triage tier (the tier itself rides along as a second coding).
TIER_PRIORITY: Mapping[str, tuple[str, str]] = {
    "emergency": ("PH", "High priority"),
    "urgent_same_day": ("PH", "High priority"),
    "urgent_days": ("PM", "Medium priority"),
    "routine": ("PL", "Low priority"),
    "none": ("PN", "No alarm"),
}
TIER_SEVERITY: Mapping[str, str] = {
    "emergency": "high",
    "urgent_same_day": "high",
    "urgent_days": "moderate",
    "routine": "low",
    "none": "low",
}

# STarT Back Screening Tool as LOINC publishes it: panel, items 1-9, scores and risk level,
# with LOINC's own long common names as displays (loinc.org/91349-1 lists the panel's terms).
# The risk level is answered from LOINC's normative answer list LL3578-3 (loinc.org/91352-5,
# the publisher's own page), with Backstep's risk-group code beside it; item 9's answers stay
# local: docs/fhir.md says what was searched and found.
START_BACK_PANEL = {"system": LOINC, "code": "91349-1", "display": "STarT Back Screening Tool panel"}
START_BACK_ITEMS: Mapping[str, str] = {
    "q1": "91340-0",
    "q2": "91341-8",
    "q3": "91342-6",
    "q4": "91343-4",
    "q5": "91344-2",
    "q6": "91345-9",
    "q7": "91346-7",
    "q8": "91347-5",
    "q9": "91348-3",
}
START_BACK_SUBSCORE = {"system": LOINC, "code": "91350-9", "display": "Distress subscore [STarT Back]"}
START_BACK_TOTAL = {"system": LOINC, "code": "91351-7", "display": "Total score [STarT Back]"}
START_BACK_RISK = {"system": LOINC, "code": "91352-5", "display": "STarT Back Screening risk level"}
START_BACK_RISK_ANSWERS: Mapping[str, dict[str, str]] = {
    "high": {"system": LOINC, "code": "LA9193-9", "display": "High"},
    "medium": {"system": LOINC, "code": "LA8982-6", "display": "Medium"},
    "low": {"system": LOINC, "code": "LA9194-7", "display": "Low"},
}

# Medication classes that map one to one onto an ATC group (gabapentinoids and "other" do not).
ATC_GROUPS: Mapping[str, tuple[str, str]] = {
    MedicationClass.PARACETAMOL: ("N02BE01", "paracetamol"),
    MedicationClass.NSAID: ("M01A", "Antiinflammatory and antirheumatic products, non-steroids"),
    MedicationClass.OPIOID: ("N02A", "Opioids"),
    MedicationClass.MUSCLE_RELAXANT: ("M03", "Muscle relaxants"),
    MedicationClass.ANTIDEPRESSANT: ("N06A", "Antidepressants"),
    MedicationClass.TOPICAL: ("M02A", "Topical products for joint and muscular pain"),
}

OBSERVATION_WORDS: Mapping[str, str] = {
    "back-pain": "Back pain, 0-10 numeric rating",
    "leg-pain": "Leg pain, 0-10 numeric rating",
    "interference": "Pain interference with daily activities, 0-10",
    "sleep-quality": "Sleep quality, 0-10",
    "activity-minutes": "Minutes of physical activity that day",
    "steps": "Steps that day",
    "flare": "Flare-up reported",
    "odi-total": "Oswestry Disability Index raw total (sum of answered sections)",
    "odi-percent": "Oswestry Disability Index, percent",
    "odi-band": "Oswestry Disability Index disability band",
    "red-flag-tier": "Red-flag screening: triage tier",
}


def words(code: str) -> str:
    """``one_leg_numbness`` -> ``One leg numbness``."""
    return code.replace("_", " ").replace("-", " ").capitalize()


@dataclass(frozen=True, slots=True)
class LocalCodeSystem:
    name: str
    title: str
    concepts: Mapping[str, str]

    @property
    def url(self) -> str:
        return local_system(self.name)

    def coding(self, code: str) -> dict[str, str]:
        return {"system": self.url, "code": code, "display": self.concepts.get(code, words(code))}


@cache
def local_code_systems() -> dict[str, LocalCodeSystem]:
    """Every local code system by URL (the library is loaded once per process, so is this)."""
    library = get_library()
    exercises = {e.id: e.name for e in library.exercises.values()}
    systems = [
        LocalCodeSystem("observation", "Backstep observations", OBSERVATION_WORDS),
        LocalCodeSystem("symptom", "Red-flag symptoms", {str(s): words(s) for s in Symptom}),
        LocalCodeSystem("medication-class", "Medication classes", {str(m): words(m) for m in MedicationClass}),
        LocalCodeSystem("alert-rule", "Alert rules", {str(k): v for k, v in RULE_WORDS.items()}),
        LocalCodeSystem("triage-tier", "Triage tiers", {str(k): v for k, v in TIER_WORDS.items()}),
        LocalCodeSystem(
            "alert-action",
            "Alert actions",
            {"acknowledged": "Acknowledged by the care team", "resolved": "Resolved by the care team"},
        ),
        LocalCodeSystem("plan-action", "Plan decisions", {str(k): v for k, v in ACTION_WORDS.items()}),
        LocalCodeSystem("exercise", "Exercises", {**exercises, "daily-walk": "Daily walk"}),
        LocalCodeSystem("start-back-bothersome", "STarT Back item 9 answers", {str(b): words(b) for b in Bothersome}),
        LocalCodeSystem("start-back-risk-group", "STarT Back risk groups", {str(r): words(r) for r in RiskGroup}),
        LocalCodeSystem("odi-band", "Oswestry disability bands", {str(b): words(b) for b in OdiBand}),
    ]
    return {s.url: s for s in systems}


def local(url: str, code: str) -> dict[str, str]:
    return local_code_systems()[url].coding(code)


def code_system_resource(system: LocalCodeSystem) -> dict[str, Any]:
    """A ``CodeSystem`` (content ``complete``) with every code of ``system``."""
    return {
        "resourceType": "CodeSystem",
        "url": system.url,
        "version": CODE_SYSTEM_VERSION,
        "name": "Backstep" + "".join(part.capitalize() for part in system.name.split("-")),
        "title": f"Backstep: {system.title}",
        "status": "active",
        "experimental": False,
        "publisher": "Backstep",
        "caseSensitive": True,
        "content": "complete",
        "count": len(system.concepts),
        "concept": [{"code": code, "display": display} for code, display in system.concepts.items()],
    }
