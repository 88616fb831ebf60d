"""Every component macro on one page (tests/e2e/templates/components.html): axe-core finds nothing, nothing
scrolls sideways at 360 px, and the error summary and fields show their errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.responses import HTMLResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from playwright.sync_api import Page, expect

from app.web.forms import FormErrors
from app.web.pages import PublicPage, renderer
from app.web.routing import web_router
from tests.e2e.conftest import LiveServer
from tests.e2e.support import NARROW, Screenshots, assert_accessible, assert_no_horizontal_scroll

TEMPLATES = Path(__file__).resolve().parent / "templates"
COMPONENTS_PATH = "/test/components"
components = web_router()


@components.get(COMPONENTS_PATH)
def components_page(page: PublicPage, with_errors: bool = False) -> Response:
    """The component page, rendered by the application's own environment with this folder's templates first."""
    base = renderer(page.request).environments[page.language]
    env = base.overlay(loader=ChoiceLoader([FileSystemLoader(TEMPLATES), base.loader]))  # type: ignore[list-item]
    errors = FormErrors()
    if with_errors:
        errors.add("age-band-note", "Say why the age is uncertain")
        errors.add("consent", "Say whether the person agreed to be referred")
    in_two_days = timedelta(days=2)
    html = env.get_template("components.html").render(page=page, errors=errors, timedelta_days_2=in_two_days)
    return HTMLResponse(html)


def show_components(live_server: LiveServer) -> None:
    if not any(getattr(route, "path", "") == COMPONENTS_PATH for route in live_server.app.router.routes):
        live_server.app.include_router(components)


def test_every_component_is_accessible_and_fits_a_phone(
    page: Page, live_server: LiveServer, screenshots: Screenshots
) -> None:
    show_components(live_server)
    page.goto(live_server.at(COMPONENTS_PATH))
    expect(page.get_by_text("Étape 2 sur 6")).to_be_visible()
    expect(page.get_by_role("region", name="Important")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page, NARROW)
    screenshots.take(page, "components-desktop")

    page.goto(live_server.at(COMPONENTS_PATH + "?with_errors=true"))
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.locator("#consent-error")).to_contain_text("Say whether the person agreed to be referred")
    expect(page.locator("#consent")).to_have_attribute("name", "consent")  # where the summary's link lands
    expect(page.get_by_label("Why is the age uncertain?")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    assert_no_horizontal_scroll(page, NARROW)
    screenshots.take(page, "components-errors-360", width=NARROW)
