"""``backstep seed-demo`` on a scratch database: every tier, rule and plan decision is there.

One test (the seed replays some 750 patient-days through the services): seeded once, checked
in the database, then through the API a physiotherapist uses.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.config import Settings
from api.models import Alert, AlertStatus, CareTeamMember, Patient, PlanDecision, User
from api.rules.types import PlanAction, RuleCode, Tier
from api.seed import ADMIN_EMAIL, ADMIN_PASSWORD, CLINICIAN_PASSWORD, DEMO_DOMAIN, demo_logins, seed_demo


def test_the_demo_clinic_shows_every_rule(settings: Settings, client: TestClient, session: Session) -> None:
    output = list(seed_demo(settings))
    assert output[0] == "demo clinic created"
    assert any(ADMIN_EMAIL in line for line in output)

    patients = session.exec(select(Patient)).all()
    assert len(patients) == 36
    assert len({p.timezone for p in patients}) >= 5
    teams = session.exec(
        select(CareTeamMember.clinician_id, func.count()).group_by(col(CareTeamMember.clinician_id))
    ).all()
    assert sorted(n for _, n in teams) == [10, 10, 16]

    alerts = session.exec(select(Alert)).all()
    assert {a.rule for a in alerts} == {str(code) for code in RuleCode}
    unresolved = {a.tier for a in alerts if a.status != AlertStatus.RESOLVED}
    assert unresolved == {str(t) for t in Tier} - {str(Tier.NONE)}
    assert {a.status for a in alerts} == {str(s) for s in AlertStatus}
    by_rule = {(a.rule, a.tier) for a in alerts}
    assert (RuleCode.NO_IMPROVEMENT_4W, Tier.URGENT_DAYS) in by_rule  # the 58-year-old at day 28

    actions = set(session.exec(select(PlanDecision.action)).all())
    assert actions == {str(a) for a in PlanAction}
    by_clinician = session.exec(select(PlanDecision).where(PlanDecision.actor_type == "clinician")).all()
    assert {d.action for d in by_clinician} >= {PlanAction.RESUME, PlanAction.SET_LEVEL}

    # Idempotent: a second run creates nothing and prints the logins again.
    again = list(seed_demo(settings))
    assert again[0] == "demo clinic already present"
    session.rollback()
    assert len(session.exec(select(Patient)).all()) == 36
    assert len(demo_logins()) == 40 and all(login.email.endswith(DEMO_DOMAIN) for login in demo_logins())

    # The first physiotherapist's triage list opens on the emergency, then the urgent ones.
    session.rollback()
    login = client.post("/api/v1/auth/login", json={"email": f"physio@{DEMO_DOMAIN}", "password": CLINICIAN_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    rows = client.get("/api/v1/clinician/patients", headers=headers).json()["items"]
    assert len(rows) == 10
    assert rows[0]["display_name"] == "Alex Turner" and rows[0]["priority"] == "emergency"
    assert [r["priority"] for r in rows[:3]] == ["emergency", "urgent_same_day", "urgent_days"]
    classifications = {r["classification"] for r in rows}
    assert {"improved", "worsened", "no_meaningful_improvement", "minimal_pain"} <= classifications
    emails = session.exec(select(User.email).where(col(User.email).endswith(DEMO_DOMAIN))).all()
    assert len(emails) == 40

    # The clinic's outcomes page shows every classification at day 14 (5 patients or more each).
    admin = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    clinic_id = session.exec(select(Patient.clinic_id)).first()
    report = client.get(
        "/api/v1/clinician/outcomes",
        headers={"Authorization": f"Bearer {admin['access_token']}"},
        params={"from": "2000-01-01", "to": "2100-12-31", "clinic_id": clinic_id},
    ).json()
    day14 = report["overall"]["checkpoints"][0]["classifications"]
    assert all(not cell["suppressed"] and cell["count"] >= 5 for cell in day14.values()), day14
