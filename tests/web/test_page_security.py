"""Page security through the TestClient: headers, forged forms refused, error pages in the person's language,
and the API left with its problem documents. On both databases."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response
from fastapi.testclient import TestClient

from app.main import create_app
from app.security.permissions import Permission
from app.services.context import ServiceContext
from app.services.errors import Gone
from app.web.errors import is_page_path
from app.web.headers import CONTENT_SECURITY_POLICY
from app.web.pages import Page, PublicPage, page_for
from app.web.routes import ROUTERS
from app.web.routes.my_work import my_work_page
from app.web.routing import SAFE_METHODS, WebRoute, web_router
from tests.web.helpers import ORIGIN, WebClient, create_account, form_token

extra_pages = web_router()


@extra_pages.get("/test/audit-only")
def audit_only(page: Annotated[Page, Depends(page_for(Permission.read_audit))]) -> Response:
    return my_work_page(page)


@extra_pages.get("/test/erased")
def erased(page: PublicPage) -> Response:
    raise Gone("personal data erased")


@extra_pages.get("/test/broken")
def broken(page: PublicPage) -> Response:
    raise RuntimeError("a bug with a secret in its message: Jeanne Fictive")


@pytest.fixture
def web_with_test_pages(ctx: ServiceContext) -> Iterator[WebClient]:
    app = create_app(context=ctx)
    app.include_router(extra_pages)
    with TestClient(app, base_url=ORIGIN, raise_server_exceptions=False) as client:
        yield WebClient(client)


def assert_page_headers(headers: Any, cache: str = "no-store") -> None:
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == cache


def test_every_page_carries_the_security_headers(ctx: ServiceContext, web: WebClient) -> None:
    assert_page_headers(web.get("/").headers)
    assert_page_headers(web.get("/no-such-page").headers)
    create_account(ctx, "referrer1", ["referrer"])
    signed_in = web.sign_in("referrer1")
    assert_page_headers(signed_in.headers)  # the redirect that sets the session cookie
    assert_page_headers(web.get("/my-work").headers)
    stylesheet = web.get("/static/css/nrm.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert_page_headers(stylesheet.headers, cache="no-cache")
    api = web.get("/health")
    assert api.status_code == 200 and "content-security-policy" not in api.headers


def test_pages_hold_no_inline_script_or_style(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    pages = [web.get("/").text]
    web.sign_in("referrer1")
    pages += [web.get("/my-work").text, web.get("/no-such-page").text]
    for html in pages:
        assert "<script" not in html and "<style" not in html and " style=" not in html
        assert "http://" not in html and "https://" not in html  # nothing from another origin


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("no token", {"token": ""}),
        ("another browser's token", {"token": "forged"}),
        ("another site", {"origin": "https://evil.example"}),
        ("a sibling site over http", {"origin": "http://testserver.evil.example"}),
        ("no origin header at all", {"origin": None}),
        ("cross-site fetch metadata", {"origin": None, "headers": {"Sec-Fetch-Site": "cross-site"}}),
        ("a null origin from another site", {"origin": "null", "headers": {"Sec-Fetch-Site": "cross-site"}}),
    ],
)
def test_a_forged_form_is_refused_with_a_page_in_language(
    ctx: ServiceContext, web: WebClient, case: str, change: dict[str, Any]
) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    web.sign_in("referrer1")
    token = form_token(web.get("/my-work").text)
    if change.get("token") == "forged":
        other = WebClient(TestClient(web.client.app, base_url=ORIGIN))
        token = form_token(other.get("/").text)
    elif "token" in change:
        token = change["token"]
    response = web.submit(
        "/sign-out", {}, token=token, origin=change.get("origin", ORIGIN), headers=change.get("headers")
    )
    assert response.status_code == 403, case
    assert "Votre formulaire n’a pas pu être vérifié" in response.text and '<html lang="fr">' in response.text
    assert web.get("/my-work").status_code == 200, "the refused sign-out must not have ended the session"
    english = web.submit(
        "/sign-out", {}, token="", headers={"Accept-Language": "en-GB,en;q=0.8"}, origin=change.get("origin", ORIGIN)
    )
    assert english.status_code == 403 and "Your form could not be checked" in english.text


@pytest.mark.parametrize("origin", [None, "null"])
def test_fetch_metadata_stands_in_for_a_missing_or_null_origin(
    ctx: ServiceContext, web: WebClient, origin: str | None
) -> None:
    # Under Referrer-Policy: no-referrer, browsers post forms with `Origin: null` and `Sec-Fetch-Site`.
    create_account(ctx, "referrer1", ["referrer"])
    web.sign_in("referrer1")
    response = web.submit(
        "/sign-out", {}, from_page="/my-work", origin=origin, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/?status=signed-out"


def test_the_sign_in_form_is_protected_before_any_session(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    good = {"username": "referrer1", "password": "correct horse battery staple"}
    assert web.submit("/sign-in", good, token="").status_code == 403
    assert web.submit("/sign-in", good, origin="https://evil.example").status_code == 403
    assert web.submit("/sign-in", good).status_code == 303


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes if included is not None else getattr(route, "routes", []))
        if included is None:
            yield route


def test_every_page_that_takes_a_form_checks_origin_and_token(ctx: ServiceContext, web: WebClient) -> None:
    app = web.client.app
    assert isinstance(app, FastAPI)
    unsafe = [
        (route.path, method)
        for route in _routes(app.routes)
        if is_page_path(getattr(route, "path", "/api/")) and hasattr(route, "methods")
        for method in route.methods - SAFE_METHODS
    ]
    assert {("/sign-in", "POST"), ("/sign-out", "POST"), ("/language", "POST")} <= set(unsafe), unsafe
    for router in ROUTERS:
        assert all(isinstance(route, WebRoute) for route in router.routes)
    for path, method in unsafe:
        concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = web.client.request(method, concrete, headers={"Origin": ORIGIN}, follow_redirects=False)
        assert response.status_code == 403, (method, path)


def test_error_pages_are_in_the_persons_language(ctx: ServiceContext, web_with_test_pages: WebClient) -> None:
    web = web_with_test_pages
    missing = web.get("/no-such-page")
    assert missing.status_code == 404 and '<html lang="fr">' in missing.text and "Page introuvable" in missing.text
    english = web.get("/no-such-page", headers={"Accept-Language": "en"})
    assert english.status_code == 404 and '<html lang="en">' in english.text and "Page not found" in english.text
    assert "<title>Page not found – National referral mechanism</title>" in english.text
    gone = web.get("/test/erased")
    assert gone.status_code == 410 and "Ces informations ont été effacées" in gone.text
    create_account(ctx, "referrer1", ["referrer"])
    web.sign_in("referrer1")
    forbidden = web.get("/test/audit-only")
    assert forbidden.status_code == 403 and "Vous n’avez pas accès à cette page" in forbidden.text
    assert "Se déconnecter" in forbidden.text  # a signed-in person keeps their menu on an error page
    create_account(ctx, "auditor1", ["auditor"], "Inspection Fictive", "coordination")
    web.sign_out()
    web.sign_in("auditor1")
    assert web.get("/test/audit-only").status_code == 200


def test_an_unexpected_error_is_a_page_that_tells_nothing_of_it(web_with_test_pages: WebClient) -> None:
    response = web_with_test_pages.get("/test/broken")
    assert response.status_code == 500
    assert "Désolé, le service rencontre un problème" in response.text
    assert response.headers["x-request-id"] in response.text  # the reference to give the support
    assert "Jeanne" not in response.text and "RuntimeError" not in response.text
    assert_page_headers(response.headers)


def test_the_api_keeps_its_problem_documents(web: WebClient) -> None:
    response = web.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    unauthenticated = web.get("/api/v1/cases")
    assert unauthenticated.status_code == 401 and unauthenticated.json()["status"] == 401
