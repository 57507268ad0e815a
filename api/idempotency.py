"""``Idempotency-Key`` support for POST endpoints that are not idempotent by nature.

A client that may retry (the mobile app replaying after a lost response) sends an
``Idempotency-Key`` header; the first request with that key runs and its response is
stored in the same transaction, and a retry with the same key and body gets the
stored response back (``Idempotent-Replayed: true``) instead of a second screening
or invite. The same key with a different body is a 422.

The key row is claimed *before* the work (insert, on conflict do nothing), so two
concurrent retries cannot both run: on PostgreSQL the second waits on the unique
index until the first commits, on SQLite the write lock serialises them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session, select

from api.deps import CurrentUser, NowDep, SessionDep
from api.errors import Problem
from api.models import IdempotencyKey
from api.upsert import insert_for

PENDING = 0
T = TypeVar("T")


@dataclass
class Idempotency:
    session: Session
    user_id: int
    key: str | None
    method: str
    path: str
    now: datetime

    def begin(self, body: BaseModel | None) -> JSONResponse | None:
        """Claim the key; returns the stored response if this is a replay, else None (go ahead)."""
        if self.key is None:
            return None
        request_hash = _hash(body)
        table = IdempotencyKey.__table__  # type: ignore[attr-defined]
        claimed = self.session.execute(
            insert_for(self.session, table)
            .values(
                user_id=self.user_id,
                key=self.key,
                method=self.method,
                path=self.path,
                request_hash=request_hash,
                status_code=PENDING,
                response_body=None,
                created_at=self.now,
            )
            .on_conflict_do_nothing()
            .returning(table.c.id)
        ).scalar_one_or_none()
        if claimed is not None:
            return None
        stored = self._row()
        if stored.request_hash != request_hash or stored.method != self.method or stored.path != self.path:
            raise Problem(422, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
        if stored.status_code == PENDING:  # only reachable if the first request is still running
            raise Problem(409, "idempotency_key_in_use", "a request with this Idempotency-Key is in progress")
        return JSONResponse(
            stored.response_body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
        )

    def complete(self, status_code: int, response: T) -> T:
        """Store the response for replays (in the request's transaction) and return it unchanged."""
        if self.key is not None:
            row = self._row()
            row.status_code = status_code
            row.response_body = jsonable_encoder(response)
            self.session.add(row)
            self.session.flush()
        return response

    def _row(self) -> IdempotencyKey:
        return self.session.exec(
            select(IdempotencyKey).where(IdempotencyKey.user_id == self.user_id, IdempotencyKey.key == self.key)
        ).one()


def _hash(body: BaseModel | None) -> str:
    payload = body.model_dump(mode="json") if body is not None else None
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def get_idempotency(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="Optional client-generated key; a retry with the same key and body replays the response",
        ),
    ] = None,
) -> Idempotency:
    assert user.id is not None
    return Idempotency(session, user.id, idempotency_key, request.method, request.url.path, now)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
