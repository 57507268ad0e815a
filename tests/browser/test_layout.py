"""What the physiotherapist can read, at a tablet's width (768 px) and a laptop's (1366 px):
every column of the triage list on screen (no horizontal clipping), every plan-history
entry in the page's own flow (no inner scroll box), the prescription with all its parts,
and words that do not contradict each other. Screenshots of each width are saved in
``test-artifacts/`` and were looked at when the layout was made."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, func, select

from api.db import make_engine
from api.exercises.dose import TIMES, dose_text
from api.models import Alert, Patient, Plan, PlanDecision, User
from api.rules.types import PlanAction, RuleCode, Tier
from api.rules.version import RULESET_VERSION
from api.seed import DEMO_DOMAIN
from api.standing.service import save_alerts
from exercise_library import get_library
from tests.browser.conftest import ARTIFACTS, LiveServer, save_screenshot
from tests.browser.test_dashboard import sign_in

pytestmark = pytest.mark.browser

WIDTHS = (768, 1366)
EXTRA_REVIEWS = 18  # weekly holds added to one patient: more than the API summary's 10


def _patient(session: Session, name: str) -> tuple[Patient, Plan]:
    patient = session.exec(
        select(Patient).join(User, col(User.id) == Patient.user_id).where(User.display_name == name)
    ).one()
    plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
    return patient, plan


@pytest.fixture(scope="module")
def clinic(live_server: LiveServer) -> LiveServer:
    """The demo clinic, plus half a year of weekly reviews for Jordan Lee and an open
    "pain persisting at 12 weeks" alert beside Emma Clarke's completed plan."""
    engine = make_engine(live_server.settings)
    try:
        with Session(engine) as session:
            jordan, plan = _patient(session, "Jordan Lee")
            first = session.exec(
                select(func.min(PlanDecision.decided_at)).where(PlanDecision.patient_id == jordan.id)
            ).one()
            assert first is not None and plan.id is not None and jordan.id is not None
            for week in range(1, EXTRA_REVIEWS + 1):
                session.add(
                    PlanDecision(
                        plan_id=plan.id,
                        patient_id=jordan.id,
                        action=PlanAction.HOLD,
                        template_id=plan.template_id,
                        from_level=1,
                        to_level=1,
                        from_status="active",
                        to_status="active",
                        reasons=[f"review {week}: adherence 60 % (below 80 %)", "weekly pain 4.0 → 4.0"],
                        ruleset_version=RULESET_VERSION,
                        actor_type="system",
                        decided_at=first.replace(tzinfo=UTC) - timedelta(days=7 * week),
                    )
                )
            emma, emma_plan = _patient(session, "Emma Clarke")
            assert emma.id is not None and emma_plan.status == "completed"
            session.add(
                Alert(
                    patient_id=emma.id,
                    rule=RuleCode.PERSISTENT_12W,
                    tier=Tier.ROUTINE,
                    occurrence_key=f"browser-{uuid.uuid4().hex[:8]}",
                    ruleset_version=RULESET_VERSION,
                    opened_at=datetime.now(UTC) - timedelta(hours=2),
                )
            )
            session.flush()
            save_alerts(session, {emma.id})  # as the alert services save the triage list's standing
            session.commit()
    finally:
        engine.dispose()
    return live_server


def decisions_of(server: LiveServer, name: str) -> int:
    engine = make_engine(server.settings)
    try:
        with Session(engine) as session:
            patient, _ = _patient(session, name)
            count = session.exec(
                select(func.count()).select_from(PlanDecision).where(PlanDecision.patient_id == patient.id)
            ).one()
    finally:
        engine.dispose()
    return int(count)


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def sized(browser: Browser, request: pytest.FixtureRequest) -> Iterator[tuple[Page, int]]:
    width = int(request.param)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    tab = context.new_page()
    yield tab, width
    context.close()


# Everything that might clip the triage table: the scrolling card around it, and every
# header and body cell against the viewport's right edge.
CLIPPING = """() => {
  const card = document.querySelector('.table-card');
  const width = document.documentElement.clientWidth;
  const out = [];
  if (card.scrollWidth > card.clientWidth) out.push(`card scrolls: ${card.scrollWidth} > ${card.clientWidth}`);
  if (document.documentElement.scrollWidth > width) out.push(`page scrolls: ${document.documentElement.scrollWidth}`);
  for (const cell of document.querySelectorAll('table.triage th, table.triage td')) {
    const box = cell.getBoundingClientRect();
    if (box.left < 0 || box.right > width + 0.5) out.push(`${cell.textContent.trim()}: ${box.left}-${box.right}`);
  }
  return out;
}"""

