"""The triage list: a clinician's care team, most urgent first, computed in SQL.

Order (each step breaks ties of the one before):

1. the highest tier among the patient's unresolved (open or acknowledged) alerts:
   emergency, urgent same day, urgent within days, routine, none;
2. the pain classification of CLINICAL_RULES.md §3, exactly as ``GET /me/progress``
   computes it (``api.rules.windows.progress_summary``): worsened, then no meaningful
   improvement, then insufficient data (not enough logs to judge, or too early), then
   improved and minimal pain (equal: both are going well);
3. local days since the last pain log, longest first (a patient who never logged
   counts from the UTC date of registration);
4. the patient id, so the order is total and the keyset cursor exact.

The page costs a fixed number of statements whatever the size of the care team: the
distinct time zones of the team, then one query that joins each patient's local
"today" (computed in Python per zone, passed as a VALUES list) to two index range
scans of ``pain_log`` (baseline days 1-7 and the last 7 days), the unresolved alert
counts and the plan, classifies with integer arithmetic (exact, like the rules'
Fractions), ranks, and applies the keyset and the limit. Adherence is then computed
for the page's rows only, from two batched queries (``api.plans.adherence``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import structlog
from sqlalchemy import ColumnElement, and_, case, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlmodel import Session, col, select

from api.alerts.sqldates import add_days, days_between
from api.clinicians.schemas import OpenAlertCounts, PlanBrief, TriageRow
from api.clinicians.words import NOT_IMPROVING_RULES
from api.models import Alert, AlertStatus, CareTeamMember, PainLog, Patient, Plan, User
from api.pagination import Keyset
from api.plans.adherence import PlanDays, adherence_over, pause_decisions, paused_days, sessions_by_day
from api.rules._num import exact
from api.rules.settings import RuleSettings
from api.rules.types import Classification, Tier

_log = structlog.get_logger("api.clinicians.triage")

ALERT_TIERS = (Tier.EMERGENCY, Tier.URGENT_SAME_DAY, Tier.URGENT_DAYS, Tier.ROUTINE)
TIER_BY_RANK = (*ALERT_TIERS, Tier.NONE)
# Unresolved not-improving alerts are counted by rule in the same query (column names
# are fixed strings, never the codes themselves), so the row can name them.
NOT_IMPROVING = tuple((f"not_improving_{i}", code) for i, code in enumerate(NOT_IMPROVING_RULES))
CLASSIFICATION_RANK = {
    Classification.WORSENED: 0,
    Classification.NO_MEANINGFUL_IMPROVEMENT: 1,
    Classification.INSUFFICIENT_DATA: 2,
    Classification.IMPROVED: 3,
    Classification.MINIMAL_PAIN: 3,
}


@dataclass(frozen=True, slots=True)
class TriagePage:
    rows: list[TriageRow]
    next_cursor: str | None


def zone_today(timezone: str, now: datetime) -> date:
    try:
        return now.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):  # validated on the way in; never hide a patient
        _log.error("unknown_timezone", timezone=timezone)
        return now.astimezone(ZoneInfo("UTC")).date()


def _ratio(value: float) -> tuple[int, int]:
    fraction = exact(value)
    return fraction.numerator, fraction.denominator


def classification_sql(
    sb: Any, nb: Any, sc: Any, nc: Any, overlaps: ColumnElement[bool], rules: RuleSettings
) -> ColumnElement[str]:
    """``api.rules.windows.classify`` on window sums and counts, in integer arithmetic.

    With B = sb/nb, C = sc/nc and D = sb*nc - sc*nb (so Δ = B - C = D / (nb*nc)), every
    threshold p/q is compared cross-multiplied: exact, like the rules' Fractions.
    """
    min_p, min_q = _ratio(rules.minimal_pain_max)
    worse_p, worse_q = _ratio(rules.worsening_points)
    mic_p, mic_q = _ratio(rules.mic_points)
    floor_p, floor_q = _ratio(rules.mic_percent_floor_points)
    pct_p, pct_q = _ratio(rules.mic_percent)
    d = sb * nc - sc * nb
    valid = and_(nb >= rules.min_valid_days, nc >= rules.min_valid_days)
    return case(
        (or_(~valid, overlaps), literal(Classification.INSUFFICIENT_DATA.value)),
        (sc * min_q <= nc * min_p, literal(Classification.MINIMAL_PAIN.value)),
        (d * worse_q <= -(nb * nc * worse_p), literal(Classification.WORSENED.value)),
        (
            or_(
                d * mic_q >= nb * nc * mic_p,
                and_(d * floor_q >= nb * nc * floor_p, sb > 0, d * pct_q >= nc * sb * pct_p),
            ),
            literal(Classification.IMPROVED.value),
        ),
        else_=literal(Classification.NO_MEANINGFUL_IMPROVEMENT.value),
    )


def _team_zones(session: Session, clinician_id: int) -> list[str]:
    return list(
        session.exec(
            select(col(Patient.timezone))
            .join(CareTeamMember, col(CareTeamMember.patient_id) == col(Patient.id))
            .where(CareTeamMember.clinician_id == clinician_id)
            .distinct()
        ).all()
    )


def _ranked(clinician_id: int, zones: Sequence[str], now: datetime, rules: RuleSettings) -> sa.Subquery:
    span = rules.window_days - 1
    # One row per time zone of the team: its local today and the first day of the
    # current window. A UNION of constant rows (not VALUES) renders on both databases.
    zone_day = sa.union_all(
        *(
            sa.select(
                literal(tz, sa.String).label("timezone"),
                literal(today, sa.Date).label("today"),
                literal(today - timedelta(days=span), sa.Date).label("current_start"),
            )
            for tz, today in ((tz, zone_today(tz, now)) for tz in zones)
        )
    ).cte("zone_day")
    p, care, log = Patient.__table__, CareTeamMember.__table__, PainLog.__table__  # type: ignore[attr-defined]
    team = (
        sa.select(
            p.c.id,
            p.c.user_id,
            p.c.timezone,
            p.c.programme_started_on.label("start"),
            p.c.last_log_on,
            p.c.created_at,
            zone_day.c.today,
            zone_day.c.current_start,
        )
        .select_from(care.join(p, p.c.id == care.c.patient_id).join(zone_day, zone_day.c.timezone == p.c.timezone))
        .where(care.c.clinician_id == clinician_id)
        .cte("team")
    )

    def window(name: str, first: Any, last: Any) -> sa.CTE:
        return (
            sa.select(team.c.id.label("patient_id"), func.sum(log.c.back_pain).label("s"), func.count().label("n"))
            .select_from(
                team.join(
                    log,
                    and_(
                        log.c.patient_id == team.c.id,
                        log.c.log_date >= first,
                        log.c.log_date <= last,
                        log.c.log_date <= team.c.today,
                    ),
                )
            )
            .group_by(team.c.id)
            .cte(name)
        )

    baseline = window("baseline", team.c.start, add_days(team.c.start, span))
    current = window("current_window", team.c.current_start, team.c.today)
    alert = Alert.__table__  # type: ignore[attr-defined]
    counts = (
        sa.select(
            alert.c.patient_id,
            *(func.sum(case((alert.c.tier == tier.value, 1), else_=0)).label(tier.value) for tier in ALERT_TIERS),
            *(func.sum(case((alert.c.rule == code, 1), else_=0)).label(name) for name, code in NOT_IMPROVING),
        )
        .select_from(alert.join(team, team.c.id == alert.c.patient_id))
        .where(alert.c.status != AlertStatus.RESOLVED.value)
        .group_by(alert.c.patient_id)
        .cte("open_alerts")
    )
    plan, user = Plan.__table__, User.__table__  # type: ignore[attr-defined]
    sb, nb = func.coalesce(baseline.c.s, 0), func.coalesce(baseline.c.n, 0)
    sc, nc = func.coalesce(current.c.s, 0), func.coalesce(current.c.n, 0)
    tier_counts = [func.coalesce(counts.c[tier.value], 0) for tier in ALERT_TIERS]
    tier_rank = case(*((n > 0, rank) for rank, n in enumerate(tier_counts)), else_=len(ALERT_TIERS))
    classification = classification_sql(sb, nb, sc, nc, team.c.current_start <= add_days(team.c.start, span), rules)
    since = days_between(team.c.today, func.coalesce(team.c.last_log_on, _utc_date(team.c.created_at)))
    classified = (
        sa.select(
            team.c.id,
            user.c.display_name,
            team.c.timezone,
            team.c.today,
            team.c.last_log_on,
            sb.label("sb"),
            nb.label("nb"),
            sc.label("sc"),
            nc.label("nc"),
            *(n.label(tier.value) for n, tier in zip(tier_counts, ALERT_TIERS, strict=True)),
            *(func.coalesce(counts.c[name], 0).label(name) for name, _ in NOT_IMPROVING),
            plan.c.id.label("plan_id"),
            plan.c.level,
            plan.c.status,
            plan.c.sessions_per_week,
            plan.c.started_on.label("plan_started_on"),
            classification.label("classification"),
            tier_rank.label("tier_rank"),
            (-since).label("silence_key"),
        )
        .select_from(
            team.join(user, user.c.id == team.c.user_id)
            .outerjoin(baseline, baseline.c.patient_id == team.c.id)
            .outerjoin(current, current.c.patient_id == team.c.id)
            .outerjoin(counts, counts.c.patient_id == team.c.id)
            .outerjoin(plan, plan.c.patient_id == team.c.id)
        )
        .subquery("classified")
    )
    class_rank = case(
        *((classified.c.classification == c.value, rank) for c, rank in CLASSIFICATION_RANK.items()),
        else_=len(CLASSIFICATION_RANK),
    )
    return sa.select(classified, class_rank.label("class_rank")).subquery("ranked")


class _utc_date(FunctionElement[Any]):
    """The UTC calendar date of a timestamp (SQLite keeps UTC text; PostgreSQL a timestamptz)."""

    type = sa.Date()
    inherit_cache = True


@compiles(_utc_date, "postgresql")
def _utc_date_pg(element: _utc_date, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(({compiler.process(value, **kw)} AT TIME ZONE 'UTC') AS DATE)"


@compiles(_utc_date, "sqlite")
def _utc_date_sqlite(element: _utc_date, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


def _mean(total: int, count: int, rules: RuleSettings) -> Fraction | None:
    return Fraction(total, count) if count >= rules.min_valid_days else None


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
    zones = _team_zones(session, clinician_id)
    if not zones:
        return TriagePage([], None)
    ranked = _ranked(clinician_id, zones, now, rules)
    key = (ranked.c.tier_rank, ranked.c.class_rank, ranked.c.silence_key, ranked.c.id)
    query = sa.select(ranked).order_by(*key).limit(keyset.fetch)
    if keyset.after is not None:
        after = tuple(keyset.after[name] for name in ("t", "c", "s", "id"))
        query = query.where(sa.tuple_(*key) > sa.tuple_(*(literal(v) for v in after)))
    rows, next_cursor = keyset.page(
        session.execute(query).mappings().all(),
        lambda edge: {"t": edge["tier_rank"], "c": edge["class_rank"], "s": edge["silence_key"], "id": edge["id"]},
    )
    return TriagePage(_rows(session, rows, rules), next_cursor)


def _rows(session: Session, rows: Sequence[sa.RowMapping], rules: RuleSettings) -> list[TriageRow]:
    days: list[date] = [r["today"] for r in rows]
    sessions = sessions_by_day(session, [r["id"] for r in rows], min(days) - timedelta(6), max(days)) if days else {}
    pauses = pause_decisions(session, [r["plan_id"] for r in rows if r["plan_id"] is not None])
    result = []
    for r in rows:
        baseline, current = _mean(r["sb"], r["nb"], rules), _mean(r["sc"], r["nc"], rules)
        adherence = None
        if r["plan_id"] is not None:
            plan = PlanDays(r["plan_id"], r["plan_started_on"], r["sessions_per_week"])
            today = r["today"]
            paused = paused_days(pauses.get(r["plan_id"], ()), ZoneInfo(r["timezone"]), today - timedelta(6), today)
            adherence = adherence_over(plan, sessions.get(r["id"], {}), paused, today, 7)
        silent = None if r["last_log_on"] is None else -r["silence_key"]
        result.append(
            TriageRow(
                patient_id=r["id"],
                display_name=r["display_name"],
                priority=TIER_BY_RANK[r["tier_rank"]],
                open_alerts=OpenAlertCounts(**{tier.value: int(r[tier.value]) for tier in ALERT_TIERS}),
                pain_7d_mean=None if current is None else float(current),
                change_from_baseline=None if baseline is None or current is None else float(baseline - current),
                classification=Classification(r["classification"]),
                adherence_7d=adherence,
                plan=PlanBrief(level=r["level"], status=r["status"]) if r["plan_id"] is not None else None,
                not_improving_alerts=[code for name, code in NOT_IMPROVING if r[name]],
                last_log_on=r["last_log_on"],
                days_since_last_log=silent,
                timezone=r["timezone"],
                today=r["today"],
            )
        )
    return result
