"""The administrator's pages and each person's account page, on both databases: organisations, accounts
(create, roles, contact, disable, enable), a password reset that forces a change at the next sign-in, and the key
status (counts only)."""

from __future__ import annotations

import re
import uuid

from app.services import accounts, audit
from app.services.context import ServiceContext
from tests.web.helpers import TEST_PASSWORD, WebClient, create_account

EN = {"Accept-Language": "en"}
TEMPORARY = "a temporary passphrase 42"


def _user_id(ctx: ServiceContext, username: str) -> str:
    return next(str(u.id) for u in accounts.list_users(ctx) if u.username == username)


def test_an_administrator_manages_organisations_and_accounts(web: WebClient, ctx: ServiceContext) -> None:
    create_account(ctx, "admin", ["admin"], "Operations (fictive)", "coordination")
    web.sign_in("admin")
    assert (
        web.submit(
            "/admin/organisations",
            {"name": "Shelter Fictive", "sector": "social_services"},
            from_page="/admin/organisations",
        ).status_code
        == 303
    )
    page = web.get("/admin/organisations", headers=EN).text
    assert "Shelter Fictive" in page and "Social services" in page
    twice = web.submit(
        "/admin/organisations",
        {"name": "Shelter Fictive", "sector": "ngo"},
        from_page="/admin/organisations",
        headers=EN,
    )
    assert twice.status_code == 422 and "already exists" in twice.text
    organisation = next(o.id for o in accounts.list_organisations(ctx) if o.name == "Shelter Fictive")

    form = {
        "username": "worker1",
        "organisation_id": str(organisation),
        "roles": ["caseworker"],
        "email": "not an address",
        "language": "en",
        "password": TEMPORARY,
    }
    refused = web.submit("/admin/users/new", form, from_page="/admin/users/new", headers=EN)
    assert refused.status_code == 422 and "name@example.org" in refused.text
    clash = web.submit(
        "/admin/users/new",
        {**form, "email": "", "roles": ["admin", "caseworker"]},
        from_page="/admin/users/new",
        headers=EN,
    )
    assert clash.status_code == 422 and "may not also hold a role that reads personal data" in clash.text
    created = web.submit("/admin/users/new", {**form, "email": "worker1@example.org"}, from_page="/admin/users/new")
    assert created.status_code == 303
    user_id = _user_id(ctx, "worker1")
    assert created.headers["location"] == f"/admin/users/{user_id}"
    view = accounts.get_user(ctx, uuid.UUID(user_id))
    assert view.email == "worker1@example.org" and view.language == "en" and view.reset_pending

    detail = f"/admin/users/{user_id}"
    assert web.submit(f"{detail}/roles", {"roles": ["caseworker", "referrer"]}, from_page=detail).status_code == 303
    assert "Referrer (first responder)" in web.get(detail, headers=EN).text
    assert web.submit(f"{detail}/contact", {"email": "", "language": "fr"}, from_page=detail).status_code == 303
    assert accounts.get_user(ctx, view.id).email is None
    assert web.submit(f"{detail}/disable", {}, from_page=detail).status_code == 303
    assert not accounts.get_user(ctx, view.id).is_active
    assert web.submit(f"{detail}/enable", {}, from_page=detail).status_code == 303
    assert "Accounts" in web.get("/admin/users", headers=EN).text and "worker1" in web.get("/admin/users").text

    keys_page = web.get("/admin/keys", headers=EN).text
    assert ctx.keyring.active_kek_id in keys_page and "Case keys" in keys_page
    actions = {e.action for e in audit.list_entries(ctx, case_id=None, after=None, limit=1000)}
    assert {
        "organisation.created",
        "user.created",
        "user.roles_changed",
        "user.contact_changed",
        "user.disabled",
        "user.enabled",
    } <= actions


def test_a_password_reset_forces_a_new_password_at_the_next_sign_in(web: WebClient, ctx: ServiceContext) -> None:
    create_account(ctx, "admin", ["admin"], "Operations (fictive)", "coordination")
    create_account(ctx, "assessor", ["assessor"])
    user_id = _user_id(ctx, "assessor")
    web.sign_in("admin")
    detail = f"/admin/users/{user_id}"
    short = web.submit(f"{detail}/password", {"password": "short"}, from_page=detail, headers=EN)
    assert short.status_code == 422 and "at least 12 characters" in short.text
    assert web.submit(f"{detail}/password", {"password": TEMPORARY}, from_page=detail).status_code == 303
    web.sign_out()

    assert web.sign_in("assessor", TEST_PASSWORD).status_code == 422  # the old password no longer works
    assert web.sign_in("assessor", TEMPORARY).status_code == 303
    # The API too: a token for the temporary password opens nothing until the new one is chosen.
    token = web.client.post("/api/v1/auth/token", data={"username": "assessor", "password": TEMPORARY}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert web.client.get("/api/v1/organisations", headers=bearer).status_code == 401
    for path in ("/my-work", "/account"):
        sent_back = web.get(path)
        assert sent_back.status_code == 303 and sent_back.headers["location"] == "/account/password"
    page = "/account/password"
    same = web.submit(page, {"current": TEMPORARY, "new": TEMPORARY, "confirm": TEMPORARY}, from_page=page, headers=EN)
    assert same.status_code == 422 and "other than the current one" in same.text
    mismatch = web.submit(
        page, {"current": TEMPORARY, "new": "my very own passphrase", "confirm": "another"}, from_page=page, headers=EN
    )
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    done = web.submit(
        page,
        {"current": TEMPORARY, "new": "my very own passphrase", "confirm": "my very own passphrase"},
        from_page=page,
    )
    assert done.status_code == 303 and done.headers["location"] == "/my-work"
    assert web.client.get("/api/v1/organisations", headers=bearer).status_code == 200
    assert web.get("/my-work").status_code == 200

    # The person sets where alerts go; the page shows it.
    assert (
        web.submit("/account/contact", {"email": "me@example.org", "language": "en"}, from_page="/account").status_code
        == 303
    )
    assert "me@example.org" in web.get("/account", headers=EN).text


def test_only_administrators_see_the_administration(web: WebClient, ctx: ServiceContext) -> None:
    create_account(ctx, "auditor", ["auditor"], "Inspection (fictive)", "coordination")
    web.sign_in("auditor")
    for path in ("/admin/users", "/admin/users/new", "/admin/organisations", "/admin/keys"):
        assert web.get(path).status_code == 403, path
    other = create_account(ctx, "other", ["referrer"])
    assert web.submit(f"/admin/users/{other.id}/disable", {}, from_page="/my-work").status_code == 403
    assert accounts.get_user(ctx, other.id).is_active
    assert re.search(r'href="/admin/', web.get("/my-work").text) is None
