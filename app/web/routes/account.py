"""Each person's own account: where their deadline alerts go and in which language, and their password. After an
administrator's reset, every page sends the person to `/account/password` until they chose a new one
(`app/web/pages.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import Response

from app.services import accounts
from app.services.errors import InvalidInput
from app.web.forms import FormErrors
from app.web.pages import HOME_PATH, Page, SignedInPage
from app.web.routing import web_router

router = web_router()
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def _account_page(page: Page, errors: FormErrors | None = None, notice: str | None = None, **answers: str) -> Response:
    user = accounts.get_user(page.ctx, page.principal.user_id)
    return page.render(
        "pages/account.html",
        errors=errors or FormErrors(),
        user=user,
        email=answers.get("email", user.email or ""),
        language_choice=answers.get("language", user.language),
        languages=[{"value": code, "label": name} for code, name in LANGUAGE_NAMES.items()],
        notice=notice,
        status_code=422 if errors else 200,
    )


@router.get("/account")
def account_page(page: SignedInPage, done: str = "") -> Response:
    notices = {
        "contact": page.gettext("Your contact details were changed."),
        "password": page.gettext("Your password was changed."),
    }
    return _account_page(page, notice=notices.get(done))


@router.post("/account/contact")
def account_contact(
    page: SignedInPage, email: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "fr"
) -> Response:
    try:
        accounts.set_contact(page.ctx, page.principal.user_id, email[:300], language, by=page.principal)
    except InvalidInput:
        errors = FormErrors()
        errors.add("email", page.gettext("Enter an e-mail address like name@example.org, or leave it empty"))
        return _account_page(page, errors, email=email[:300], language=language)
    return page.redirect("/account?done=contact")


def _password_page(page: Page, errors: FormErrors | None = None) -> Response:
    forced = page.signed_in is not None and page.signed_in.must_change_password
    return page.render(
        "pages/account_password.html", errors=errors or FormErrors(), forced=forced, status_code=422 if errors else 200
    )


@router.get("/account/password")
def password_page(page: SignedInPage) -> Response:
    return _password_page(page)


@router.post("/account/password")
def change_password(
    page: SignedInPage,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    if not current:
        errors.add("current", page.gettext("Enter your current password"))
    if new != confirm:
        errors.add("confirm", page.gettext("The two new passwords are not the same"))
    if not errors:
        try:
            accounts.change_password(page.ctx, page.principal, current[:256], new[:300])
        except InvalidInput as invalid:
            for problem in invalid.errors:
                if problem.loc[-1] == "current":
                    errors.add("current", page.gettext("Your current password is not right"))
                else:
                    errors.add(
                        "new",
                        page.gettext("Choose a new password of at least 12 characters, other than the current one"),
                    )
    if errors:
        return _password_page(page, errors)
    forced = page.signed_in is not None and page.signed_in.must_change_password
    return page.redirect(HOME_PATH if forced else "/account?done=password")
