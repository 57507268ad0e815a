"""The outcomes report use case, shared by ``GET /clinician/outcomes``, its CSV and the dashboard.

Who sees what: a clinician, the patients of their own care team (passing ``clinic_id`` is
a 422); an admin, the patients of the clinic named by ``clinic_id`` (required; an unknown
clinic is a 404). Every report is audited here (action ``read_outcomes``, ids and counts
only), whoever asked for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session

from api.audit import record_audit
from api.errors import Problem, field_error, not_found
from api.models import Clinic, Role, User
from api.outcomes.cohort import Member, care_teams, in_scope, load_cohort
from api.outcomes.schemas import GroupBy, OutcomeGroup, OutcomesReport
from api.rules.outcomes import MIN_CELL, tally
from api.rules.settings import RuleSettings
from api.rules.types import RiskGroup
from api.rules.version import RULESET_VERSION

NOT_SCREENED = "not_screened"
RISK_LABELS = {
    RiskGroup.LOW.value: "Low risk (STarT Back)",
    RiskGroup.MEDIUM.value: "Medium risk (STarT Back)",
    RiskGroup.HIGH.value: "High risk (STarT Back)",
    NOT_SCREENED: "Not screened",
}
UNASSIGNED = "unassigned"


def _check(user: User, first: date, last: date, clinic_id: int | None, session: Session) -> None:
    if first > last:
        raise field_error(["query", "from"], "must not be after `to`")
    if user.role == Role.ADMIN:
        if clinic_id is None:
            raise field_error(["query", "clinic_id"], "an administrator names the clinic to report on")
        if session.get(Clinic, clinic_id) is None:
            raise not_found("clinic")
    elif user.role == Role.CLINICIAN:
        if clinic_id is not None:
            raise field_error(["query", "clinic_id"], "a clinician's report covers their own patients: leave it out")
    else:
        raise Problem(403, "forbidden", "this endpoint is for clinicians and administrators")


def _groups(
    session: Session, members: Sequence[Member], group_by: GroupBy | None, rules: RuleSettings
) -> list[OutcomeGroup]:
    if group_by is None:
        return []
    if group_by == "risk_group":
        by_risk: dict[str, list[Member]] = defaultdict(list)
        for m in members:
            by_risk[m.risk_group or NOT_SCREENED].append(m)
        return [
            OutcomeGroup.of(key, label, tally([m.outcome for m in by_risk.get(key, [])], rules))
            for key, label in RISK_LABELS.items()
        ]
    # By clinician: a patient counts for every clinician of their care team (groups may overlap).
    teams = care_teams(session, [m.patient_id for m in members])
    by_clinician: dict[int, list[Member]] = defaultdict(list)
    names: dict[int, str] = {}
    unassigned: list[Member] = []
    for m in members:
        for clinician_id, name in teams.get(m.patient_id, []):
            by_clinician[clinician_id].append(m)
            names[clinician_id] = name
        if not teams.get(m.patient_id):
            unassigned.append(m)
    groups = [
        OutcomeGroup.of(str(cid), names[cid], tally([m.outcome for m in by_clinician[cid]], rules), clinician_id=cid)
        for cid in sorted(by_clinician, key=lambda c: (names[c].casefold(), c))
    ]
    if unassigned:
        groups.append(OutcomeGroup.of(UNASSIGNED, "No physiotherapist", tally([m.outcome for m in unassigned], rules)))
    return groups


def clinic_outcomes(
    session: Session,
    user: User,
    *,
    first: date,
    last: date,
    group_by: GroupBy | None,
    clinic_id: int | None,
    now: datetime,
    rules: RuleSettings,
    via: str,
) -> OutcomesReport:
    """The outcomes of the patients in the caller's scope whose programme day 1 is in
    [``first``, ``last``]; ``via`` names the entry point in the audit row."""
    _check(user, first, last, clinic_id, session)
    scope = in_scope(user.id if user.role == Role.CLINICIAN else None, clinic_id)
    members = load_cohort(session, scope, first, last, now, rules)
    report = OutcomesReport(
        from_=first,
        to=last,
        clinic_id=clinic_id,
        group_by=group_by,
        generated_at=now,
        min_cell_size=MIN_CELL,
        ruleset_version=RULESET_VERSION,
        overall=OutcomeGroup.of("all", "All patients", tally([m.outcome for m in members], rules)),
        groups=_groups(session, members, group_by, rules),
    )
    record_audit(
        session,
        at=now,
        action="read_outcomes",
        resource=via,
        actor=user,
        detail={
            "clinic_id": clinic_id,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "group_by": group_by,
            "cohort_size": len(members),
        },
    )
    return report
