"""The triage list and patient pages, and the actions on them, through the dashboard's forms."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html import unescape

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import Alert, AlertStatus, AuditEvent, Invite, PainLog, Plan, User
from api.rules.types import RuleCode, Tier
from tests.clinicians.conftest import PAINS, Followed
from tests.clinicians.helpers import add_alert, add_logs, series, set_clock
from tests.dashboard.conftest import log_in
from tests.factories import make_patient

XSS = "<script>alert(1)</script>"


def patient_url(followed: Followed) -> str:
    return f"/dashboard/patients/{followed.patient.id}"


def assert_no_inline_code(html: str) -> None:
    """CSP forbids inline script and style: the pages must not need them."""
    for attributes in re.findall(r"<script([^>]*)>", html):
        assert 'src="/dashboard/static/' in attributes or 'type="application/json"' in attributes, attributes
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_the_list_is_in_triage_order_with_tier_words(
    web: TestClient, followed: Followed, app: FastAPI, session: Session
) -> None:
    emergency = make_patient(session, app, followed.clinician, name=XSS)
    add_alert(session, emergency, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY, now=followed.now)
    log_in(web, followed.clinician)
    page = web.get("/dashboard/patients")
    assert page.status_code == 200
    html = page.text
    ids = [int(i) for i in re.findall(r'data-patient-id="(\d+)"', html)]
    assert ids == [emergency.id, followed.patient.id, followed.other_patient.id]
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    rows = html.split('data-patient-id="')[1:]
    assert "Emergency" in rows[0] and "Urgent today" in rows[1] and "No open alerts" in rows[2]
    assert "1 urgent today, 1 routine review" in rows[1]
    assert "Improving" in rows[1]  # week 1 at 6, the last 7 days at 4.1
    assert "today" in rows[1]  # the last log
    assert_no_inline_code(html)
    session.rollback()
    listed = session.exec(select(AuditEvent.patient_id).where(AuditEvent.resource == "dashboard/patients")).all()
    assert sorted(i or 0 for i in listed) == sorted(ids * 2)  # log_in viewed the list once already


def test_an_empty_care_team_says_so(web: TestClient, physio: User) -> None:
    log_in(web, physio)
    html = web.get("/dashboard/patients").text
    assert "No patients yet" in html and "invite code" in html


def test_the_patient_page_shows_the_programme(
    web: TestClient, followed: Followed, app: FastAPI, session: Session
) -> None:
    log_in(web, followed.clinician)
    page = web.get(patient_url(followed))
    assert page.status_code == 200
    html = page.text
    assert "<h1>Camille</h1>" in html and "Europe/Paris" in html and "Programme day 16" in html
    for words in ("Red flag: needs a GP today", "STarT Back medium risk", "Acknowledge", "Resolve", "Paused",
                  "Graded exercise", "Plan history", "Exercise by week", "Screenings", "Recent pain logs",
                  "Download CSV", "Download FHIR"):  # fmt: skip
        assert words in html, words
    assert_no_inline_code(html)
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert block is not None
    data = json.loads(unescape(block.group(1)))
    assert data["timezone"] == "Europe/Paris"
    assert [v for v in data["back"] if v is not None] == PAINS
    assert len(data["days"]) == len(PAINS) and sum(1 for v in data["sessions"] if v) == 7
    assert [c["action"] for c in data["changes"]][-1] == "pause"
    session.rollback()
    read = session.exec(
        select(AuditEvent).where(AuditEvent.resource == f"dashboard/patient/{followed.patient.id}")
    ).one()
    assert read.actor_id == followed.clinician.id and read.patient_id == followed.patient.id and read.request_id


def test_patient_text_is_escaped_everywhere(
    web: TestClient, followed: Followed, app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app, followed.clinician, name=XSS)
    add_logs(session, patient, series(followed.last_day, [4]), now=followed.now)
    session.rollback()
    stored = session.exec(select(PainLog).where(PainLog.patient_id == patient.id)).one()
    stored.note = '</script><script>alert("note")</script>'
    session.add(stored)
    session.commit()
    log_in(web, followed.clinician)
    html = web.get(f"/dashboard/patients/{patient.id}").text
    assert XSS not in html and "<script>alert(" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_no_inline_code(html)


def test_acknowledge_then_resolve_an_alert(web: TestClient, followed: Followed, session: Session) -> None:
    token = log_in(web, followed.clinician)
    session.rollback()
    alert = session.exec(select(Alert).where(Alert.rule == RuleCode.RED_FLAG_URGENT_SAME_DAY)).one()
    base = f"{patient_url(followed)}/alerts/{alert.id}"

    forged = web.post(f"{base}/acknowledge", data={"note": "x", "csrf_token": "forged"})
    assert forged.status_code == 403 and "expired" in forged.text
    missing = web.post(f"{base}/acknowledge", data={"note": "x"})
    assert missing.status_code == 403

    done = web.post(f"{base}/acknowledge", data={"note": "Phoned: GP today", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=acknowledged#alerts")
    assert "Alert acknowledged." in web.get(done.headers["location"]).text
    session.rollback()
    session.refresh(alert)
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == followed.clinician.id
    assert alert.acknowledge_note == "Phoned: GP today"

    again = web.post(f"{base}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409 and "already acknowledged" in again.text

    blank = web.post(f"{base}/resolve", data={"note": "   ", "csrf_token": token})
    assert blank.status_code == 422 and "write a note" in blank.text
    session.rollback()
    session.refresh(alert)
    assert alert.status == AlertStatus.ACKNOWLEDGED

    resolved = web.post(f"{base}/resolve", data={"note": "Seen by GP: no cauda equina signs", "csrf_token": token})
    assert resolved.status_code == 303
    session.rollback()
    session.refresh(alert)
    assert alert.status == AlertStatus.RESOLVED and alert.resolution_note == "Seen by GP: no cauda equina signs"
    html = web.get(patient_url(followed)).text
    assert "Recently resolved (1)" in html and "Seen by GP: no cauda equina signs" in html
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.patient_id == followed.patient.id)).all()
    assert "acknowledge_alert" in actions and "resolve_alert" in actions


def test_alert_forms_only_reach_the_patients_own_alerts(
    web: TestClient, followed: Followed, app: FastAPI, session: Session
) -> None:
    token = log_in(web, followed.clinician)
    other = add_alert(session, followed.other_patient, RuleCode.SILENT, Tier.ROUTINE, now=followed.now)
    wrong_page = web.post(f"{patient_url(followed)}/alerts/{other.id}/acknowledge", data={"csrf_token": token})
    assert wrong_page.status_code == 404
    outsider_patient = make_patient(session, app, followed.outsider)
    foreign = add_alert(session, outsider_patient, RuleCode.SILENT, Tier.ROUTINE, now=followed.now)
    url = f"/dashboard/patients/{outsider_patient.id}"
    assert web.get(url).status_code == 404
    assert web.post(f"{url}/alerts/{foreign.id}/resolve", data={"note": "x", "csrf_token": token}).status_code == 404
    assert web.post(f"{url}/plan", data={"action": "pause", "reason": "x", "csrf_token": token}).status_code == 404
    assert web.get(f"{url}/export.csv").status_code == 404
    session.rollback()
    session.refresh(foreign)
    assert foreign.status == AlertStatus.OPEN


def test_the_plan_form_overrides_the_plan(web: TestClient, followed: Followed, session: Session) -> None:
    token = log_in(web, followed.clinician)
    url = f"{patient_url(followed)}/plan"
    resumed = web.post(
        url, data={"action": "resume", "reason": "GP saw the patient: safe to exercise", "csrf_token": token}
    )
    assert resumed.status_code == 303 and resumed.headers["location"].endswith("?done=plan#plan")
    session.rollback()
    plan = session.exec(select(Plan).where(col(Plan.patient_id) == followed.patient.id)).one()
    assert plan.status == "active"

    moved = web.post(
        url,
        data={"action": "set_level", "level": "3", "reason": "Coping well", "template_id": "x", "csrf_token": token},
    )
    assert moved.status_code == 303
    session.rollback()
    session.refresh(plan)
    assert plan.level == 3

    too_high = web.post(url, data={"action": "set_level", "level": "99", "reason": "x", "csrf_token": token})
    assert too_high.status_code == 422 and "level must be between 1 and" in too_high.text
    no_reason = web.post(url, data={"action": "pause", "reason": "", "csrf_token": token})
    assert no_reason.status_code == 422 and "A reason is always required" in no_reason.text
    not_a_number = web.post(url, data={"action": "set_level", "level": "two", "reason": "x", "csrf_token": token})
    assert not_a_number.status_code == 422 and "whole number" in not_a_number.text
    forged = web.post(url, data={"action": "pause", "reason": "x", "csrf_token": "nope"})
    assert forged.status_code == 403
    session.rollback()
    session.refresh(plan)
    assert (plan.level, plan.status) == (3, "active")


def test_exports_download_from_the_page(web: TestClient, followed: Followed, session: Session) -> None:
    log_in(web, followed.clinician)
    response = web.get(f"{patient_url(followed)}/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    assert len(list(csv.DictReader(io.StringIO(response.text)))) == len(PAINS)
    fhir = web.get(f"{patient_url(followed)}/export.fhir")
    assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    session.rollback()
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()) == 2


def test_a_tampered_cursor_starts_the_list_again(web: TestClient, followed: Followed) -> None:
    log_in(web, followed.clinician)
    response = web.get("/dashboard/patients", params={"cursor": "not-a-cursor"})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/patients"


def test_the_clock_moves_the_patients_today(
    web: TestClient, followed: Followed, app: FastAPI, session: Session
) -> None:

    set_clock(app, session, followed.now + timedelta(days=3))
    log_in(web, followed.clinician)
    html = web.get(patient_url(followed)).text
    assert "3 days ago" in html  # the last log, in the patient's own dates


def test_a_physiotherapist_creates_an_invite_code(web: TestClient, session: Session, physio: User) -> None:
    token = log_in(web, physio)
    assert web.post("/dashboard/invites", data={"csrf_token": "forged"}).status_code == 403
    response = web.post("/dashboard/invites", data={"csrf_token": token})
    assert response.status_code == 200
    code = re.search(r'<strong class="code">([A-Z0-9]{5}-[A-Z0-9]{5})</strong>', response.text)
    assert code is not None
    session.rollback()
    invite = session.exec(select(Invite).where(Invite.clinician_id == physio.id)).one()
    assert invite.code == code.group(1).replace("-", "")
