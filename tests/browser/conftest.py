"""A real browser against the real server: Debian's Chromium driven by Playwright, the app
served by uvicorn on 127.0.0.1 (ephemeral port) over a scratch SQLite database holding the
demo clinic. Chromium is installed by ``make test`` (apt), never downloaded by Playwright;
a missing browser fails the tests rather than skipping them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlmodel import Session

from api.clock import Clock, system_now
from api.config import Settings
from api.db import make_engine
from api.main import create_app
from api.migrations import upgrade
from api.seed import seed_demo
from tests.conftest import test_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings


def _pin_clock(settings: Settings) -> None:
    """Replay the demo on a fixed weekday and hour: the latest Sunday at 14:00 UTC (the test
    clock, so the server's "now" moves on from there). The demo's stories and weekly reviews
    fall on different levels and sessions on different weekdays and hours (the pages'
    assertions were written for a Sunday afternoon), and a suite run after midnight or on
    a Monday must see the same clinic."""
    real = system_now()
    sunday = (real - timedelta(days=(real.weekday() + 1) % 7)).replace(hour=14, minute=0, second=0, microsecond=0)
    pinned = sunday if sunday <= real else sunday - timedelta(days=7)
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            Clock(engine, test_clock_enabled=True).set(pinned, None, session)
            session.commit()
    finally:
        engine.dispose()


@contextmanager
def serve(tmp_path_factory: pytest.TempPathFactory, **overrides: object) -> Iterator[LiveServer]:
    """The demo clinic served by uvicorn in a thread, with these settings overridden."""
    database = tmp_path_factory.mktemp("browser") / "demo.db"
    # Development, as `make run`: the cookie is not Secure, so it travels over plain http.
    settings = test_settings(f"sqlite:///{database}", **{"environment": "development", **overrides})
    upgrade(settings)
    _pin_clock(settings)
    lines = list(seed_demo(settings))
    assert lines[0] == "demo clinic created"
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    tab = context.new_page()
    yield tab
    context.close()


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
