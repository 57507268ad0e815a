from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI


@pytest.fixture(autouse=True)
def _dispose_engine(app: FastAPI) -> Iterator[None]:
    """Close pooled connections of tests that never start the app's lifespan (no client)."""
    yield
    app.state.engine.dispose()
