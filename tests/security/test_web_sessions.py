"""The rules of web sessions and forms, without a database: timeouts, form tokens, origins, cookie names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.security.web_sessions import (
    CookiePolicy,
    SessionLimits,
    form_token,
    form_token_matches,
    new_secret,
    same_origin,
    secret_hash,
)

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LIMITS = SessionLimits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
KEY = b"k" * 32


def test_secrets_are_random_and_only_their_hash_is_stored() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 43
    assert secret_hash(first) == secret_hash(first) != secret_hash(second)
    assert first not in secret_hash(first) and len(secret_hash(first)) == 64


def test_idle_timeout_ends_a_session_at_exactly_thirty_minutes_without_a_request() -> None:
    assert not LIMITS.has_ended(T0, T0, T0 + timedelta(minutes=29, seconds=59))
    assert LIMITS.has_ended(T0, T0, T0 + timedelta(minutes=30))


def test_absolute_timeout_ends_a_busy_session_after_twelve_hours() -> None:
    last_seen = T0 + timedelta(hours=11, minutes=59)
    assert not LIMITS.has_ended(T0, last_seen, last_seen + timedelta(seconds=59))
    assert LIMITS.has_ended(T0, last_seen, T0 + timedelta(hours=12))


@given(st.integers(min_value=0, max_value=24 * 3600), st.integers(min_value=0, max_value=24 * 3600))
def test_a_session_is_alive_only_within_both_limits(idle_seconds: int, age_seconds: int) -> None:
    last_seen = T0 + timedelta(seconds=max(0, age_seconds - idle_seconds))
    now = T0 + timedelta(seconds=age_seconds)
    alive = now - last_seen < LIMITS.idle and now - T0 < LIMITS.absolute
    assert LIMITS.has_ended(T0, last_seen, now) is not alive


def test_last_use_is_written_at_most_once_a_minute() -> None:
    assert not SessionLimits.needs_touch(T0, T0 + timedelta(seconds=59))
    assert SessionLimits.needs_touch(T0, T0 + timedelta(minutes=1))


def test_a_form_token_belongs_to_one_cookie_and_one_key() -> None:
    token = form_token(KEY, "cookie-one")
    assert form_token_matches(KEY, token, ["", "cookie-one"])
    assert not form_token_matches(KEY, token, ["cookie-two"])
    assert not form_token_matches(b"x" * 32, token, ["cookie-one"])
    assert not form_token_matches(KEY, "", ["cookie-one"])
    assert not form_token_matches(KEY, token, [])
    assert "cookie-one" not in token


def test_only_the_services_own_origin_may_post() -> None:
    own = "https://mnr.example.org"
    assert same_origin("https://mnr.example.org", None, own)
    assert same_origin("HTTPS://MNR.example.org", "cross-site", own)  # Origin, when sent, decides
    assert not same_origin("https://evil.example", "same-origin", own)
    assert not same_origin("http://mnr.example.org", None, own)  # another scheme is another origin
    assert not same_origin("null", None, own)
    assert same_origin("null", "same-origin", own)  # what a browser sends under Referrer-Policy: no-referrer
    assert not same_origin("null", "cross-site", own)
    assert same_origin(None, "same-origin", own)
    assert not same_origin(None, "same-site", own)
    assert not same_origin(None, "cross-site", own)
    assert not same_origin(None, None, own)


def test_cookies_take_the_host_prefix_only_when_secure() -> None:
    secure, plain = CookiePolicy(secure=True), CookiePolicy(secure=False)
    assert secure.session == "__Host-nrm_session" and plain.session == "nrm_session"
    assert secure.attributes() == {"max_age": None, "path": "/", "secure": True, "httponly": True, "samesite": "lax"}
    assert plain.attributes(60)["secure"] is False and plain.attributes(60)["max_age"] == 60
