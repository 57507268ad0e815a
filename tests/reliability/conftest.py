"""Every reliability test must hand back every database connection it used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI


@pytest.fixture(autouse=True)
def no_connection_left_checked_out(app: FastAPI) -> Iterator[None]:
    yield
    pool = app.state.engine.pool
    checked_out = getattr(pool, "checkedout", lambda: 0)()
    assert checked_out == 0, f"{checked_out} database connection(s) still checked out"
