"""No data file may encode what current guidance says not to (CLINICAL_RULES.md §6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exercise_library import DEFAULT_ROOT

DRUG_NAMES = (
    "ibuprofen|paracetamol|acetaminophen|codeine|co-codamol|dihydrocodeine|diazepam|naproxen|"
    "amitriptyline|nortriptyline|gabapentin|pregabalin|tramadol|tapentadol|morphine|oxycodone|"
    "fentanyl|buprenorphine|diclofenac|aspirin|celecoxib|etoricoxib|duloxetine|baclofen|"
    "cyclobenzaprine|methocarbamol|tizanidine|orphenadrine"
)

FORBIDDEN: dict[str, re.Pattern[str]] = {
    "bed rest": re.compile(r"\bbed[\s-]*rest|\b(rest|resting|stay|staying|remain)\s+in\s+bed\b"),
    "corset, belt or brace": re.compile(
        r"\bcorsets?\b|\bbrac(e|es|ed|ing)\b|\b(lumbar|back|spinal|support)\s+(belts?|supports?|binders?)\b"
    ),
    "imaging": re.compile(r"\bx[\s-]?rays?\b|\bmri\b|\b(ct|mri|spinal|back)\s+scans?\b|\bimaging\b|\bradiograph"),
    "medication dose": re.compile(
        r"\b\d+(\.\d+)?\s*(mg|mcg|µg|ml|milligrams?|micrograms?)\b|\bmilligrams?\b|\bmicrograms?\b"
        r"|\b\d+\s*(x\s*)?(tablets?|pills?|capsules?)\b"
    ),
    "medication name": re.compile(rf"\b({DRUG_NAMES})\b"),
    "stop when it hurts": re.compile(
        r"\bstop\w*\s+(\w+\s+)?(when|if|as\s+soon\s+as|once)\s+(it|you|this|they)\s+"
        r"(hurts?|(start\w*\s+to\s+)?hurt|feels?\s+(any\s+)?pain|(are|is)\s+(in\s+)?pain\w*|get\s+pain)"
    ),
    "until pain": re.compile(
        r"\b(until|till|to\s+the\s+point\s+of)\s+(the\s+)?(it\s+(hurts|is\s+painful)|pain\b|you\s+(feel|have|get)\s+pain)"
    ),
    "no pain no gain": re.compile(r"\bno\s+pain,?\s+no\s+gain\b"),
    "90 % better in 6 weeks": re.compile(
        r"\b((90|ninety)\s*(%|per\s*cent|percent)|nine\s+out\s+of\s+(ten|10)).{0,200}?\b(6|six)[\s-]+weeks?"
        r"|\b(6|six)[\s-]+weeks?.{0,200}?\b(90|ninety)\s*(%|per\s*cent|percent)",
        re.DOTALL,
    ),
}


def scan(text: str) -> list[str]:
    """Names of the forbidden statements found in ``text``, case- and line-break-insensitive."""
    normalised = re.sub(r"\s+", " ", text.lower())
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(normalised)]


def data_files() -> list[Path]:
    return sorted(path for path in DEFAULT_ROOT.rglob("*") if path.is_file())


def test_scan_covers_every_data_file() -> None:
    sections = {path.relative_to(DEFAULT_ROOT).parts[0] for path in data_files()}
    assert sections == {"exercises", "plans", "instruments", "translations"}
    assert len(data_files()) >= 10


@pytest.mark.parametrize("path", data_files(), ids=lambda p: p.relative_to(DEFAULT_ROOT).as_posix())
def test_data_file_has_no_forbidden_content(path: Path) -> None:
    assert scan(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        ("Two days of bed rest will help.", "bed rest"),
        ("If it is bad, stay in bed until it eases.", "bed rest"),
        ("Wear a lumbar belt when lifting.", "corset, belt or brace"),
        ("A back brace supports the spine.", "corset, belt or brace"),
        ("A corset protects your back.", "corset, belt or brace"),
        ("Ask your GP for an X-ray if the pain is new.", "imaging"),
        ("An MRI scan will show the problem.", "imaging"),
        ("Take 400 mg every four hours.", "medication dose"),
        ("Two 500 milligram doses a day.", "medication dose"),
        ("Ibuprofen helps with the pain.", "medication name"),
        ("Paracetamol first, then codeine.", "medication name"),
        ("diazepam, naproxen, amitriptyline or gabapentin", "medication name"),
        ("Stop when it hurts.", "stop when it hurts"),
        ("Stop exercising if you feel pain.", "stop when it hurts"),
        ("Exercise until pain appears.", "until pain"),
        ("Keep going until it hurts.", "until pain"),
        ("90 % of people are better in 6 weeks.", "90 % better in 6 weeks"),
        ("Ninety percent recover\nwithin six weeks.", "90 % better in 6 weeks"),
        ("In 6 weeks 90% are better.", "90 % better in 6 weeks"),
        ("Nine out of ten people are better by six weeks.", "90 % better in 6 weeks"),
    ],
)
def test_scan_catches_planted_statement(planted: str, expected: str) -> None:
    assert expected in scan(planted)


@pytest.mark.parametrize(
    "allowed",
    [
        "Most people improve a lot within the first six weeks.",
        "Staying active helps.",
        "Some discomfort during exercise is acceptable if it settles by the next morning.",
        "Hurt does not mean harm.",
        "Keep regular times for going to bed and getting up.",
        "Lie on your back on the floor or a firm mattress.",
        "Body scan: move your attention slowly through the body.",
        "Reduce the load for a couple of days but do not stop.",
        "Bend your knees to 90 degrees; in 6 weeks you will be stronger.",
    ],
)
def test_scan_allows_current_guidance(allowed: str) -> None:
    assert scan(allowed) == []


def test_scan_fails_a_data_file_with_a_planted_statement(data_copy: Path) -> None:
    plan = data_copy / "plans" / "low.yaml"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace(
            "Staying active helps.", "Staying active helps, but stop when it hurts.", 1
        ),
        encoding="utf-8",
    )
    assert scan(plan.read_text(encoding="utf-8")) == ["stop when it hurts"]
