"""Sign in, sign out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from app.api.deps import client_address
from app.services import web_sessions
from app.services.errors import TooManyRequests, Unauthenticated
from app.web.forms import FormErrors
from app.web.i18n import LANGUAGES, N_
from app.web.pages import (
    HOME_PATH,
    SIGN_IN_PATH,
    Page,
    PublicPage,
    cookie_policy,
    safe_local_path,
    service_context,
    session_secret,
)
from app.web.routing import web_router

router = web_router()

# Notices the sign-in page may show, by the `status` in its query (never anything about a person).
NOTICES = {
    "signed-out": N_("You have signed out."),
    "session-ended": N_("Your session has ended. Sign in again to continue."),
}
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Longer than any username or password the service accepts: refused without checking, and without echoing.
_MAX_USERNAME = 80
_MAX_PASSWORD = 256


def _sign_in_form(
    page: Page,
    *,
    username: str = "",
    errors: FormErrors | None = None,
    status_code: int = 200,
    notice: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return page.render(
        "pages/sign_in.html",
        status_code=status_code,
        headers=headers,
        username=username,
        errors=errors or FormErrors(),
        notice=notice,
    )


@router.get("/")
def sign_in_page(page: PublicPage, status: str | None = None) -> Response:
    if page.signed_in is not None:
        return page.redirect(HOME_PATH)
    notice = NOTICES.get(status or "")
    return _sign_in_form(page, notice=page.gettext(notice) if notice else None)


@router.post("/sign-in")
def sign_in(
    page: PublicPage,
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    if not username.strip():
        errors.add("username", page.gettext("Enter your username"))
    if not password:
        errors.add("password", page.gettext("Enter your password"))
    if errors:
        return _sign_in_form(page, username=username[:_MAX_USERNAME], errors=errors, status_code=422)
    if len(username) > _MAX_USERNAME or len(password) > _MAX_PASSWORD:
        username, password = "", ""  # never a valid account; counted as a failure like any other
    ctx = service_context(request)
    try:
        secret = web_sessions.sign_in(ctx, username, password, client_address(request))
    except TooManyRequests as refused:
        minutes = max(1, refused.retry_after_seconds // 60)
        errors.add(
            "username",
            page.ngettext(
                "Too many attempts to sign in. Wait %(num)s minute, then try again.",
                "Too many attempts to sign in. Wait %(num)s minutes, then try again.",
                minutes,
            ),
        )
        retry = {"Retry-After": str(refused.retry_after_seconds)}
        return _sign_in_form(page, username=username, errors=errors, status_code=429, headers=retry)
    except Unauthenticated:
        errors.add("username", page.gettext("The username or the password is not right"))
        return _sign_in_form(page, username=username, errors=errors, status_code=422)
    previous = session_secret(request)
    if previous:  # signing in again on this browser ends the session it had
        web_sessions.sign_out(ctx, previous)
    response = page.redirect(HOME_PATH)
    policy = cookie_policy(ctx)
    # No max-age: the cookie leaves with the browser session; the server ends it sooner by its timeouts.
    response.set_cookie(policy.session, secret, **policy.attributes())  # type: ignore[arg-type]
    return response


@router.post("/sign-out")
def sign_out(page: PublicPage, request: Request) -> Response:
    secret = session_secret(request)
    if secret:
        web_sessions.sign_out(service_context(request), secret)
    response = page.redirect(f"{SIGN_IN_PATH}?status=signed-out")
    response.delete_cookie(cookie_policy(service_context(request)).session, path="/")
    return response


@router.post("/language")
def choose_language(
    page: PublicPage,
    request: Request,
    language: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = SIGN_IN_PATH,
) -> Response:
    response = page.redirect(safe_local_path(next_path))
    if language in LANGUAGES:
        policy = cookie_policy(service_context(request))
        response.set_cookie(policy.language, language, **policy.attributes(LANGUAGE_COOKIE_SECONDS))  # type: ignore[arg-type]
    return response