# An entry is hidden when an ancestor clips it: a box with its own scroll or hidden overflow
# whose content is taller (or wider) than the box.
INNER_SCROLL = """(selector) => {
  const out = [];
  for (let node = document.querySelector(selector); node && node !== document.body; node = node.parentElement) {
    const style = getComputedStyle(node);
    const clips = [style.overflowX, style.overflowY].some(v => v !== 'visible');
    if (clips && (node.scrollHeight > node.clientHeight + 1 || node.scrollWidth > node.clientWidth + 1)) {
      out.push(`${node.tagName}.${node.className}: ${node.scrollHeight} > ${node.clientHeight}`);
    }
  }
  return out;
}"""


def test_every_triage_column_is_on_screen(sized: tuple[Page, int], clinic: LiveServer) -> None:
    page, width = sized
    errors = sign_in(page, clinic, f"physio@{DEMO_DOMAIN}")
    headers = page.locator("table.triage thead th")
    expect(headers).to_have_count(9)
    expect(headers.last).to_have_text("Last pain log")
    save_screenshot(page, f"triage-{width}.png")
    assert page.evaluate(CLIPPING) == []
    for i in range(headers.count()):
        box = headers.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, headers.nth(i).inner_text()
    assert errors == [], errors


def test_the_list_says_the_change_and_the_plan_in_words_that_agree(sized: tuple[Page, int], clinic: LiveServer) -> None:
    page, _ = sized
    sign_in(page, clinic, f"physio@{DEMO_DOMAIN}")
    alex = page.locator("tr", has=page.get_by_role("link", name="Alex Turner"))
    expect(alex.locator("td.change")).to_have_text("1.9 better")
    dan = page.locator("tr", has=page.get_by_role("link", name="Dan O'Brien"))
    expect(dan.locator("td.change")).to_have_text("2.0 worse")
    # Registered yesterday, plan assigned today: nothing due yet, and the plan is active.
    max_row = page.locator("tr", has=page.get_by_role("link", name="Max Novak"))
    expect(max_row.locator("td.plan")).to_have_text("Level 1 · Active")
    expect(max_row.locator("td.exercise")).to_have_text("no sessions due")
    # Completed, but a "pain persisting at 12 weeks" alert is open: flagged, not celebrated.
    emma = page.locator("tr", has=page.get_by_role("link", name="Emma Clarke"))
    expect(emma.locator("td.plan .needs-review")).to_have_text(
        "Level 3 · Completed, needs review (open alert: Pain persisting at 12 weeks)"
    )
    expect(emma.locator("td.plan")).not_to_contain_text("maintenance")


def test_the_plan_history_is_there_in_full(sized: tuple[Page, int], clinic: LiveServer) -> None:
    page, width = sized
    errors = sign_in(page, clinic, f"physio@{DEMO_DOMAIN}")
    page.get_by_role("link", name="Jordan Lee").click()
    expect(page.get_by_role("heading", name="Jordan Lee", level=1)).to_be_visible()
    entries = page.locator("ol.timeline > li")
    expect(entries).to_have_count(decisions_of(clinic, "Jordan Lee"))
    assert entries.count() > 10 + EXTRA_REVIEWS // 2
    assert page.evaluate(INNER_SCROLL, "ol.timeline > li:last-child") == []
    for i in range(entries.count()):
        entry = entries.nth(i)
        entry.scroll_into_view_if_needed()
        expect(entry).to_be_in_viewport()
    expect(entries.last).to_contain_text("review 18: adherence 60 %")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    save_screenshot(page, f"patient-history-{width}.png")
    page.locator("#history").screenshot(path=str(ARTIFACTS / f"patient-history-top-{width}.png"))
    assert errors == [], errors


def test_the_prescription_has_every_part(sized: tuple[Page, int], clinic: LiveServer) -> None:
    page, width = sized
    sign_in(page, clinic, f"physio@{DEMO_DOMAIN}")
    page.get_by_role("link", name="Alex Turner").click()
    engine = make_engine(clinic.settings)
    try:
        with Session(engine) as session:
            _, plan = _patient(session, "Alex Turner")
    finally:
        engine.dispose()
    items = get_library().prescription(plan.template_id, plan.level)
    rows = page.locator("#plan tbody tr")
    expect(rows).to_have_count(len(items))
    for item in items:
        expect(page.locator(f'#plan tr[data-exercise-id="{item.exercise_id}"] td.dose')).to_have_text(dose_text(item))
    hamstring = page.locator('#plan tr[data-exercise-id="hamstring-stretch"] td.dose')
    expect(hamstring).to_have_text(f"2 {TIMES} 2 reps, hold 30 s each")
    save_screenshot(page, f"patient-{width}.png")
    page.locator("#plan").screenshot(path=str(ARTIFACTS / f"patient-plan-{width}.png"))
