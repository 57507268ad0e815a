"""Opening alerts: deduplicated by the database, escalated to the care team at once.

One unresolved alert per patient and rule (partial unique index) and one row per
occurrence (``UNIQUE(patient_id, rule, occurrence_key)``), so retried requests, synced
batches, the sweep and concurrent writers never open duplicates, and an occurrence a
clinician resolved is not raised again by re-evaluating the same data.

When a rule fires again while its alert is unresolved:

- with a higher tier (``no_improvement_4w`` routine → ``urgent_days`` once the profile
  says 50+ or cancer history): the alert is escalated to that tier with the new
  evidence (the previous evidence is kept under ``escalations``), reopened if it was
  acknowledged, and the care team is told as for a new alert of that tier;
- with a new occurrence (another key, e.g. the red flag reported again on another day):
  the occurrence is recorded under ``recurrences``; an acknowledged emergency or
  urgent-same-day alert is reopened (a new report needs a fresh acknowledgement, and
  re-notification runs again until it gets one) and the care team is told;
- with the same occurrence (a retry, a re-evaluation): nothing changes.

The care team hears at once about emergency and urgent-same-day alerts (safety
messages) and urgent-within-days alerts; routine alerts wait on the dashboard.
Lock order: callers lock the patient row (the capture API does, by updating it) before
alert rows; alert rows are read ``FOR UPDATE`` so concurrent changes serialise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum, auto
from typing import Any

import structlog
from sqlmodel import Session, col, select

from api.alerts.notify import NOTIFIED_TIERS, URGENT_TIERS, notify_care_team, notify_if_due, notify_opened
from api.audit import record_audit
from api.models import Alert, AlertStatus, AuditEvent
from api.request_context import current_request_id
from api.rules.types import AlertSpec, Tier
from api.standing.service import save_alerts
from api.upsert import insert_rows

MAX_RECURRENCES = 50
MAX_KEY_LENGTH = 120
_log = structlog.get_logger("api.alerts")


class RaiseEvent(StrEnum):
    """What raising one alert spec did."""

    OPENED = auto()
    ESCALATED = auto()  # higher tier on the unresolved alert
    REOPENED = auto()  # new occurrence of an acknowledged urgent alert
    RECURRED = auto()  # new occurrence recorded on the unresolved alert
    UNCHANGED = auto()  # the same occurrence again
    RESOLVED_BEFORE = auto()  # this occurrence was resolved by a clinician: not raised


@dataclass(frozen=True, slots=True)
class Raised:
    patient_id: int
    spec: AlertSpec
    alert: Alert | None
    event: RaiseEvent

    @property
    def is_news(self) -> bool:
        """True when this raise changed what the care team must act on."""
        return self.event in (RaiseEvent.OPENED, RaiseEvent.ESCALATED, RaiseEvent.REOPENED)


def stored_key(spec: AlertSpec) -> str:
    """The occurrence key as stored: long keys (many symptoms at once) become a stable digest.

    The column holds 200 characters; a key listing every symptom would not fit, and a
    failed insert must never cost a patient their safety advice.
    """
    if len(spec.key) <= MAX_KEY_LENGTH:
        return spec.key
    digest = hashlib.sha256(spec.key.encode()).hexdigest()[:24]
    return f"{spec.key[: MAX_KEY_LENGTH - 26]}~{digest}"


def open_alert_for(session: Session, patient_id: int, rule: str, *, lock: bool = False) -> Alert | None:
    """The patient's unresolved alert for ``rule``, if any (row-locked when ``lock``)."""
    query = select(Alert).where(
        Alert.patient_id == patient_id, Alert.rule == rule, col(Alert.status) != AlertStatus.RESOLVED
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.exec(query).first()


def raise_alert(session: Session, patient_id: int, spec: AlertSpec, now: datetime) -> Alert | None:
    """The unresolved alert for this patient and rule, opening it if needed.

    Returns None when this exact occurrence (``spec.key``) was raised before and has
    since been resolved: a clinician's resolution is not undone by re-evaluating the
    same data. Concurrent callers are safe: the partial unique index lets one insert
    win and the others find its row. See the module docstring for a rule that fires
    again (higher tier, new occurrence) while its alert is unresolved.
    """
    return raise_alerts(session, [(patient_id, spec)], now)[0].alert


def raise_alerts(
    session: Session,
    items: Sequence[tuple[int, AlertSpec]],
    now: datetime,
    *,
    renew_resolved: Collection[str] = frozenset(),
    none_unresolved: bool = False,
    notify: bool = True,
    save_standing: bool = True,
) -> list[Raised]:
    """Raise many specs (one evaluation, or a sweep batch) in a handful of statements.

    Items are handled in order, so several specs of one rule for one patient (a synced
    week reporting the same red flag) open one alert and record the rest as occurrences.

    ``renew_resolved``: rules for which an occurrence a clinician already resolved opens
    a *new* alert instead of nothing. The capture API passes the red-flag rules: they
    are raised only by a patient's own report, and a report that reaches the server
    after the clinician closed the episode (the symptom came back the same day, say)
    is a new episode that someone must own. Re-evaluations of stored data (the sweep)
    never pass it, so a resolution is not undone by looking at the same data again.

    ``none_unresolved``: the caller read in this transaction, under the patients' row
    locks, that none of these patients has an unresolved alert of these rules, so there
    is no row to read and lock: every item is inserted at once (an insert a concurrent
    writer beat is handled as usual). ``notify=False``: the caller queues round 0 of the
    opened alerts itself (``api.alerts.notify.opened_rounds``), with its other messages.
    ``save_standing=False``: the caller saves the patients' whole triage-list row itself
    afterwards (a pain-log write, ``api.standing.service.save_written``).
    """
    if not items:
        return []
    existing: Sequence[Alert] = []
    if not none_unresolved:
        existing = session.exec(
            select(Alert)
            .where(
                col(Alert.patient_id).in_({pid for pid, _ in items}),
                col(Alert.rule).in_({str(spec.code) for _, spec in items}),
                col(Alert.status) != AlertStatus.RESOLVED,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    unresolved = {(a.patient_id, a.rule): a for a in existing}
    first_new: dict[tuple[int, str], int] = {}
    for i, (pid, spec) in enumerate(items):
        first_new.setdefault((pid, str(spec.code)), i)
    first_new = {k: i for k, i in first_new.items() if k not in unresolved}
    results: list[Raised | None] = [None] * len(items)
    for alert in _insert(session, [items[i] for i in first_new.values()], now):
        unresolved[(alert.patient_id, alert.rule)] = alert
        i = first_new[(alert.patient_id, alert.rule)]
        results[i] = Raised(alert.patient_id, items[i][1], alert, RaiseEvent.OPENED)
    for i, (pid, spec) in enumerate(items):
        if results[i] is None:
            results[i] = _raise_one(session, pid, spec, now, unresolved, renew=str(spec.code) in renew_resolved)
    done = [r for r in results if r is not None]
    opened = [r.alert for r in done if r.event is RaiseEvent.OPENED and r.alert is not None]
    _audit_opened(session, opened, now)
    if notify:
        notify_opened(session, opened, now)
    if save_standing:
        # The triage list's standing of patients whose unresolved alerts changed tier or number.
        save_alerts(session, {r.patient_id for r in done if r.event in (RaiseEvent.OPENED, RaiseEvent.ESCALATED)})
    return done


RENEWAL_MARK = "#after:"


def base_key(occurrence_key: str) -> str:
    """The occurrence an alert stands for, without the renewal suffix (``<key>#after:<alert id>``)."""
    return occurrence_key.split(RENEWAL_MARK, 1)[0]


def _renewal_key(session: Session, pid: int, spec: AlertSpec) -> str:
    """The key of the next episode of a resolved occurrence: ``<key>#after:<the latest alert of it>``.

    Deterministic, so two requests renewing the same resolved occurrence at once insert
    the same key and the unique constraints let one of them win.
    """
    key = stored_key(spec)
    keys = session.exec(
        select(Alert.id, Alert.occurrence_key).where(Alert.patient_id == pid, Alert.rule == str(spec.code))
    ).all()
    latest = max((alert_id for alert_id, k in keys if base_key(k) == key and alert_id is not None), default=0)
    return f"{key}{RENEWAL_MARK}{latest}"


def _insert(
    session: Session, items: Sequence[tuple[int, AlertSpec]], now: datetime, *, key: str | None = None
) -> list[Alert]:
    """Insert new alerts; those that hit a constraint (concurrent insert, resolved occurrence) are skipped.

    ``key`` replaces the occurrence key of a single item (a renewed episode).
    """
    if not items:
        return []
    rows = [
        {
            "patient_id": pid,
            "rule": str(spec.code),
            "tier": str(spec.tier),
            "status": AlertStatus.OPEN,
            "occurrence_key": key or stored_key(spec),
            "evidence": dict(spec.evidence),
            "ruleset_version": spec.ruleset_version,
            "opened_at": now,
            # Notified tiers are told in this same transaction (notify_opened): counting
            # that round here saves an UPDATE per alert.
            "notify_count": 1 if spec.tier in NOTIFIED_TIERS else 0,
            "last_notified_at": now if spec.tier in NOTIFIED_TIERS else None,
        }
        for pid, spec in items
    ]
    # One Core statement for many rows (``insert_rows``); the ORM's bulk path would split
    # the batch wherever a value is None.
    statement, parameters = insert_rows(session, _ALERT_TABLE, rows, then=_returning_alerts)
    if isinstance(parameters, dict):  # one statement (PostgreSQL): the inserted rows come back as alerts
        return list(session.scalars(select(Alert).from_statement(statement), parameters))
    if len(rows) <= _FEW_ALERTS:  # elsewhere (SQLite) a write's few alerts: one multi-row VALUES
        return list(session.scalars(select(Alert).from_statement(statement.values(rows))))
    statement, parameters = insert_rows(session, _ALERT_TABLE, rows, then=_returning_ids)
    ids = [row.id for row in session.execute(statement, parameters).all()]
    if not ids:
        return []
    return list(session.exec(select(Alert).where(col(Alert.id).in_(ids))).all())


# A write raises a handful of alerts at most; a sweep batch on SQLite many more.
_FEW_ALERTS = 16
_ALERT_TABLE: Any = Alert.__table__  # type: ignore[attr-defined]


def _returning_alerts(statement: Any) -> Any:
    return statement.on_conflict_do_nothing().returning(*_ALERT_TABLE.c)


def _returning_ids(statement: Any) -> Any:
    return statement.on_conflict_do_nothing().returning(_ALERT_TABLE.c.id)


def _raise_one(
    session: Session,
    pid: int,
    spec: AlertSpec,
    now: datetime,
    unresolved: dict[tuple[int, str], Alert],
    *,
    renew: bool = False,
) -> Raised:
    key = (pid, str(spec.code))
    alert = unresolved.get(key) or open_alert_for(session, pid, spec.code, lock=True)
    if alert is None:
        inserted = _insert(session, [(pid, spec)], now)
        if inserted:
            unresolved[key] = inserted[0]
            return Raised(pid, spec, inserted[0], RaiseEvent.OPENED)
        # A concurrent writer opened it, or this exact occurrence was resolved.
        alert = open_alert_for(session, pid, spec.code, lock=True)
        if alert is None and renew:
            renewed = _insert(session, [(pid, spec)], now, key=_renewal_key(session, pid, spec))
            if renewed:
                unresolved[key] = renewed[0]
                return Raised(pid, spec, renewed[0], RaiseEvent.OPENED)
            alert = open_alert_for(session, pid, spec.code, lock=True)  # a concurrent writer renewed it
        if alert is None:
            return Raised(pid, spec, None, RaiseEvent.RESOLVED_BEFORE)
    unresolved[key] = alert
    return Raised(pid, spec, alert, _fired_again(session, alert, spec, now))


def _fired_again(session: Session, alert: Alert, spec: AlertSpec, now: datetime) -> RaiseEvent:
    current = Tier(alert.tier)
    evidence: dict[str, Any] = dict(alert.evidence)
    if spec.tier.rank > current.rank:
        escalation = {
            "from_tier": str(current),
            "to_tier": str(spec.tier),
            "at": now.isoformat(),
            "key": stored_key(spec),
            "previous_evidence": {k: v for k, v in evidence.items() if k not in ("escalations", "recurrences")},
            **_acknowledgement(alert),
        }
        kept = {k: evidence[k] for k in ("recurrences",) if k in evidence}
        alert.evidence = {**dict(spec.evidence), **kept, "escalations": [*evidence.get("escalations", []), escalation]}
        alert.tier = spec.tier
        alert.ruleset_version = spec.ruleset_version
        _reopen(alert)
        _changed(session, alert, "escalate_alert", now, {"from_tier": str(current)})
        return RaiseEvent.ESCALATED
    recurrences: list[dict[str, Any]] = list(evidence.get("recurrences", []))
    key = stored_key(spec)
    if key == base_key(alert.occurrence_key) or any(r.get("key") == key for r in recurrences):
        return RaiseEvent.UNCHANGED
    reopen = alert.status == AlertStatus.ACKNOWLEDGED and current in URGENT_TIERS
    recurrence: dict[str, Any] = {"key": key, "at": now.isoformat(), "evidence": dict(spec.evidence)}
    if reopen:
        recurrence.update(_acknowledgement(alert))
        _reopen(alert)
    alert.evidence = {**evidence, "recurrences": [*recurrences, recurrence][-MAX_RECURRENCES:]}
    if reopen:
        _changed(session, alert, "reopen_alert", now, {"occurrence": "new"})
        return RaiseEvent.REOPENED
    session.add(alert)
    session.flush()
    return RaiseEvent.RECURRED


def _changed(session: Session, alert: Alert, action: str, now: datetime, detail: dict[str, Any]) -> None:
    session.add(alert)
    session.flush()
    _audit(session, alert, action, now, detail)
    _log.info("alert_" + action.removesuffix("_alert"), alert_id=alert.id, rule=alert.rule, tier=alert.tier)
    notify_if_due(session, [alert], now)


def _acknowledgement(alert: Alert) -> dict[str, Any]:
    """Who had acknowledged the alert before it was reopened, for the evidence."""
    if alert.acknowledged_at is None:
        return {}
    return {"was_acknowledged_by": alert.acknowledged_by, "was_acknowledged_at": alert.acknowledged_at.isoformat()}


def _reopen(alert: Alert) -> None:
    """Back to ``open``; the earlier acknowledgement stays in the evidence and the audit trail."""
    alert.status = AlertStatus.OPEN
    alert.acknowledged_by = None
    alert.acknowledged_at = None
    alert.acknowledge_note = None


def _audit_opened(session: Session, alerts: Sequence[Alert], now: datetime) -> None:
    """One system audit event per opened alert, inserted together (the sweep opens thousands)."""
    if not alerts:
        return
    request_id = current_request_id()
    rows = [
        {
            "at": now,
            "actor_id": None,
            "actor_role": "system",
            "patient_id": alert.patient_id,
            "action": "open_alert",
            "resource": f"alert/{alert.id}",
            "request_id": request_id,
            "detail": {"alert_id": alert.id, "rule": alert.rule, "tier": alert.tier},
        }
        for alert in alerts
    ]
    statement, parameters = insert_rows(session, AuditEvent.__table__, rows)  # type: ignore[attr-defined]
    session.execute(statement, parameters)
    for alert in alerts:
        _log.info("alert_opened", alert_id=alert.id, patient_id=alert.patient_id, rule=alert.rule, tier=alert.tier)


def _audit(session: Session, alert: Alert, action: str, now: datetime, extra: dict[str, Any] | None = None) -> None:
    record_audit(
        session,
        at=now,
        action=action,
        resource=f"alert/{alert.id}",
        actor=None,
        patient_id=alert.patient_id,
        detail={"alert_id": alert.id, "rule": alert.rule, "tier": alert.tier, **(extra or {})},
    )


__all__ = [
    "MAX_RECURRENCES",
    "NOTIFIED_TIERS",
    "RENEWAL_MARK",
    "URGENT_TIERS",
    "RaiseEvent",
    "Raised",
    "base_key",
    "notify_care_team",
    "open_alert_for",
    "raise_alert",
    "raise_alerts",
]
