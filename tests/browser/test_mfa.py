"""Two-step sign-in in a real browser, where the clinic requires it: a physiotherapist enrols
with the QR code page, signs out, and signs in again with password and app code."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Page, expect

from api.seed import CLINICIAN_PASSWORD, DEMO_DOMAIN
from tests.browser.conftest import LiveServer, save_screenshot, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mfa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory, mfa_required_for_staff=True) as server:
        yield server


def password(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/dashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(CLINICIAN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_enrol_sign_out_and_sign_in_with_a_code(page: Page, mfa_server: LiveServer) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    password(page, mfa_server, f"physio@{DEMO_DOMAIN}")

    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 200 and box["height"] >= 200
    save_screenshot(page, "dashboard-mfa-enrol.png")
    totp = pyotp.TOTP("".join(page.locator("code.secret").inner_text().split()))
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on and sign in").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    save_screenshot(page, "dashboard-mfa-recovery-codes.png")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("heading", name="Your patients")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    password(page, mfa_server, f"physio@{DEMO_DOMAIN}")
    expect(page.get_by_role("heading", name="Authentication code")).to_be_visible()
    save_screenshot(page, "dashboard-mfa-code.png")
    # The enrolment spent this time step's code; the phone's next one is already accepted
    # (one step of drift), so the test need not wait for the clock.
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Your patients")).to_be_visible()
    expect(page.locator("table.triage tbody tr")).to_have_count(10)
    save_screenshot(page, "dashboard-mfa-triage-list.png")
    assert errors == []
