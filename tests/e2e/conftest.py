"""Browser fixtures that page tests reuse: a live server on the test's own database and clock, Debian's
Chromium through Playwright, and pages that fail the test on a CSP violation or a request to another origin.

Browser tests run on SQLite only: the services they drive are tested on both databases elsewhere.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from app.clock import FrozenClock
from app.main import create_app
from app.services.context import ServiceContext
from tests.e2e.support import CHROMIUM, DESKTOP, LAUNCH_ARGS, Screenshots, browser_problem, watch

BROWSER_PROBLEM = browser_problem()
if BROWSER_PROBLEM is None:
    from playwright.sync_api import Browser, Page, Playwright, sync_playwright


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the two-database fixture: one migrated SQLite file per test."""
    path = tmp_path / "nrm.sqlite3"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@dataclass
class LiveServer:
    """The service on a free port of 127.0.0.1, in a thread, on the test's `ctx` (database, keys, clock)."""

    url: str
    app: FastAPI
    ctx: ServiceContext
    clock: FrozenClock

    def at(self, path: str) -> str:
        return self.url + path


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_server(ctx: ServiceContext, clock: FrozenClock) -> Iterator[LiveServer]:
    app = create_app(context=ctx)
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app, ctx, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if BROWSER_PROBLEM:
        pytest.skip(f"browser tests SKIPPED: {BROWSER_PROBLEM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield chromium
    chromium.close()


OpenPage = Callable[..., "Page"]


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[OpenPage]:
    """`open_page(locale="fr-FR", width=1280)`: a fresh browser context (no cookies) and page. The test fails if
    the page breaks the Content-Security-Policy, raises a script error, or asks another origin for anything."""
    contexts = []
    problems: list[str] = []

    def open_(locale: str = "fr-FR", width: int = DESKTOP) -> Page:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch(page, (live_server.url,), problems)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    """A French desktop page, no one signed in."""
    return open_page()


@pytest.fixture
def screenshots(tmp_path: Path) -> Screenshots:
    return Screenshots(tmp_path / "screenshots")
