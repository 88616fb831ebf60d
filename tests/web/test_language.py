"""French by default, Accept-Language between French and English, and the FR | EN switch kept in a cookie."""

from __future__ import annotations

import pytest

from app.services.context import ServiceContext
from app.web.i18n import negotiate
from app.web.pages import safe_local_path
from tests.web.helpers import WebClient, create_account


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,en;q=0.5", "en"),
        ("en;q=0.2, fr;q=0.8", "fr"),
        ("de, es", "fr"),
        ("en;q=0, de", "fr"),
        ("*", "fr"),
        ("en;q=banana", "fr"),
    ],
)
def test_accept_language_chooses_between_french_and_english(header: str | None, language: str) -> None:
    assert negotiate(header) == language


@pytest.mark.parametrize(
    ("candidate", "kept"),
    [
        ("/my-work", "/my-work"),
        ("/cases/abc?tab=deadlines", "/cases/abc?tab=deadlines"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("my-work", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        (None, "/"),
    ],
)
def test_the_switch_only_ever_goes_back_to_a_page_of_this_service(candidate: str | None, kept: str) -> None:
    assert safe_local_path(candidate) == kept


def test_the_language_follows_the_browser_then_the_switch(ctx: ServiceContext, web: WebClient) -> None:
    french = web.get("/")
    assert '<html lang="fr">' in french.text and "<title>Se connecter – Mécanisme national de référence" in french.text
    assert 'aria-current="true" lang="fr">FR' in french.text and 'value="en" lang="en">EN' in french.text
    english = web.get("/", headers={"Accept-Language": "en-GB"})
    assert '<html lang="en">' in english.text and "<title>Sign in – National referral mechanism" in english.text

    create_account(ctx, "referrer1", ["referrer"])
    web.sign_in("referrer1")
    switched = web.submit("/language", {"language": "en", "next": "/my-work"}, from_page="/my-work")
    assert switched.status_code == 303 and switched.headers["location"] == "/my-work"
    cookie = next(c for c in switched.headers.get_list("set-cookie") if c.startswith("nrm_lang=")).lower()
    assert "nrm_lang=en" in cookie and "max-age=31536000" in cookie and "httponly" in cookie
    page = web.get("/my-work", headers={"Accept-Language": "fr"})  # the choice wins over the browser's
    assert '<html lang="en">' in page.text and "Hello, referrer1." in page.text and "Sign out" in page.text
    back = web.submit("/language", {"language": "fr", "next": "/my-work"}, from_page="/my-work")
    assert back.status_code == 303
    assert '<html lang="fr">' in web.get("/my-work").text


def test_an_unknown_language_changes_nothing(web: WebClient) -> None:
    response = web.submit("/language", {"language": "xx", "next": "//evil.example"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "nrm_lang" not in response.headers.get("set-cookie", "")
