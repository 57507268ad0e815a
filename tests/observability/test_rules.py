"""The operators' Prometheus rules file: well-formed, and every expression names a metric
the service exports (a rule on a misspelt metric never fires)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.observability.collector import DATABASE_FAMILIES
from api.observability.metrics import PROCESS_FAMILIES

RULES = Path(__file__).resolve().parent.parent.parent / "deploy" / "prometheus" / "backstep-rules.yml"
_DURATION = re.compile(r"^\d+[smhdwy]$")
# What a family's samples are called in the exposition format.
_SUFFIXES = {
    "backstep_http_requests": ("_total",),
    "backstep_job_runs": ("_total",),
    "backstep_job_rows_claimed": ("_total",),
    "backstep_job_items": ("_total",),
    "backstep_deliveries": ("_total",),
    "backstep_dead_letters": ("_total",),
    "backstep_http_request_duration_seconds": ("_bucket", "_count", "_sum"),
    "backstep_job_duration_seconds": ("_bucket", "_count", "_sum"),
    "backstep_reminder_lateness_seconds": ("_bucket", "_count", "_sum"),
}
EXPORTED = {
    family + suffix for family in (*PROCESS_FAMILIES, *DATABASE_FAMILIES) for suffix in _SUFFIXES.get(family, ("",))
}


def load() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    rules: list[dict[str, Any]] = []
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
        rules += group["rules"]
    return rules


def test_the_rules_file_is_well_formed() -> None:
    rules = load()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule["alert"]
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert _DURATION.match(rule["for"]), rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_the_issue_s_situations_each_have_a_rule() -> None:
    expressions = {rule["alert"]: rule["expr"] for rule in load()}
    assert "backstep_outbox_oldest_due_age_seconds" in expressions["BackstepOutboxStuck"]
    assert "backstep_reminder_lateness_seconds" in expressions["BackstepRemindersLate"]
    assert 'job="sweep"' in expressions["BackstepSweepMissed"]
    emergency = expressions["BackstepEmergencyUnacknowledged"]
    assert 'tier="emergency"' in emergency and "backstep_alert_renotify_delay_seconds" in emergency


@pytest.mark.parametrize("rule", load(), ids=lambda rule: rule["alert"])
def test_every_expression_names_an_exported_metric(rule: dict[str, Any]) -> None:
    named = set(re.findall(r"\bbackstep_[a-z_]+\b", rule["expr"]))
    assert named, "a rule must watch a Backstep metric"
    assert named <= EXPORTED, f"not exported: {sorted(named - EXPORTED)}"


def test_bucket_bounds_in_rules_exist() -> None:
    from api.observability import metrics

    for rule in load():
        for family, bound in re.findall(r"(backstep_[a-z_]+)_bucket\{[^}]*le=\"([^\"]+)\"", rule["expr"]):
            histogram = {
                "backstep_reminder_lateness_seconds": metrics.REMINDER_LATENESS,
                "backstep_http_request_duration_seconds": metrics.HTTP_DURATION,
                "backstep_job_duration_seconds": metrics.JOB_DURATION,
            }[family]
            assert float(bound) in histogram._upper_bounds, (rule["alert"], bound)
