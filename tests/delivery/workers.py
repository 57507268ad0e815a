"""A dispatcher process for the concurrency test (importable, so ``spawn`` can start it)."""

from __future__ import annotations

import random
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from api.config import Settings
from api.db import make_engine
from api.delivery.dispatcher import deliver_due


def dispatcher_process(
    settings_values: dict[str, Any], now_iso: str, start: Barrier, results: Queue[dict[str, int]]
) -> None:
    settings = Settings(**settings_values)
    engine = make_engine(settings)
    now = datetime.fromisoformat(now_iso)
    try:
        start.wait(timeout=60)
        results.put(deliver_due(engine, settings, now, rng=random.Random()))
    finally:
        engine.dispose()
