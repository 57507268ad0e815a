"""The outcomes page in a real browser: a physiotherapist opens it from the top bar, the demo
clinic's report is drawn as stacked bars (inline SVG, no script, no CSP violation), the
admin picks the clinic and groups by risk; screenshots of both are saved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from api.seed import ADMIN_EMAIL, ADMIN_PASSWORD, CLINICIAN_PASSWORD, DEMO_DOMAIN
from tests.browser.conftest import LiveServer, save_screenshot
from tests.browser.test_dashboard import sign_in

pytestmark = pytest.mark.browser

PERIOD = "from=2026-01-01&to=2026-12-31"


def test_the_physio_opens_the_outcomes_page(page: Page, live_server: LiveServer) -> None:
    assert CLINICIAN_PASSWORD
    errors = sign_in(page, live_server, f"physio@{DEMO_DOMAIN}")
    page.get_by_role("link", name="Outcomes").click()
    expect(page.get_by_role("heading", name="Outcomes", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/outcomes?{PERIOD}&group_by=risk_group")
    day14 = page.locator('section[data-checkpoint="14"]')
    expect(day14.get_by_role("heading", name="Day 14")).to_be_visible()
    overall = day14.locator('tr[data-group="all"]')
    bar = overall.locator("svg.stacked-bar")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box is not None and box["width"] > 150 and box["height"] > 10
    segments = bar.locator("rect")
    assert segments.count() >= 1
    widths = [float(segments.nth(i).get_attribute("width") or 0) for i in range(segments.count())]
    assert abs(sum(widths) - 100) < 0.2  # the bar is the patients who reached day 14
    expect(page.locator('section[data-checkpoint="42"]')).to_be_visible()
    expect(page.locator('section[data-checkpoint="84"]')).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    save_screenshot(page, "dashboard-outcomes.png")
    assert errors == []


def test_the_admin_reports_on_the_clinic_by_risk_group(page: Page, live_server: LiveServer) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/dashboard")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Unassigned patients")).to_be_visible()
    page.get_by_role("link", name="Outcomes").click()
    page.get_by_label("Programme started from").fill("2026-01-01")
    page.get_by_label("to", exact=True).fill("2026-12-31")
    page.get_by_label("Group by").select_option("risk_group")
    page.get_by_role("button", name="Show").click()
    day14 = page.locator('section[data-checkpoint="14"]')
    for group in ("all", "low", "medium", "high", "not_screened"):
        expect(day14.locator(f'tr[data-group="{group}"] svg.stacked-bar')).to_be_visible()
    # The demo clinic shows every classification at day 14, none hidden as "< 5".
    overall = day14.locator('tr[data-group="all"] svg.stacked-bar rect')
    expect(overall).to_have_count(5)
    classes = [overall.nth(i).get_attribute("class") for i in range(5)]
    assert classes == [
        "seg-improved",
        "seg-no_meaningful_improvement",
        "seg-worsened",
        "seg-minimal_pain",
        "seg-insufficient_data",
    ]
    expect(day14.locator('tr[data-group="not_screened"]')).to_contain_text("< 5")
    save_screenshot(page, "dashboard-outcomes-admin.png")
    assert errors == []
