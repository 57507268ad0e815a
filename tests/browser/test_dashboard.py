"""A physiotherapist's morning in a real browser: sign in, see the emergency first, open the
patient, read the pain chart, acknowledge and resolve the alert."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlmodel import Session, col, func, select

from api.db import make_engine
from api.models import Alert, AlertStatus, PainLog, Patient, User
from api.seed import CLINICIAN_PASSWORD, DEMO_DOMAIN
from tests.browser.conftest import LiveServer, save_screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, server: LiveServer, email: str) -> list[str]:
    """Signs in through the form; returns the list the page's console errors will land in."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if _is_error(message) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/dashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(CLINICIAN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your patients")).to_be_visible()
    return errors


def _is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"


def logged_days(server: LiveServer, name: str) -> int:
    engine = make_engine(server.settings)
    try:
        with Session(engine) as session:
            count = session.exec(
                select(func.count())
                .select_from(PainLog)
                .join(Patient, col(Patient.id) == PainLog.patient_id)
                .join(User, col(User.id) == Patient.user_id)
                .where(User.display_name == name)
            ).one()
    finally:
        engine.dispose()
    return int(count)


def alert_status(server: LiveServer, alert_id: int) -> str:
    engine = make_engine(server.settings)
    try:
        with Session(engine) as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            return alert.status
    finally:
        engine.dispose()


def test_the_emergency_is_first_and_can_be_dealt_with(page: Page, live_server: LiveServer) -> None:
    errors = sign_in(page, live_server, f"physio@{DEMO_DOMAIN}")

    rows = page.locator("table.triage tbody tr")
    expect(rows).to_have_count(10)
    first = rows.first
    expect(first.locator(".badge")).to_have_text("Emergency")
    expect(first.locator("a.patient-link")).to_have_text("Alex Turner")
    expect(rows.nth(1).locator(".badge")).to_have_text("Urgent today")
    save_screenshot(page, "dashboard-triage-list.png")

    first.locator("a.patient-link").click()
    expect(page.get_by_role("heading", name="Alex Turner", level=1)).to_be_visible()
    chart = page.locator("#pain-chart")
    expect(chart).to_have_attribute("data-ready", "true")
    expect(chart.locator("canvas")).to_have_count(1)
    points = page.evaluate("window.backstepChart.data[1].filter(v => v !== null).length")
    assert points == logged_days(live_server, "Alex Turner") == 21
    assert chart.get_attribute("data-points") == "21"
    sessions = page.evaluate("window.backstepChart.data[3].filter(v => v !== null).length")
    assert sessions > 0
    save_screenshot(page, "dashboard-patient.png")

    alert = page.locator("article.alert-emergency")
    expect(alert).to_have_count(1)
    alert_id = int(alert.get_attribute("data-alert-id") or 0)
    alert.get_by_label("Note (optional)").fill("Phoned Alex: going to A&E now.")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    assert alert_status(live_server, alert_id) == AlertStatus.ACKNOWLEDGED

    alert = page.locator(f'article[data-alert-id="{alert_id}"]')
    expect(alert.locator(".status")).to_have_text("Acknowledged")
    alert.get_by_role("button", name="Resolve").click()  # the browser refuses: the note is required
    assert alert_status(live_server, alert_id) == AlertStatus.ACKNOWLEDGED
    alert.get_by_label("What was done (required)").fill("Seen in A&E: MRI clear, no cauda equina compression.")
    alert.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("Alert resolved.")
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    assert alert_status(live_server, alert_id) == AlertStatus.RESOLVED
    page.get_by_text("Recently resolved").click()
    expect(page.get_by_text("Seen in A&E: MRI clear")).to_be_visible()
    save_screenshot(page, "dashboard-patient-resolved.png")

    assert errors == [], errors  # no CSP violation, no script error, no missing resource


def test_signing_out_ends_the_session(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, f"physio2@{DEMO_DOMAIN}")
    expect(page.locator("table.triage tbody tr").first.locator("a.patient-link")).to_have_text("Ruth Adeyemi")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/patients")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
