"""The triage list: a clinician's care team, most urgent first, read from the current-state rows.

The order is ``api.rules.standing``'s (tier of the unresolved alerts; pain classification
of CLINICAL_RULES.md §3 as ``GET /me/progress`` computes it; days since the last pain log,
longest first; the patient id), and each patient's standing is stored as one
``patient_state`` row (``api.standing``), saved when what it derives from changes. A
page is one ordered read of the team's rows on the index of the ordering tuple, with the
keyset and the limit applied there: it does not rank the whole team again on every page.
Rows missing or not valid at ``now`` (the patient's local date moved and no sweep has
recomputed them yet, or a new patient) are recomputed first. Adherence is then computed
for the page's rows only, from two batched queries (``api.plans.adherence``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import literal
from sqlmodel import Session

from api.clinicians.schemas import OpenAlertCounts, PlanBrief, TriageRow
from api.models import CareTeamMember, Patient, Plan, User
from api.pagination import Keyset
from api.plans.adherence import PlanDays, adherence_over, pause_decisions, paused_days, sessions_by_day
from api.rules.settings import RuleSettings
from api.rules.standing import ALERT_TIERS, TIER_BY_RANK, not_improving_rules
from api.rules.types import Classification
from api.standing.service import COUNT_COLUMNS, TABLE, known_zone, refresh, stale_of_team

# Rows recomputed per statement batch when a page finds its team's rows out of date.
REFRESH_BATCH = 1000


@dataclass(frozen=True, slots=True)
class TriagePage:
    rows: list[TriageRow]
    next_cursor: str | None


def triage_page(
    session: Session,
    clinician_id: int,
    now: datetime,
    rules: RuleSettings,
    *,
    limit: int,
    cursor: str | None,
) -> TriagePage:
    """One page of the caller's care team in triage order (keyset on the ordering tuple)."""
    keyset = Keyset(cursor, limit, t=int, c=int, s=int, id=int)
    stale = stale_of_team(session, clinician_id, now)
    for i in range(0, len(stale), REFRESH_BATCH):
        refresh(session, stale[i : i + REFRESH_BATCH], now, rules)
    state = TABLE
    care: Any = CareTeamMember.__table__  # type: ignore[attr-defined]
    p: Any = Patient.__table__  # type: ignore[attr-defined]
    user: Any = User.__table__  # type: ignore[attr-defined]
    plan: Any = Plan.__table__  # type: ignore[attr-defined]
    key = (state.c.tier_rank, state.c.class_rank, state.c.silence_key, state.c.patient_id)
    query = (
        sa.select(
            state,
            user.c.display_name,
            p.c.timezone,
            p.c.last_log_on,
            plan.c.id.label("plan_id"),
            plan.c.level,
            plan.c.status,
            plan.c.sessions_per_week,
            plan.c.started_on.label("plan_started_on"),
        )
        .select_from(
            care.join(state, state.c.patient_id == care.c.patient_id)
            .join(p, p.c.id == care.c.patient_id)
            .join(user, user.c.id == p.c.user_id)
            .outerjoin(plan, plan.c.patient_id == care.c.patient_id)
        )
        .where(care.c.clinician_id == clinician_id)
        .order_by(*key)
        .limit(keyset.fetch)
    )
    if keyset.after is not None:
        after = tuple(keyset.after[name] for name in ("t", "c", "s", "id"))
        query = query.where(sa.tuple_(*key) > sa.tuple_(*(literal(v) for v in after)))
    rows, next_cursor = keyset.page(
        session.execute(query).mappings().all(),
        lambda edge: {
            "t": edge["tier_rank"],
            "c": edge["class_rank"],
            "s": edge["silence_key"],
            "id": edge["patient_id"],
        },
    )
    return TriagePage(_rows(session, rows), next_cursor)


def _rows(session: Session, rows: Sequence[sa.RowMapping]) -> list[TriageRow]:
    days: list[date] = [r["as_of"] for r in rows]
    ids = [r["patient_id"] for r in rows]
    sessions = sessions_by_day(session, ids, min(days) - timedelta(6), max(days)) if days else {}
    pauses = pause_decisions(session, [r["plan_id"] for r in rows if r["plan_id"] is not None])
    result = []
    for r in rows:
        today = r["as_of"]
        adherence = None
        if r["plan_id"] is not None:
            plan = PlanDays(r["plan_id"], r["plan_started_on"], r["sessions_per_week"])
            paused = paused_days(
                pauses.get(r["plan_id"], ()), ZoneInfo(known_zone(r["timezone"])), today - timedelta(6), today
            )
            adherence = adherence_over(plan, sessions.get(r["patient_id"], {}), paused, today, 7)
        result.append(
            TriageRow(
                patient_id=r["patient_id"],
                display_name=r["display_name"],
                priority=TIER_BY_RANK[r["tier_rank"]],
                open_alerts=OpenAlertCounts(
                    **{tier.value: int(r[name]) for tier, name in zip(ALERT_TIERS, COUNT_COLUMNS, strict=True)}
                ),
                pain_7d_mean=r["current_mean"],
                change_from_baseline=r["change"],
                classification=Classification(r["classification"]),
                adherence_7d=adherence,
                plan=PlanBrief(level=r["level"], status=r["status"]) if r["plan_id"] is not None else None,
                not_improving_alerts=not_improving_rules(r["not_improving"]),
                last_log_on=r["last_log_on"],
                days_since_last_log=None if r["last_log_on"] is None else -r["silence_key"],
                timezone=r["timezone"],
                today=today,
            )
        )
    return result
