"""The outcomes page: the same numbers as the API, "< 5" for small cells, the stacked bars,
the admin's clinic, bad input shown on the page, the CSV download, and the audit row."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AuditEvent
from tests.dashboard.conftest import LOGIN, form_token
from tests.dashboard.test_pages import assert_no_inline_code
from tests.factories import PASSWORD, auth
from tests.outcomes.cohort import FROM, TO, seed

PAGE = "/dashboard/outcomes"
PERIOD = {"from": FROM.isoformat(), "to": TO.isoformat()}


def _sign_in(web: TestClient, email: str) -> None:
    token = form_token(web.get(LOGIN).text)
    response = web.post(LOGIN, data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text


def _row(html: str, checkpoint: int, group: str) -> str:
    section = html[html.index(f'data-checkpoint="{checkpoint}"') :]
    start = section.index(f'data-group="{group}"')
    return section[start : section.index("</tr>", start)]


def test_the_physio_sees_the_report_with_small_cells_suppressed(
    web: TestClient, client: TestClient, app: FastAPI, session: Session
) -> None:
    cohort = seed(app, session)
    _sign_in(web, cohort.physio.email)
    page = web.get(PAGE, params={**PERIOD, "group_by": "risk_group"})
    assert page.status_code == 200, page.text
    html = page.text
    assert_no_inline_code(html)
    assert "12 patients started between Mon 1 Dec 2025 and Wed 31 Dec 2025" in html
    day14 = _row(html, 14, "all")
    assert re.search(r'data-class="improved">6 <span class="muted">\(50.0 %\)', day14)
    assert day14.count("&lt; 5") == 4  # the four other classifications
    assert "2.0 <span" in day14 and "IQR 1.0 to 2.57" in day14
    # The bar: improved at 50 %, the suppressed cells together, nothing else.
    assert re.findall(r'<rect class="seg-(\w+)" x="([\d.]+)" y="0" width="([\d.]+)"', day14) == [
        ("improved", "0.0", "50.0"),
        ("suppressed", "50.0", "50.0"),
    ]
    day84 = _row(html, 84, "all")
    assert re.findall(r'<rect class="seg-(\w+)"', day84) == ["minimal_pain", "insufficient_data", "suppressed"]  # P6
    assert 'data-class="minimal_pain">5 <span class="muted">(41.7 %)' in day84
    assert "&lt; 5" in _row(html, 14, "high")  # an empty group is "< 5" too, never 0
    api = client.get("/api/v1/clinician/outcomes", headers=auth(app, cohort.physio), params=PERIOD).json()
    assert api["overall"]["checkpoints"][0]["classifications"]["improved"]["count"] == 6
    odi = html[html.index('id="odi-head"') :]
    assert "8 <span" in odi and "7 <span" in odi and '5 <span class="muted">(71.4 %)' in odi
    assert "63.6 % <span" in odi  # median adherence 7/11

    csv = web.get(PAGE + ".csv", params={**PERIOD, "group_by": "risk_group"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    api_csv = client.get(
        "/api/v1/clinician/outcomes.csv", headers=auth(app, cohort.physio), params={**PERIOD, "group_by": "risk_group"}
    )
    assert csv.text == api_csv.text
    session.rollback()
    resources = session.exec(
        select(AuditEvent.resource).where(AuditEvent.action == "read_outcomes").order_by(col(AuditEvent.id))
    ).all()
    assert resources == ["dashboard/outcomes", "clinician/outcomes", "dashboard/outcomes.csv", "clinician/outcomes.csv"]


def test_the_admin_chooses_a_clinic(web: TestClient, app: FastAPI, session: Session) -> None:
    cohort = seed(app, session)
    _sign_in(web, cohort.admin.email)
    page = web.get(PAGE, params={**PERIOD, "clinic_id": str(cohort.clinic.id)})
    assert page.status_code == 200
    assert "13 patients started" in page.text
    assert f'<option value="{cohort.clinic.id}" selected>Riverside Physio</option>' in page.text
    unknown = web.get(PAGE, params={**PERIOD, "clinic_id": "999999"})
    assert unknown.status_code == 404 and "clinic not found" in unknown.text


def test_bad_input_is_explained_on_the_page(web: TestClient, app: FastAPI, session: Session) -> None:
    cohort = seed(app, session)
    _sign_in(web, cohort.physio.email)
    for params, words in [
        ({"from": "2025-12-31", "to": "2025-12-01"}, "from: must not be after `to`."),
        ({"from": "31/12/2025", "to": "2025-12-01"}, "From: enter a date as YYYY-MM-DD."),
        ({"from": "2025-02-30", "to": "2025-12-01"}, "From: enter a date as YYYY-MM-DD."),
        ({**PERIOD, "group_by": "age"}, "Group by: choose one of the options."),
    ]:
        response = web.get(PAGE, params=params)
        assert response.status_code == 422, params
        assert words in response.text.replace("&#96;", "`")
    session.rollback()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "read_outcomes")).first() is None


def test_the_page_needs_a_session(web: TestClient) -> None:
    for path in (PAGE, PAGE + ".csv"):
        response = web.get(path)
        assert response.status_code == 303 and response.headers["location"] == LOGIN
