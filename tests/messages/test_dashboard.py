"""The dashboard: unread counts on the triage list, the conversation and its reply form on the patient page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AuditEvent, Message, Notification, NotificationKind
from tests.dashboard.conftest import form_token, log_in
from tests.messages.helpers import ME, Team, counts, make_team, new_message


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


@pytest.fixture
def team(app: FastAPI, session: Session) -> Team:
    return make_team(app, session)


def _client_id(html: str) -> str:
    match = re.search(r'name="client_id" value="([^"]+)"', html)
    assert match, "no client_id in the reply form"
    return match.group(1)


def test_unread_counts_then_the_conversation_and_a_reply(
    client: TestClient, web: TestClient, session: Session, team: Team
) -> None:
    for text in ("<script>alert(1)</script> my back", "and my leg"):
        assert client.post(ME, json=new_message(text), headers=team.patient_headers).status_code == 201
    log_in(web, team.clinician)
    listing = web.get("/dashboard/patients").text
    assert "2 unread messages" in listing
    assert listing.count("unread message") == 1  # the other patient has none

    url = f"/dashboard/patients/{team.patient.id}"
    page = web.get(url).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my back" in page and "<script>alert(1)" not in page
    assert page.count('class="badge badge-new"') == 2  # new on this rendering...
    assert "not monitored for emergencies" in page
    assert "unread message" not in web.get("/dashboard/patients").text  # ...and read once shown
    session.rollback()
    assert session.exec(select(Message).where(col(Message.read_at).is_(None))).all() == []

    page = web.get(url).text
    token, client_id = form_token(page), _client_id(page)
    before = counts(session)
    forged = web.post(f"{url}/messages", data={"body": "Hello", "client_id": client_id, "csrf_token": "forged"})
    assert forged.status_code == 403
    blank = web.post(f"{url}/messages", data={"body": "   ", "client_id": client_id, "csrf_token": token})
    assert blank.status_code == 422 and "Write a message first." in blank.text
    assert counts(session)["Message"] == before["Message"]

    reply = {"body": "Keep the walks short this week.", "client_id": client_id, "csrf_token": token}
    sent = web.post(f"{url}/messages", data=reply)
    assert sent.status_code == 303 and sent.headers["location"].endswith("?done=message#messages")
    assert web.post(f"{url}/messages", data=reply).status_code == 303  # a double submit is a replay
    session.rollback()
    stored = session.exec(select(Message).where(Message.author_role == "clinician")).all()
    assert [m.body for m in stored] == ["Keep the walks short this week."]
    pushed = session.exec(select(Notification).where(Notification.kind == NotificationKind.MESSAGE)).all()
    assert [n.user_id for n in pushed if n.user_id == team.patient.user_id] == [team.patient.user_id]
    audited = session.exec(select(AuditEvent).where(col(AuditEvent.resource).startswith("message/"))).all()
    assert [(e.actor_id, e.action) for e in audited][-1] == (team.clinician.id, "create")
    assert "Keep the walks short this week." in web.get(url).text
    mine = client.get(ME, headers=team.patient_headers).json()
    assert mine["items"][0]["author_name"] == "Sam Okafor" and mine["unread_messages"] == 1


def test_the_reply_form_only_reaches_the_care_team(web: TestClient, session: Session, team: Team) -> None:
    token = log_in(web, team.outsider)
    url = f"/dashboard/patients/{team.patient.id}"
    assert web.get(url).status_code == 404
    refused = web.post(
        f"{url}/messages", data={"body": "Hi", "client_id": new_message()["client_id"], "csrf_token": token}
    )
    assert refused.status_code == 404
    session.rollback()
    assert session.exec(select(Message)).all() == []
