"""Browser-test helpers that page tests reuse: the browser's whereabouts, axe-core, 360 px, focus, screenshots.

Playwright drives Debian's Chromium (`/usr/bin/chromium`); Playwright's own browser download does not work on
these machines. Without the browser the e2e tests are skipped with a loud line, or fail the run when CI=true
(see tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path(os.environ.get("NRM_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NARROW = 360  # the narrowest phone the service supports
DESKTOP = 1280
SCREENSHOT_DIR_VARIABLE = "NRM_SCREENSHOT_DIR"


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None or importlib.util.find_spec("axe_playwright_python") is None:
        return "playwright or axe-playwright-python is not installed (make install-dev)"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (apt-get install chromium, as `make test` does when run as root)"
    return None


def watch(page: Page, origins: tuple[str, ...], problems: list[str]) -> None:
    """Record on `problems` what must fail a browser test: a Content-Security-Policy violation, a script
    error, or a request to an origin other than `origins` (the service's own)."""
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text)
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((*origins, "data:", "about:"))
            else problems.append(f"request to another origin: {request.url}")
        ),
    )


def assert_accessible(page: Page) -> None:
    """axe-core finds no violation (WCAG 2 A and AA, and axe's best practices) on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    described = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']]}" for v in violations
    ]
    assert not violations, f"axe-core violations on {page.url}:\n" + "\n".join(described)


def assert_no_horizontal_scroll(page: Page, width: int = NARROW) -> None:
    """At `width` CSS pixels the page does not scroll sideways (restores the previous viewport)."""
    previous = page.viewport_size
    page.set_viewport_size({"width": width, "height": 780})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-wrap, .visually-hidden'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)""",
        width,
    )
    if previous:
        page.set_viewport_size(previous)
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {width}px; too wide: {wide}"


def assert_focus_visible(page: Page) -> None:
    """The focused element shows an outline or a focus shadow."""
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return {outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow,
                           background: s.backgroundColor}; }"""
    )
    shown = (style["outline"] != "none" and style["width"] != "0px") or style["shadow"] != "none"
    assert shown, f"no visible focus on the focused element: {style}"


def screenshot_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"screenshot names are lowercase words joined by hyphens, not {name!r}")
    return f"{name}.png"


class Screenshots:
    """Saves full-page pictures: into NRM_SCREENSHOT_DIR (`make screenshots`: docs/screenshots/), else into the
    test's temporary directory, so that every run exercises the pages the README shows."""

    def __init__(self, fallback: Path) -> None:
        chosen = os.environ.get(SCREENSHOT_DIR_VARIABLE)
        self.directory = Path(chosen) if chosen else fallback
        self.directory.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str, width: int | None = None) -> Path:
        """A picture of the whole page, at `width` CSS pixels if given (the viewport is restored)."""
        previous = page.viewport_size
        if width is not None:
            page.set_viewport_size({"width": width, "height": 780})
        path = self.directory / screenshot_name(name)
        page.screenshot(path=str(path), full_page=True)
        if width is not None and previous:
            page.set_viewport_size(previous)
        return path
