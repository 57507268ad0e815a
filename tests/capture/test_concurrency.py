"""Concurrent writes of one date: the newest edit wins, whatever order they commit in."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEvent, PainLog, Patient
from tests.capture.helpers import ME, day, log_body, stamp

WRITERS = 50


def test_fifty_concurrent_puts_of_one_date_leave_the_newest(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    offsets = list(range(WRITERS))
    random.Random(7).shuffle(offsets)  # submission order unrelated to edit time
    barrier = threading.Barrier(WRITERS)

    def write(offset: int) -> int:
        body = log_body(offset % 11, at=offset, note=f"version {offset}")
        barrier.wait()
        return client.put(f"{ME}/pain-logs/{day(0)}", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        statuses = list(pool.map(write, offsets))

    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    session.rollback()
    stored = session.exec(select(PainLog)).all()
    assert len(stored) == 1
    newest = WRITERS - 1
    assert stored[0].note == f"version {newest}"
    assert stored[0].client_updated_at.isoformat() == stamp(newest)
    # Every accepted write (and only those) left an audit event.
    accepted = sum(1 for s in statuses if s in (200, 201))
    assert len(session.exec(select(AuditEvent).where(AuditEvent.resource.startswith("pain_log/"))).all()) == accepted
