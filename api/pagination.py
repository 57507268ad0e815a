"""Keyset pagination, one way for every cursor-paginated list.

A list fetches ``limit + 1`` rows after the cursor's position in its fixed order; the
extra row only says whether a next page exists, and the next cursor encodes the sort key
of the last row shown. Cursors are opaque base64 JSON (``api.schemas.encode_cursor``);
a tampered one is a 422 naming ``cursor`` before anything is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from api.schemas import cursor_value, decode_cursor, encode_cursor

T = TypeVar("T")


class Keyset:
    """One page request: the decoded, typed position to continue after, and the page size."""

    def __init__(self, cursor: str | None, limit: int, **kinds: type[Any]) -> None:
        self.limit = limit
        position = decode_cursor(cursor)
        # Every key typed up front: a cursor missing one or holding the wrong type is a 422.
        self.after: dict[str, Any] | None = (
            None if position is None else {key: cursor_value(position, key, kind) for key, kind in kinds.items()}
        )

    @property
    def fetch(self) -> int:
        """How many rows to read: one more than the page, to know whether another follows."""
        return self.limit + 1

    def page(self, rows: Sequence[T], position: Callable[[T], dict[str, Any]]) -> tuple[list[T], str | None]:
        """The rows to show and the cursor after the last of them (None on the last page)."""
        shown = list(rows[: self.limit])
        next_cursor = encode_cursor(position(shown[-1])) if len(rows) > self.limit else None
        return shown, next_cursor
