"""Web sessions through the pages: the cookie, timeouts on the moved clock, sign-out, disabled accounts, and the
login throttle shared with the API's token route. On both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clock import FrozenClock
from app.config import load_settings
from app.db import read_only
from app.main import create_app
from app.models import WebSession
from app.security.web_sessions import secret_hash
from app.services import accounts, scheduler, web_sessions
from app.services.context import ServiceContext
from app.services.errors import Unauthenticated
from tests.web.helpers import TEST_PASSWORD, WebClient, create_account


def session_cookie(response_headers: list[str], name: str = "nrm_session") -> str:
    matching = [h for h in response_headers if h.startswith(f"{name}=")]
    assert len(matching) == 1, response_headers
    return matching[0]


def test_sign_in_sets_an_opaque_http_only_lax_cookie_and_keeps_only_its_hash(
    ctx: ServiceContext, web: WebClient
) -> None:
    user = create_account(ctx, "referrer1", ["referrer"])
    response = web.sign_in("referrer1")
    assert response.status_code == 303 and response.headers["location"] == "/my-work"
    header = session_cookie(response.headers.get_list("set-cookie"))
    attributes = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # served over plain HTTP here: see the HTTPS test below
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)  # leaves with the browser
    secret = header.split(";")[0].split("=", 1)[1]
    assert "referrer1" not in secret and str(user.id) not in secret and len(secret) >= 43
    with read_only(ctx.read_sessions) as session:
        rows = session.scalars(select(WebSession)).all()
    assert [row.secret_hash for row in rows] == [secret_hash(secret)]
    assert all(secret not in str(value) for row in rows for value in vars(row).values())
    page = web.get("/my-work")
    assert page.status_code == 200 and "Bonjour, referrer1." in page.text


def test_over_https_the_cookie_is_secure_and_host_only(ctx: ServiceContext) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    settings = load_settings(
        database_url=ctx.settings.database_url, key_file=ctx.settings.key_file, public_url="https://mnr.example.org"
    )
    origin = "https://mnr.example.org"
    app = create_app(context=ServiceContext.build(settings, ctx.clock))  # its lifespan closes that context
    with TestClient(app, base_url=origin, raise_server_exceptions=False) as client:
        web = WebClient(client)
        response = web.submit("/sign-in", {"username": "referrer1", "password": TEST_PASSWORD}, origin=origin)
        assert response.status_code == 303
        header = session_cookie(response.headers.get_list("set-cookie"), "__Host-nrm_session")
        assert "secure" in [part.strip().lower() for part in header.split(";")]
        assert web.get("/my-work").status_code == 200
        # Behind that public address, a form posted from the plain-HTTP origin is another origin.
        refused = web.submit("/sign-out", {}, from_page="/my-work", origin="http://mnr.example.org")
        assert refused.status_code == 403


def test_a_web_session_is_the_same_principal_as_a_bearer_token(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "coordinator1", ["coordinator", "caseworker"], "Secrétariat Fictif", "coordination")
    web.sign_in("coordinator1")
    secret = web.client.cookies["nrm_session"]
    token = accounts.log_in(ctx, "coordinator1", TEST_PASSWORD, "testclient").access_token
    from_session = web_sessions.resolve(ctx, secret).principal
    assert from_session == accounts.principal_for_token(ctx, token)
    assert from_session.roles == frozenset({"coordinator", "caseworker"})


def test_idle_timeout_on_the_application_clock(ctx: ServiceContext, web: WebClient, clock: FrozenClock) -> None:
    create_account(ctx, "assessor1", ["assessor"])
    web.sign_in("assessor1")
    for _ in range(3):  # each request within 30 minutes keeps the session alive
        clock.advance(timedelta(minutes=29))
        assert web.get("/my-work").status_code == 200
    clock.advance(timedelta(minutes=30))
    ended = web.get("/my-work")
    assert ended.status_code == 303 and ended.headers["location"] == "/?status=session-ended"
    assert 'nrm_session=""' in ended.headers["set-cookie"]  # the browser forgets it
    assert "Votre session a pris fin" in web.get(ended.headers["location"]).text


def test_absolute_timeout_ends_even_a_busy_session(ctx: ServiceContext, web: WebClient, clock: FrozenClock) -> None:
    create_account(ctx, "assessor1", ["assessor"])
    web.sign_in("assessor1")
    for _ in range(35):  # 11 h 40 of steady work
        clock.advance(timedelta(minutes=20))
        assert web.get("/my-work").status_code == 200
    clock.advance(timedelta(minutes=20))
    assert web.get("/my-work").headers["location"] == "/?status=session-ended"


def test_sign_out_ends_the_session_on_the_server(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    web.sign_in("referrer1")
    stolen = web.client.cookies["nrm_session"]
    response = web.sign_out()
    assert response.status_code == 303 and response.headers["location"] == "/?status=signed-out"
    assert "Votre session est fermée." in web.get("/?status=signed-out").text
    web.client.cookies.set("nrm_session", stolen)  # a copy of the cookie opens nothing any more
    assert web.get("/my-work").headers["location"] == "/?status=session-ended"
    assert scheduler.run_pass(ctx).sessions_purged == 1
    with read_only(ctx.read_sessions) as session:
        assert session.scalars(select(WebSession)).all() == []


def test_a_disabled_account_loses_its_sessions_at_once(ctx: ServiceContext, web: WebClient) -> None:
    user = create_account(ctx, "caseworker1", ["caseworker"])
    web.sign_in("caseworker1")
    secret = web.client.cookies["nrm_session"]
    assert web.get("/my-work").status_code == 200
    accounts.set_user_active(ctx, user.id, active=False)
    assert web.get("/my-work").headers["location"] == "/?status=session-ended"
    accounts.set_user_active(ctx, user.id, active=True)
    web.client.cookies.set("nrm_session", secret)
    assert web.get("/my-work").status_code == 303  # enabling again does not revive an ended session


def test_pages_that_need_a_person_send_others_to_sign_in(ctx: ServiceContext, web: WebClient) -> None:
    response = web.get("/my-work")
    assert response.status_code == 303 and response.headers["location"] == "/"
    create_account(ctx, "referrer1", ["referrer"])
    web.sign_in("referrer1")
    signed_in = web.get("/")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/my-work"
    first = web.client.cookies["nrm_session"]
    web.submit("/sign-in", {"username": "referrer1", "password": TEST_PASSWORD}, from_page="/my-work")
    assert web.client.cookies["nrm_session"] != first
    with pytest.raises(Unauthenticated):  # a second sign-in on the same browser ends the first session
        web_sessions.resolve(ctx, first)


def test_sign_in_errors_are_shown_in_a_summary_and_by_each_field(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    empty = web.submit("/sign-in", {"username": " ", "password": ""})
    assert empty.status_code == 422
    assert "<title>Erreur\u00a0: Se connecter" in empty.text
    assert 'href="#username">Saisissez votre identifiant' in empty.text
    assert 'href="#password">Saisissez votre mot de passe' in empty.text
    assert 'id="username-error"' in empty.text and 'aria-describedby="username-error"' in empty.text
    wrong = web.submit("/sign-in", {"username": "referrer1", "password": "a wrong password 42"})
    assert wrong.status_code == 422 and "L’identifiant ou le mot de passe est incorrect" in wrong.text
    assert "a wrong password 42" not in wrong.text and 'value="referrer1"' in wrong.text
    assert "nrm_session" not in wrong.headers.get("set-cookie", "")


@pytest.mark.parametrize("failing_through", ["web", "api"])
def test_the_login_throttle_is_shared_with_the_api(ctx: ServiceContext, web: WebClient, failing_through: str) -> None:
    create_account(ctx, "referrer1", ["referrer"])
    # One address guessing one account: the strict limit (docs/security.md, the login throttle).
    for _ in range(ctx.settings.login_max_failures_per_account_and_address):
        if failing_through == "web":
            assert web.sign_in("referrer1", "not the password").status_code == 422
        else:
            wrong = {"username": "referrer1", "password": "not the password"}
            assert web.client.post("/api/v1/auth/token", data=wrong).status_code == 401
    # The right password is refused now, through both doors.
    api = web.client.post("/api/v1/auth/token", data={"username": "referrer1", "password": TEST_PASSWORD})
    assert api.status_code == 429
    page = web.sign_in("referrer1")
    assert page.status_code == 429 and page.headers["retry-after"] == "900"
    assert "Trop de tentatives de connexion. Attendez 15 minutes, puis réessayez." in page.text
    assert "nrm_session" not in page.headers.get("set-cookie", "")


def test_a_disabled_organisation_ends_its_members_sessions_for_good(ctx: ServiceContext, web: WebClient) -> None:
    user = create_account(ctx, "caseworker1", ["caseworker"], organisation="Association Fermée Test")
    web.sign_in("caseworker1")
    secret = web.client.cookies["nrm_session"]
    assert web.get("/my-work").status_code == 200
    accounts.set_organisation_active(ctx, user.organisation_id, False)
    assert web.get("/my-work").headers["location"] == "/?status=session-ended"
    assert web.sign_in("caseworker1").status_code == 422  # its members cannot sign in either
    accounts.set_organisation_active(ctx, user.organisation_id, True)
    web.client.cookies.set("nrm_session", secret)
    assert web.get("/my-work").status_code == 303  # enabling it again does not revive an ended session
    assert web.sign_in("caseworker1").status_code == 303
