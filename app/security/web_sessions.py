"""Web sessions and form protection: the rules, without a database or HTTP.

- A session cookie holds a random secret (256 bits) and nothing else; the database keeps only its SHA-256, so a
  copy of the database, a log or a backup opens no session. High-entropy secrets need no slow hash.
- A session ends after `idle` without a request or `absolute` after sign-in, measured on the application clock.
  Its last-seen time is written at most once a minute (`TOUCH_INTERVAL`), so that reading pages does not mean
  one write per request; a session can therefore end up to a minute early, never late.
- Every unsafe request carries a form token: an HMAC of the cookie the page was served with (the session secret
  once signed in, a visitor nonce before), so it is per session, stateless, and useless without the cookie. The
  request must also come from the service's own origin (`Origin`, else `Sec-Fetch-Site`: see `same_origin`).
- Cookies are `HttpOnly`, `SameSite=Lax`, and `Secure` with the `__Host-` prefix when the service is served over
  HTTPS (the prefix makes the browser refuse a cookie set by a sibling domain or over plain HTTP).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SECRET_BYTES = 32
TOUCH_INTERVAL = timedelta(minutes=1)
FORM_TOKEN_FIELD = "csrf_token"  # noqa: S105 - a form field's name, not a secret
_SESSION_COOKIE = "nrm_session"
_VISITOR_COOKIE = "nrm_visitor"
_LANGUAGE_COOKIE = "nrm_lang"


def new_secret() -> str:
    """A fresh cookie value: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_hash(secret: str) -> str:
    """What the database stores for a session secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta

    def has_ended(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        """Whether a session opened at `created_at` and last used at `last_seen_at` has timed out by `now`."""
        return now - last_seen_at >= self.idle or now - created_at >= self.absolute

    @staticmethod
    def needs_touch(last_seen_at: datetime, now: datetime) -> bool:
        """Whether this request should record itself as the session's last use."""
        return now - last_seen_at >= TOUCH_INTERVAL


def form_token(key: bytes, cookie_value: str) -> str:
    """The anti-forgery token for pages served with this cookie value."""
    digest = hmac.new(key, b"form-token\x00" + cookie_value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_token_matches(key: bytes, token: str, cookie_values: Iterable[str]) -> bool:
    """Whether `token` was made for one of the cookies this request carries."""
    if not token:
        return False
    return any(hmac.compare_digest(token, form_token(key, value)) for value in cookie_values if value)


def same_origin(origin: str | None, sec_fetch_site: str | None, own_origin: str) -> bool:
    """Whether an unsafe request comes from the service's own pages.

    A named `Origin` must be ours. Under `Referrer-Policy: no-referrer` (which every page sends) browsers post
    forms with `Origin: null`, so a null or missing origin is accepted only when `Sec-Fetch-Site` says
    same-origin; browsers send that header to HTTPS and localhost addresses, which is where the service runs."""
    if origin and origin != "null":
        return origin.rstrip("/").lower() == own_origin.rstrip("/").lower()
    return sec_fetch_site == "same-origin"


@dataclass(frozen=True)
class CookiePolicy:
    """Names and attributes of the web application's cookies."""

    secure: bool

    def _name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    @property
    def session(self) -> str:
        return self._name(_SESSION_COOKIE)

    @property
    def visitor(self) -> str:
        return self._name(_VISITOR_COOKIE)

    @property
    def language(self) -> str:
        return self._name(_LANGUAGE_COOKIE)

    def attributes(self, max_age: int | None = None) -> dict[str, object]:
        """Keyword arguments for Starlette's `Response.set_cookie`."""
        return {
            "max_age": max_age,
            "path": "/",
            "secure": self.secure,
            "httponly": True,
            "samesite": "lax",
        }
