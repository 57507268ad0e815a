"""Messaging in a real browser: a patient's message shows as unread on the triage list, the
physiotherapist opens the conversation and replies through the form, and the patient's app
reads the reply."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from api.seed import DEMO_DOMAIN, PATIENT_PASSWORD
from tests.browser.conftest import LiveServer, save_screenshot
from tests.browser.test_dashboard import sign_in

pytestmark = pytest.mark.browser


def test_a_message_is_seen_and_answered(page: Page, live_server: LiveServer) -> None:
    api = page.request
    login = api.post(
        f"{live_server.url}/api/v1/auth/login",
        data={"email": f"maria@{DEMO_DOMAIN}", "password": PATIENT_PASSWORD},
    )
    assert login.ok, login.text()
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    sent = api.post(
        f"{live_server.url}/api/v1/me/messages",
        data={"body": "Should I still do the walks while my leg feels weak?", "client_id": str(uuid.uuid4())},
        headers=bearer,
    )
    assert sent.status == 201, sent.text()
    assert "not monitored for emergencies" in sent.json()["safety"]["statement"]

    errors = sign_in(page, live_server, f"physio@{DEMO_DOMAIN}")
    row = page.locator("table.triage tbody tr", has_text="Maria Santos")
    expect(row.locator(".unread")).to_have_text("1 unread message")
    save_screenshot(page, "dashboard-triage-unread-messages.png")

    row.locator("a.patient-link").click()
    conversation = page.locator("#messages")
    expect(conversation.locator(".message-patient")).to_have_count(1)
    expect(conversation.locator(".message-patient .badge-new")).to_have_text("New")
    expect(conversation).to_contain_text("Should I still do the walks while my leg feels weak?")
    expect(conversation).to_contain_text("not monitored for emergencies")
    conversation.get_by_label("Reply to Maria Santos").fill(
        "Keep the walks short and use the symptom checklist if it gets worse."
    )
    conversation.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status")).to_contain_text("Message sent.")
    expect(page.locator("#messages .message-clinician")).to_contain_text("Keep the walks short")
    save_screenshot(page, "dashboard-patient-messages.png")

    page.goto(f"{live_server.url}/dashboard/patients")
    expect(page.locator("table.triage tbody tr", has_text="Maria Santos").locator(".unread")).to_have_count(0)

    mine = api.get(f"{live_server.url}/api/v1/me/messages", headers=bearer).json()
    assert [m["author_role"] for m in mine["items"]] == ["clinician", "patient"]
    assert mine["items"][1]["read_at"] is not None and mine["unread_messages"] == 1
    assert errors == [], errors
