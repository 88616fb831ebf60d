"""Helpers for tests of the web application, shared by the TestClient tests (tests/web) and the browser tests
(tests/e2e): accounts made through the services, and a client that behaves like a browser on the pages."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx
from fastapi.testclient import TestClient

from app.security.permissions import Principal
from app.services import accounts
from app.services.context import ServiceContext

TEST_PASSWORD = "correct horse battery staple"
ORIGIN = "http://testserver"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def create_account(
    ctx: ServiceContext,
    username: str,
    roles: list[str],
    organisation: str = "Association Fictive Test",
    sector: str = "ngo",
) -> accounts.UserView:
    """A user (and its organisation, made once) through the account services, with TEST_PASSWORD."""
    existing = {org.name: org.id for org in accounts.list_organisations(ctx)}
    organisation_id = existing.get(organisation) or accounts.create_organisation(ctx, organisation, sector).id
    return accounts.create_user(ctx, username, TEST_PASSWORD, organisation_id, roles)


def principal_named(ctx: ServiceContext, username: str) -> Principal:
    """An existing account, as the services see it (to read what a role sees, e.g. after the demo seed)."""
    user = next(u for u in accounts.list_users(ctx) if u.username == username)
    organisation = next(o for o in accounts.list_organisations(ctx) if o.id == user.organisation_id)
    return Principal.of(user.id, organisation.id, organisation.sector, user.roles)


def form_token(html: str) -> str:
    """The anti-forgery token of the first form on a page."""
    match = _TOKEN.search(html)
    assert match, "the page has no form token"
    return match.group(1)


class WebClient:
    """A TestClient used as a browser would: it keeps cookies, takes each form's token from the page that shows
    the form, and sends the service's own Origin with every POST (override `origin` to play another site)."""

    def __init__(self, client: TestClient, origin: str = ORIGIN) -> None:
        self.client = client
        self.origin = origin  # the service's own origin (its NRM_PUBLIC_URL's, when it has one)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return self.client.get(path, headers=dict(headers or {}), follow_redirects=False)

    def submit(
        self,
        path: str,
        data: Mapping[str, str | list[str]],
        *,
        from_page: str = "/",
        token: str | None = None,
        origin: str | None = "",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST a form as if from `from_page` (its token), or with `token` given; no redirect is followed.
        `origin`: the Origin header (by default the service's own; None: none)."""
        if token is None:
            token = form_token(self.client.get(from_page).text)
        sent = dict(headers or {})
        if origin is not None:
            sent["Origin"] = origin or self.origin
        return self.client.post(path, data={**data, "csrf_token": token}, headers=sent, follow_redirects=False)

    def sign_in(self, username: str, password: str = TEST_PASSWORD) -> httpx.Response:
        return self.submit("/sign-in", {"username": username, "password": password})

    def sign_out(self) -> httpx.Response:
        return self.submit("/sign-out", {}, from_page="/my-work")
