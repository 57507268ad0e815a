"""Every exercise of every plan template, at every level, reads on the dashboard, in the CSV
and in the FHIR CarePlan exactly as the API prescribes it (``GET /me/plan``).

The texts are read back with a parser written here, independently of
``api.exercises.dose``: a dose that drops its hold (the "2 x 2 reps" for two 30-second
stretches of issue 16) or invents a part fails, whatever the formatter does."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.exercises.dose import TIMES, dose_text
from api.models import Plan, User
from api.rules.types import PlanAction
from exercise_library import Prescribed, get_library
from tests.clinicians.helpers import NOW, add_decision, add_plan, local_today, set_clock
from tests.dashboard.conftest import log_in
from tests.factories import auth, make_patient, patient_auth

Dose = tuple[int, int | None, int | None, int | None]  # sets, reps, hold seconds, minutes
ROW = re.compile(r'<tr data-exercise-id="([a-z0-9-]+)"><td>[^<]*</td><td class="dose">([^<]*)</td></tr>')


def read_dose(text: str) -> Dose:
    """``2 x 8 reps`` (x: the multiplication sign) → (2, 8, None, None); each part may appear once, in any order."""
    sets, _, rest = text.partition(f" {TIMES} ")
    assert sets.isdigit() and rest, text
    found: dict[str, int] = {}
    for part in rest.split(", "):
        for key, pattern in (
            ("reps", r"(\d+) reps?"),
            ("hold", r"hold (\d+) s each"),
            ("hold", r"(\d+) s hold"),
            ("minutes", r"(\d+) min"),
        ):
            match = re.fullmatch(pattern, part)
            if match:
                assert key not in found, text
                found[key] = int(match.group(1))
                break
        else:
            pytest.fail(f"unreadable dose part {part!r} in {text!r}")
    if "hold" in found and "each" in rest:
        assert "reps" in found, f"a hold 'each' without reps: {text!r}"
    return int(sets), found.get("reps"), found.get("hold"), found.get("minutes")


def prescribed(item: dict[str, Any]) -> Dose:
    return item["sets"], item.get("reps"), item.get("hold_seconds"), item.get("minutes")


def test_the_reader_refuses_a_dose_missing_its_hold() -> None:
    stretch = Prescribed("hamstring-stretch", "Hamstring stretch (lying)", 2, reps=2, hold_seconds=30)
    assert dose_text(stretch) == f"2 {TIMES} 2 reps, hold 30 s each"
    assert read_dose(dose_text(stretch)) == (2, 2, 30, None)
    assert read_dose(f"2 {TIMES} 2 reps") != (2, 2, 30, None)  # what the old template printed
    assert read_dose(dose_text(Prescribed("side-plank", "Side plank", 3, hold_seconds=20))) == (3, None, 20, None)
    assert read_dose(dose_text(Prescribed("walk", "Walk", 1, minutes=20))) == (1, None, None, 20)
    assert read_dose(dose_text(Prescribed("squat", "Squat", 1, reps=1))) == (1, 1, None, None)
    assert dose_text(Prescribed("squat", "Squat", 1, reps=1)) == f"1 {TIMES} 1 rep"


def _set_plan(session: Session, plan: Plan, template_id: str, level: int) -> None:
    session.rollback()
    fresh = session.get(Plan, plan.id)
    assert fresh is not None
    fresh.template_id, fresh.level = template_id, level
    session.add(fresh)
    session.commit()
    # The CSV follows the plan's decisions day by day: record this one like a clinician's change.
    add_decision(session, fresh, PlanAction.SET_LEVEL, NOW)


def test_every_template_level_and_exercise_reads_as_prescribed(
    web: TestClient, client: TestClient, app: FastAPI, session: Session, physio: User
) -> None:
    set_clock(app, session, NOW)
    patient = make_patient(session, app, physio, name="Dose check")
    plan = add_plan(session, patient, started_on=local_today(patient))
    log_in(web, physio)
    me, clinician = patient_auth(session, app, patient), auth(app, physio)
    checked = 0
    library = get_library()
    for template in library.templates.values():
        for level in template.levels:
            _set_plan(session, plan, template.id, level.number)
            api = client.get("/api/v1/me/plan", headers=me)
            assert api.status_code == 200, api.text
            body = api.json()
            assert (body["template_id"], body["level"]) == (template.id, level.number)
            items = body["prescription"]
            assert [i["exercise_id"] for i in items] == [
                p.exercise_id for p in library.prescription(template.id, level.number)
            ]

            page = web.get(f"/dashboard/patients/{patient.id}")
            assert page.status_code == 200
            shown = {eid: unescape(text) for eid, text in ROW.findall(page.text)}

            export = client.get(f"/api/v1/clinician/patients/{patient.id}/export.csv", headers=clinician)
            assert export.status_code == 200
            today = list(csv.DictReader(io.StringIO(export.text)))[-1]
            in_csv = dict(cell.split(": ", 1) for cell in today["prescription"].split("; "))

            fhir = client.get(f"/api/v1/clinician/patients/{patient.id}/export.fhir", headers=clinician)
            assert fhir.status_code == 200
            care_plan = next(
                e["resource"] for e in json.loads(fhir.text)["entry"] if e["resource"]["resourceType"] == "CarePlan"
            )
            in_fhir = {
                a["detail"]["code"]["coding"][0]["code"]: a["detail"]["description"]
                for a in care_plan["activity"]
                if a["detail"]["code"]["coding"][0]["code"] != "daily-walk"
            }

            where = f"{template.id} level {level.number}"
            assert list(shown) == list(in_csv) == list(in_fhir) == [i["exercise_id"] for i in items], where
            for item in items:
                eid = item["exercise_id"]
                assert read_dose(shown[eid]) == prescribed(item), f"{where} {eid}: dashboard {shown[eid]!r}"
                assert shown[eid] == in_csv[eid] == in_fhir[eid], f"{where} {eid}"
                checked += 1
    every = sum(len(library.prescription(t.id, lv.number)) for t in library.templates.values() for lv in t.levels)
    assert checked == every
    # The hold that was dropped before: the data still has exercises with both reps and a hold.
    assert any(
        p.reps is not None and p.hold_seconds is not None
        for t in library.templates.values()
        for lv in t.levels
        for p in library.prescription(t.id, lv.number)
    )
