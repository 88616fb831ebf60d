"""The administrator's pages: organisations (create, disable, enable), accounts (create, roles, disable and
enable, contact for alerts, a password reset that forces a change at next sign-in) and the key status (which
key-encryption key is active and how many keys each one wraps: counts only, nothing that decrypts).

Every change goes through `app/services/accounts.py` with the signed-in administrator as `by`, so it is the
same use-case, with the same checks and audit entry, as the API's.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form
from fastapi.responses import Response

from app.security.permissions import ROLES, Permission
from app.services import accounts, keys
from app.services.errors import Conflict, DutiesNotSeparated, InvalidInput
from app.web.forms import FormErrors
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import ROLES as ROLE_NAMES
from app.web.vocabulary import SECTORS
from app.workflow import Role, Sector

router = web_router()
Admin = Annotated[Page, Depends(page_for(Permission.manage_accounts))]
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def _problems(page: Page, error: InvalidInput, errors: FormErrors, messages: dict[str, str]) -> None:
    """A service's field problems as this form's messages (one per field, in the person's language)."""
    for problem in error.errors:
        name = str(problem.loc[-1])
        errors.add(name, messages.get(name, page.gettext("Check this answer")))


def _role_items(page: Page) -> list[dict[str, str]]:
    return [{"value": role, "label": page.gettext(ROLE_NAMES.get(role, role))} for role in sorted(ROLES)]


def _sector_items(page: Page) -> list[dict[str, str]]:
    return [{"value": s.value, "label": page.gettext(SECTORS.get(s.value, s.value))} for s in Sector]


def _language_items() -> list[dict[str, str]]:
    return [{"value": code, "label": name} for code, name in LANGUAGE_NAMES.items()]


# ------------------------------------------------------------------------------------------------ organisations


def _organisations_page(page: Page, errors: FormErrors | None = None, name: str = "", sector: str = "") -> Response:
    return page.render(
        "pages/admin/organisations.html",
        errors=errors or FormErrors(),
        organisations=accounts.list_organisations(page.ctx),
        sectors=_sector_items(page),
        sector_names={k: page.gettext(v) for k, v in SECTORS.items()},
        name=name,
        sector=sector,
        status_code=422 if errors else 200,
    )


@router.get("/admin/organisations")
def organisations_page(page: Admin) -> Response:
    return _organisations_page(page)


@router.post("/admin/organisations")
def create_organisation(
    page: Admin, name: Annotated[str, Form()] = "", sector: Annotated[str, Form()] = ""
) -> Response:
    errors = FormErrors()
    if not name.strip() or len(name) > 200:
        errors.add("name", page.gettext("Enter the organisation's name (200 characters at most)"))
    if sector not in {s.value for s in Sector}:
        errors.add("sector", page.gettext("Choose the organisation's sector"))
    if not errors:
        try:
            accounts.create_organisation(page.ctx, name, sector, by=page.principal)
        except Conflict:
            errors.add("name", page.gettext("An organisation with this name already exists"))
    if errors:
        return _organisations_page(page, errors, name[:200], sector)
    return page.redirect("/admin/organisations")


@router.post("/admin/organisations/{organisation_id}/{action}")
def organisation_active(page: Admin, organisation_id: uuid.UUID, action: str) -> Response:
    if action not in ("disable", "enable"):
        return page.redirect("/admin/organisations")
    accounts.set_organisation_active(page.ctx, organisation_id, action == "enable", by=page.principal)
    return page.redirect("/admin/organisations")


# ------------------------------------------------------------------------------------------------ accounts


@router.get("/admin/users")
def users_page(page: Admin) -> Response:
    organisations = {org.id: org.name for org in accounts.list_organisations(page.ctx)}
    users = accounts.list_users(page.ctx)
    return page.render(
        "pages/admin/users.html",
        users=users,
        organisations=organisations,
        roles_text={user.id: _roles_text(page, user.roles) for user in users},
    )


def _roles_text(page: Page, roles: list[Role]) -> str:
    return ", ".join(page.gettext(ROLE_NAMES[r.value]) if r.value in ROLE_NAMES else r.value for r in roles)


def _new_user_page(page: Page, errors: FormErrors | None = None, **answers: object) -> Response:
    organisations = accounts.list_organisations(page.ctx)
    return page.render(
        "pages/admin/user_new.html",
        errors=errors or FormErrors(),
        organisations=[{"value": "", "label": page.gettext("Choose an organisation")}]
        + [{"value": str(o.id), "label": o.name} for o in organisations if o.is_active],
        roles=_role_items(page),
        languages=_language_items(),
        answers={"username": "", "organisation_id": "", "roles": [], "email": "", "language": "fr"} | answers,
        status_code=422 if errors else 200,
    )


@router.get("/admin/users/new")
def new_user_page(page: Admin) -> Response:
    return _new_user_page(page)


@router.post("/admin/users/new")
def create_user(
    page: Admin,
    username: Annotated[str, Form()] = "",
    organisation_id: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    email: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "fr",
    password: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    chosen = sorted(set(roles or []))
    answers = {
        "username": username[:80],
        "organisation_id": organisation_id,
        "roles": chosen,
        "email": email[:254],
        "language": language,
    }
    try:
        organisation = uuid.UUID(organisation_id)
    except ValueError:
        errors.add("organisation_id", page.gettext("Choose an organisation"))
    if not username.strip() or len(username) > 80 or any(c.isspace() for c in username.strip()):
        errors.add("username", page.gettext("Enter a username without spaces (80 characters at most)"))
    if not chosen:
        errors.add("roles", page.gettext("Choose at least one role"))
    if errors:
        return _new_user_page(page, errors, **answers)
    messages = {
        "password": page.gettext("Enter a temporary password of at least 12 characters, not a common one"),
        "email": page.gettext("Enter an e-mail address like name@example.org, or leave it empty"),
        "roles": page.gettext("Choose roles from the list"),
        "username": page.gettext("Enter a username without spaces (80 characters at most)"),
        "organisation_id": page.gettext("Choose an organisation"),
    }
    try:
        created = accounts.create_user(
            page.ctx,
            username,
            password,
            organisation,
            chosen,
            by=page.principal,
            email=email,
            language=language if language in LANGUAGE_NAMES else "fr",
            temporary_password=True,
        )
    except DutiesNotSeparated:
        errors.add("roles", page.gettext("An administrator may not also hold a role that reads personal data"))
    except InvalidInput as invalid:
        _problems(page, invalid, errors, messages)
    except Conflict:
        errors.add("username", page.gettext("This username is taken"))
    if errors:
        return _new_user_page(page, errors, **answers)
    return page.redirect(f"/admin/users/{created.id}")


def _user_page(page: Page, user_id: uuid.UUID, errors: FormErrors | None = None, notice: str | None = None) -> Response:
    user = accounts.get_user(page.ctx, user_id)
    organisations = {org.id: org.name for org in accounts.list_organisations(page.ctx)}
    return page.render(
        "pages/admin/user.html",
        errors=errors or FormErrors(),
        user=user,
        organisation=organisations.get(user.organisation_id, ""),
        roles=_role_items(page),
        roles_text=_roles_text(page, user.roles),
        languages=_language_items(),
        language_names=LANGUAGE_NAMES,
        notice=notice,
        status_code=422 if errors else 200,
    )


NOTICES = {
    "roles": N_("The roles were changed."),
    "contact": N_("The contact details were changed."),
    "password": N_(
        "The password was reset: give the temporary one to the person by another channel. They choose "
        "their own at their next sign-in."
    ),
    "disabled": N_("The account was disabled: its sessions and tokens were ended."),
    "enabled": N_("The account was enabled again."),
}


@router.get("/admin/users/{user_id}")
def user_page(page: Admin, user_id: uuid.UUID, done: str = "") -> Response:
    notice = NOTICES.get(done)
    return _user_page(page, user_id, notice=page.gettext(notice) if notice else None)


@router.post("/admin/users/{user_id}/roles")
def user_roles(page: Admin, user_id: uuid.UUID, roles: Annotated[list[str] | None, Form()] = None) -> Response:
    errors = FormErrors()
    try:
        accounts.set_user_roles(page.ctx, user_id, sorted(set(roles or [])), by=page.principal)
    except DutiesNotSeparated:
        errors.add("roles", page.gettext("An administrator may not also hold a role that reads personal data"))
    except InvalidInput:
        errors.add("roles", page.gettext("Choose at least one role"))
    if errors:
        return _user_page(page, user_id, errors)
    return page.redirect(f"/admin/users/{user_id}?done=roles")


@router.post("/admin/users/{user_id}/contact")
def user_contact(
    page: Admin, user_id: uuid.UUID, email: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "fr"
) -> Response:
    errors = FormErrors()
    try:
        accounts.set_contact(page.ctx, user_id, email[:300], language, by=page.principal)
    except InvalidInput as invalid:
        _problems(
            page,
            invalid,
            errors,
            {
                "email": page.gettext("Enter an e-mail address like name@example.org, or leave it empty"),
                "language": page.gettext("Choose French or English"),
            },
        )
        return _user_page(page, user_id, errors)
    return page.redirect(f"/admin/users/{user_id}?done=contact")


@router.post("/admin/users/{user_id}/password")
def user_password_reset(page: Admin, user_id: uuid.UUID, password: Annotated[str, Form()] = "") -> Response:
    errors = FormErrors()
    try:
        accounts.reset_password(page.ctx, user_id, password[:256], by=page.principal)
    except InvalidInput:
        errors.add("password", page.gettext("Enter a temporary password of at least 12 characters, not a common one"))
        return _user_page(page, user_id, errors)
    return page.redirect(f"/admin/users/{user_id}?done=password")


@router.post("/admin/users/{user_id}/{action}")
def user_active(page: Admin, user_id: uuid.UUID, action: str) -> Response:
    if action not in ("disable", "enable"):
        return page.redirect(f"/admin/users/{user_id}")
    accounts.set_user_active(page.ctx, user_id, action == "enable", by=page.principal)
    return page.redirect(f"/admin/users/{user_id}?done={action}d")


# ------------------------------------------------------------------------------------------------ keys


#: The wrapped-key tables (`app/services/wrapped_keys.py`) in words; a table added there shows by its own name.
KEY_KINDS = {
    "case keys": N_("Case keys"),
    "provider keys": N_("Support providers' keys"),
    "referral draft keys": N_("Referral drafts' keys"),
    "transfer package keys": N_("Received transfer packages' keys"),
}


@router.get("/admin/keys")
def keys_page(page: Admin) -> Response:
    keks = keys.status(page.ctx)
    return page.render(
        "pages/admin/keys.html",
        keks=keks,
        kek_rows={
            kek.kek_id: [
                [page.gettext(KEY_KINDS[what]) if what in KEY_KINDS else what, page.formats.number(count)]
                for what, count in kek.wraps.items()
            ]
            for kek in keks
        },
    )
