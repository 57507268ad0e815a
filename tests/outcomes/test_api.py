"""``GET /clinician/outcomes`` and ``.csv`` on a seeded cohort with hand-computed numbers,
the access rules, bad input, the audit row and the statement count (both databases)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.models import AuditEvent
from tests.clinicians.helpers import StatementCounter
from tests.factories import assert_field_refused, auth, patient_auth
from tests.outcomes.cohort import FROM, TO, Cohort, seed

URL = "/api/v1/clinician/outcomes"
PERIOD = {"from": FROM.isoformat(), "to": TO.isoformat()}


@pytest.fixture
def cohort(client: TestClient, app: FastAPI, session: Session) -> Cohort:
    return seed(app, session)


def report(client: TestClient, app: FastAPI, user: Any, **params: Any) -> dict[str, Any]:
    response = client.get(URL, headers=auth(app, user), params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cell(count: int | None, percent: float | None = None) -> dict[str, Any]:
    return {"count": count, "suppressed": count is None, "percent": percent}


SUPPRESSED = cell(None)


def test_the_clinicians_cohort_by_hand(client: TestClient, app: FastAPI, cohort: Cohort) -> None:
    body = report(client, app, cohort.physio)
    assert body["from"] == "2025-12-01" and body["to"] == "2025-12-31"
    assert body["clinic_id"] is None and body["group_by"] is None and body["groups"] == []
    assert body["min_cell_size"] == 5
    overall = body["overall"]
    assert overall["key"] == "all"
    # P1-P12; "Early" started in November, the colleague's own patient is not the physio's.
    assert overall["cohort_size"] == cell(12)
    day14, day42, day84 = overall["checkpoints"]
    assert day14["day"] == 14
    assert day14["reached"] == cell(12, 100.0)
    assert day14["classifications"] == {
        "improved": cell(6, 50.0),
        "no_meaningful_improvement": SUPPRESSED,  # 3
        "worsened": SUPPRESSED,  # 1
        "minimal_pain": SUPPRESSED,  # 1
        "insufficient_data": SUPPRESSED,  # 1
    }
    # Δ of P1-P11 sorted: -2 0 1 1 2 2 2 15/7 3 4 5; type 7: median x[5] = 2,
    # q1 at h = 2.5: 1, q3 at h = 7.5: 15/7 + (3 - 15/7)/2 = 18/7 = 2.571…
    assert day14["back_pain_change"] == {"patients": cell(11), "median": 2.0, "q1": 1.0, "q3": 2.57}
    assert day42["day"] == 42
    assert day42["classifications"] == {
        "improved": cell(6, 50.0),  # P2-P7
        "no_meaningful_improvement": SUPPRESSED,  # P8
        "worsened": SUPPRESSED,  # none
        "minimal_pain": SUPPRESSED,  # P1
        "insufficient_data": SUPPRESSED,  # P9-P12
    }
    # Δ sorted: -1 3 3 3 3 3 3 38/7: median at h = 3.5 is 3, quartiles at 1.75 and 5.25 are 3.
    assert day42["back_pain_change"] == {"patients": cell(8), "median": 3.0, "q1": 3.0, "q3": 3.0}
    assert day84["day"] == 84
    assert day84["classifications"] == {
        "improved": SUPPRESSED,
        "no_meaningful_improvement": SUPPRESSED,  # P6
        "worsened": SUPPRESSED,
        "minimal_pain": cell(5, 41.7),  # P1-P5: 5/12 = 41.67 %
        "insufficient_data": cell(6, 50.0),  # P7-P12
    }
    # Δ sorted: 1 6 6 6 6 6 → median 6; q1 at h = 1.25 lies between x[1] = 6 and x[2] = 6.
    assert day84["back_pain_change"] == {"patients": cell(6), "median": 6.0, "q1": 6.0, "q3": 6.0}
    # ODI: baselines P1-P8 (8/12); follow-ups ≥ 42 days: all but P4 (7/12); meaningful:
    # P1, P2 (10 points exactly), P5 (30 % exactly), P7 (latest follow-up), P8 (5/7).
    assert overall["odi"] == {
        "with_baseline": cell(8, 66.7),
        "with_follow_up": cell(7, 58.3),
        "meaningful_change": cell(5, 71.4),
    }
    # Adherence P1-P6 sorted: 0, 5/11, 6/11, 8/11, 1, 1 → median 7/11 = 0.636,
    # q1 = 5/11 + 0.25/11 = 21/44 = 0.477, q3 = 8/11 + 0.75 * 3/11 = 41/44 = 0.932.
    assert overall["adherence_28d"] == {"patients": cell(6), "median": 0.636, "q1": 0.477, "q3": 0.932}


def test_grouped_by_risk_group(client: TestClient, app: FastAPI, cohort: Cohort) -> None:
    body = report(client, app, cohort.physio, group_by="risk_group")
    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == ["low", "medium", "high", "not_screened"]
    assert groups["low"]["cohort_size"] == cell(6)
    assert groups["medium"]["cohort_size"] == cell(5)
    assert groups["high"]["cohort_size"] == SUPPRESSED
    assert groups["not_screened"]["cohort_size"] == SUPPRESSED
    # Day 14: P1-P6 (low) all improved; P7-P11 (medium) none did.
    assert groups["low"]["checkpoints"][0]["classifications"]["improved"] == cell(6, 100.0)
    assert groups["medium"]["checkpoints"][0]["classifications"]["improved"] == SUPPRESSED
    assert body["overall"] == report(client, app, cohort.physio)["overall"]


def test_grouped_by_clinician_counts_a_shared_patient_for_each(
    client: TestClient, app: FastAPI, cohort: Cohort
) -> None:
    body = report(client, app, cohort.physio, group_by="clinician")
    assert [(g["label"], g["clinician_id"], g["cohort_size"]) for g in body["groups"]] == [
        ("Priya Shah", cohort.colleague.id, cell(5)),  # P1-P5, shared
        ("Sam Physio", cohort.physio.id, cell(12)),
    ]


def test_an_admin_sees_the_clinic(client: TestClient, app: FastAPI, cohort: Cohort) -> None:
    body = report(client, app, cohort.admin, clinic_id=cohort.clinic.id, group_by="clinician")
    assert body["clinic_id"] == cohort.clinic.id
    # P1-P12 and the colleague's own patient (improved at day 14); not the other clinic's.
    assert body["overall"]["cohort_size"] == cell(13)
    assert body["overall"]["checkpoints"][0]["classifications"]["improved"] == cell(7, 53.8)
    assert [g["cohort_size"] for g in body["groups"]] == [cell(6), cell(12)]


def test_an_outside_clinician_counts_none_of_these_patients(
    client: TestClient, app: FastAPI, session: Session, cohort: Cohort
) -> None:
    body = report(client, app, cohort.outsider)
    assert body["overall"]["cohort_size"] == SUPPRESSED
    session.rollback()
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "read_outcomes", AuditEvent.actor_id == cohort.outsider.id)
    ).one()
    assert event.detail["cohort_size"] == 1  # their own patient at the other clinic only


def test_csv_carries_the_json_numbers(client: TestClient, app: FastAPI, cohort: Cohort) -> None:
    params = {**PERIOD, "group_by": "risk_group"}
    body = client.get(URL, headers=auth(app, cohort.physio), params=params).json()
    response = client.get(URL + ".csv", headers=auth(app, cohort.physio), params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="outcomes-2025-12-01-to-2025-12-31.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_key = {(r["group"], r["measure"], r["checkpoint_day"]): r for r in rows}
    assert len(by_key) == len(rows) == 5 * (1 + 3 * 7 + 4)
    for group in (body["overall"], *body["groups"]):
        expected: list[tuple[str, str, dict[str, Any]]] = [("cohort_size", "", group["cohort_size"])]
        for checkpoint in group["checkpoints"]:
            day = str(checkpoint["day"])
            expected.append(("reached", day, checkpoint["reached"]))
            expected += [(name, day, c) for name, c in checkpoint["classifications"].items()]
            expected.append(("back_pain_change", day, checkpoint["back_pain_change"]))
        expected += [(f"odi_{name}", "", c) for name, c in group["odi"].items()]
        expected.append(("adherence_28d", "", group["adherence_28d"]))
        for measure, day, value in expected:
            row = by_key[(group["key"], measure, day)]
            assert row["group_label"] == group["label"]
            count = value.get("patients", value)
            assert row["count"] == ("< 5" if count["suppressed"] else str(count["count"]))
            for name in ("percent", "median", "q1", "q3"):
                shown = count.get(name) if name == "percent" else value.get(name)
                assert (Decimal(row[name]) if row[name] else None) == (None if shown is None else Decimal(str(shown)))


def test_every_report_is_audited(client: TestClient, app: FastAPI, session: Session, cohort: Cohort) -> None:
    report(client, app, cohort.physio, group_by="risk_group")
    client.get(URL + ".csv", headers=auth(app, cohort.admin), params={**PERIOD, "clinic_id": cohort.clinic.id})
    session.rollback()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "read_outcomes").order_by(col(AuditEvent.id))
    ).all()
    assert [(e.actor_id, e.resource, e.patient_id) for e in events] == [
        (cohort.physio.id, "clinician/outcomes", None),
        (cohort.admin.id, "clinician/outcomes.csv", None),
    ]
    assert events[0].detail == {
        "clinic_id": None,
        "from": "2025-12-01",
        "to": "2025-12-31",
        "group_by": "risk_group",
        "cohort_size": 12,
    }
    assert events[1].detail["cohort_size"] == 13


@pytest.mark.parametrize("path", [URL, URL + ".csv"])
def test_bad_input_is_a_422_naming_the_field(client: TestClient, app: FastAPI, cohort: Cohort, path: str) -> None:
    physio, admin = auth(app, cohort.physio), auth(app, cohort.admin)
    cases: list[tuple[dict[str, str], dict[str, Any], list[str]]] = [
        (physio, {"from": "2025-12-31", "to": "2025-12-01"}, ["query", "from"]),
        (physio, {"from": "2025-13-01", "to": "2025-12-31"}, ["query", "from"]),
        (physio, {"from": "1700000000", "to": "2025-12-31"}, ["query", "from"]),
        (physio, {"from": "2025-12-01", "to": "yesterday"}, ["query", "to"]),
        (physio, {"to": "2025-12-31"}, ["query", "from"]),
        (physio, {"from": "2025-12-01"}, ["query", "to"]),
        (physio, {**PERIOD, "group_by": "age"}, ["query", "group_by"]),
        (physio, {**PERIOD, "clinic_id": str(cohort.clinic.id)}, ["query", "clinic_id"]),
        (admin, PERIOD, ["query", "clinic_id"]),
        (admin, {**PERIOD, "clinic_id": "0"}, ["query", "clinic_id"]),
    ]
    for headers, params, loc in cases:
        assert_field_refused(client.get(path, headers=headers, params=params), loc, params)


def test_who_may_ask(client: TestClient, app: FastAPI, session: Session, cohort: Cohort) -> None:
    unknown = client.get(URL, headers=auth(app, cohort.admin), params={**PERIOD, "clinic_id": 999_999})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    as_patient = client.get(URL, headers=patient_auth(session, app, cohort.patients[0]), params=PERIOD)
    assert as_patient.status_code == 403
    assert client.get(URL, params=PERIOD).status_code == 401
    assert client.get(URL + ".csv", params=PERIOD).status_code == 401


def test_the_report_costs_the_same_statements_for_one_patient_as_for_twelve(
    client: TestClient, app: FastAPI, engine: Engine, cohort: Cohort
) -> None:
    def statements(params: dict[str, str]) -> int:
        with StatementCounter(engine) as counter:
            response = client.get(URL, headers=auth(app, cohort.physio), params={**params, "group_by": "clinician"})
        assert response.status_code == 200
        return len(counter.queries)

    twelve = statements(PERIOD)
    one = statements({"from": "2025-11-20", "to": "2025-11-20"})  # "Early" only
    # The clock, the caller, the cohort, its logs, ODI screenings, plans, sessions, pauses,
    # care teams, and the audit row.
    assert one == twelve == 10
