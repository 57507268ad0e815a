"""The vendored HL7 FHIR JSON Schema: the file is HL7's, and it judges what the export writes.

The schema is R4's (``http://hl7.org/fhir/json-schema/4.0``); the export is R4B. The second
test is why validating against it is meaningful (docs/fhir.md, "How it is checked"): for every
resource type the export writes and every element type reachable from them, the schema knows
exactly the elements the R4B models know, apart from the listed R4/R4B differences, none of
which the export uses.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import pkgutil
from typing import Any, get_args

import fhir.resources.R4B
from pydantic import BaseModel

from api.exports.fhir.checks import ResourceType
from tests.exports.integrator import SCHEMA_FILE, fhir_schema

SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"  # tests/data/fhir/NOTICE.md

# Where the R4 schema and the R4B models differ, among the types the export can reach:
# R4B added two datatypes to Extension.value[x]; the R4 schema gives a few Elements a
# modifierExtension that R4B (rightly) does not. The export uses none of them.
KNOWN_DIFFERENCES: dict[str, tuple[set[str], set[str]]] = {
    "Extension": (set(), {"valueCodeableReference", "valueRatioRange"}),
    "Timing_Repeat": ({"modifierExtension"}, set()),
    "Dosage_DoseAndRate": ({"modifierExtension"}, set()),
    "DataRequirement_CodeFilter": ({"modifierExtension"}, set()),
    "DataRequirement_DateFilter": ({"modifierExtension"}, set()),
    "DataRequirement_Sort": ({"modifierExtension"}, set()),
}
# The R4 schema names backbone elements by resource; the R4B models by path.
R4B_NAMES = {
    "Bundle_Request": "BundleEntryRequest",
    "Bundle_Response": "BundleEntryResponse",
    "Bundle_Search": "BundleEntrySearch",
    "QuestionnaireResponse_Answer": "QuestionnaireResponseItemAnswer",
    "Questionnaire_AnswerOption": "QuestionnaireItemAnswerOption",
    "Questionnaire_EnableWhen": "QuestionnaireItemEnableWhen",
    "Questionnaire_Initial": "QuestionnaireItemInitial",
    "CarePlan_Detail": "CarePlanActivityDetail",
    "CodeSystem_Designation": "CodeSystemConceptDesignation",
    "CodeSystem_Property1": "CodeSystemConceptProperty",
}


def test_the_vendored_schema_is_the_hl7_r4_file() -> None:
    raw = gzip.decompress(SCHEMA_FILE.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SHA256
    schema = fhir_schema()
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"


def _r4b_models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    package = fhir.resources.R4B
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg or info.name in ("fhirtypes", "fhirtypesvalidators"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                models.setdefault(name, value)
    return models


def _elements(model: type[BaseModel]) -> set[str]:
    names = {field.alias or name for name, field in model.model_fields.items()}
    return {n for n in names if not n.startswith("_") and not n.endswith("__ext")} - {"fhir_comments", "resourceType"}


def test_the_r4_schema_knows_every_element_the_r4b_models_know_for_what_the_export_writes() -> None:
    definitions: dict[str, Any] = fhir_schema()["definitions"]
    models = _r4b_models()
    differences: dict[str, tuple[set[str], set[str]]] = {}
    seen: set[str] = set()
    todo = ["Bundle", *get_args(ResourceType)]
    while todo:
        name = todo.pop()
        if name in seen or name in ("ResourceList", "Resource"):
            continue
        seen.add(name)
        model = models[R4B_NAMES.get(name, name.replace("_", ""))]
        properties = definitions[name]["properties"]
        in_schema = {p for p in properties if not p.startswith("_")} - {"resourceType"}
        in_model = _elements(model)
        if in_schema != in_model:
            differences[name] = (in_schema - in_model, in_model - in_schema)
        for prop in properties.values():
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
            if ref and "properties" in definitions[ref.split("/")[-1]]:
                todo.append(ref.split("/")[-1])
    assert len(seen) > 80  # every resource, backbone element and datatype reachable from them
    assert differences == KNOWN_DIFFERENCES
