"""What every page handler receives: a `Page` (language, signed-in person, form token, renderer).

Declare one of these on each route of a web router (see docs/web.md):

- `PublicPage`: anyone, signed in or not (the sign-in page, the language switch);
- `SignedInPage`: a signed-in person, else a redirect to the sign-in page;
- `page_for(Permission.x)`: a signed-in person whose roles allow `x`, else the 403 page.

`page.principal` is the same `Principal` a bearer token gives the API, so page handlers call the same service
functions with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.security.permissions import Permission, Principal
from app.security.web_sessions import CookiePolicy, form_token, new_secret
from app.services import web_sessions
from app.services.context import ServiceContext
from app.services.errors import Forbidden, Unauthenticated
from app.services.web_sessions import SignedIn
from app.web.formatting import Formats
from app.web.i18n import LANGUAGES, negotiate, translations
from app.web.navigation import items_for
from app.web.rendering import Renderer

SIGN_IN_PATH = "/"
HOME_PATH = "/my-work"
PASSWORD_PATH = "/account/password"  # noqa: S105 - a page path, not a secret
_MAX_COOKIE_LENGTH = 128
_UNRESOLVED = object()


class SignInRequired(Exception):
    """The page needs a signed-in person; `session_ended` when the browser had a session that no longer works."""

    def __init__(self, session_ended: bool) -> None:
        super().__init__("sign in required")
        self.session_ended = session_ended


class PasswordChangeRequired(Exception):
    """An administrator reset this person's password: every page sends them to choose a new one first."""


class FormRefused(Exception):
    """An unsafe request without a valid form token, or from another origin (cross-site request forgery)."""


def service_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


def renderer(request: Request) -> Renderer:
    web: Renderer = request.app.state.web_renderer
    return web


def cookie_policy(ctx: ServiceContext) -> CookiePolicy:
    return CookiePolicy(secure=ctx.settings.cookies_secure)


def _cookie(request: Request, name: str) -> str:
    value = request.cookies.get(name, "")
    return value if 0 < len(value) <= _MAX_COOKIE_LENGTH else ""


def session_secret(request: Request) -> str:
    """The session cookie's value, or ''."""
    return _cookie(request, cookie_policy(service_context(request)).session)


def language_of(request: Request) -> str:
    """The language chosen with the switch (its cookie), else the browser's preference, else French."""
    chosen = request.cookies.get(cookie_policy(service_context(request)).language)
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language"))


def safe_local_path(candidate: str | None, default: str = SIGN_IN_PATH) -> str:
    """A path on this service to send a browser back to: never another site (`//host`, `/\\host`, `https:`)."""
    if not candidate or not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return default
    if any(c in candidate for c in "\\\r\n\t") or len(candidate) > 512:
        return default
    return candidate


@dataclass
class Page:
    """One request's page: render a template in the person's language, or redirect."""

    request: Request
    language: str
    signed_in: SignedIn | None
    form_token: str
    _new_visitor: str | None = field(default=None, repr=False)

    @property
    def ctx(self) -> ServiceContext:
        """The service context to pass to service functions, with `principal`."""
        return service_context(self.request)

    @property
    def principal(self) -> Principal:
        if self.signed_in is None:
            raise SignInRequired(session_ended=False)
        return self.signed_in.principal

    @property
    def path(self) -> str:
        """This page's path, without its query (what the language switch comes back to)."""
        return self.request.url.path

    @property
    def navigation(self) -> list[dict[str, Any]]:
        if self.signed_in is None:
            return []
        return [
            {"label": item.label, "path": item.path, "current": self.path == item.path}
            for item in items_for(self.signed_in.principal)
        ]

    @property
    def formats(self) -> Formats:
        """Dates, numbers and deadlines in words in the page's language, as templates have them."""
        return renderer(self.request).formats[self.language]

    def gettext(self, message: str, **variables: object) -> str:
        """Translate a message of Python code: a literal (extracted where it is called) or a constant marked
        with `N_`. `%(name)s` placeholders take `variables`."""
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, count: int, **variables: object) -> str:
        """Translate a message whose form depends on `count`; `%(num)s` is the count, in the page's language."""
        text = translations(self.language).ngettext(singular, plural, count)
        return text % {"num": self.formats.number(count), **variables}

    def render(
        self, template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        """The template, with `page` (this object) in its context, as an HTML response."""
        html = renderer(self.request).render(self.language, template, {"page": self, **context})
        response = HTMLResponse(html, status_code=status_code, headers=headers)
        if self._new_visitor:
            policy = cookie_policy(service_context(self.request))
            response.set_cookie(policy.visitor, self._new_visitor, **policy.attributes())  # type: ignore[arg-type]
        return response

    @staticmethod
    def redirect(path: str) -> RedirectResponse:
        """See other (303): after a POST, the browser GETs `path`, so a reload never posts twice."""
        return RedirectResponse(safe_local_path(path, HOME_PATH), status_code=303)


def build_page(request: Request, signed_in: SignedIn | None) -> Page:
    """A page for this request. Before sign-in, forms are bound to a random visitor cookie, set if missing."""
    ctx = service_context(request)
    policy = cookie_policy(ctx)
    new_visitor = None
    if signed_in is not None:
        bound_to = session_secret(request)
    else:
        bound_to = _cookie(request, policy.visitor)
        if not bound_to:
            bound_to = new_visitor = new_secret()
    return Page(
        request=request,
        language=language_of(request),
        signed_in=signed_in,
        form_token=form_token(ctx.web_form_key, bound_to),
        _new_visitor=new_visitor,
    )


def current_signed_in(request: Request) -> SignedIn | None:
    """The signed-in person, or None; resolved once per request."""
    known = getattr(request.state, "signed_in", _UNRESOLVED)
    if known is not _UNRESOLVED:
        return cast(SignedIn | None, known)
    secret = session_secret(request)
    signed_in = None
    if secret:
        try:
            signed_in = web_sessions.resolve(service_context(request), secret)
        except Unauthenticated:
            signed_in = None
    request.state.signed_in = signed_in
    return signed_in


def public_page(request: Request) -> Page:
    return build_page(request, current_signed_in(request))


def signed_in_page(request: Request) -> Page:
    signed_in = current_signed_in(request)
    if signed_in is None:
        raise SignInRequired(session_ended=bool(session_secret(request)))
    if signed_in.must_change_password and request.url.path != PASSWORD_PATH:
        raise PasswordChangeRequired()
    return build_page(request, signed_in)


PublicPage = Annotated[Page, Depends(public_page)]
SignedInPage = Annotated[Page, Depends(signed_in_page)]


def page_for(permission: Permission) -> Callable[..., Page]:
    """A dependency: the page of a signed-in person whose roles allow `permission`, else the 403 page."""

    def dependency(page: SignedInPage) -> Page:
        if not page.principal.can(permission):
            raise Forbidden("your role does not allow this page")
        return page

    dependency.__name__ = f"page_for_{permission.value}"
    return dependency
