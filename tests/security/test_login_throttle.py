"""Issue 10, points 8 and 9: the login throttle cannot be raced, hashing holds no database lock, a stranger cannot
lock an account out, and the client address cannot be spoofed.

The attacks: 40 parallel guesses against a limit of 5 were all (or most) checked; 40 failed logins on SQLite held
the write lock while hashing and delayed a referral by seconds; five wrong passwords from anywhere locked the
owner out, right password included; `X-Forwarded-For` was believed from loopback, so one attacker looked like
many addresses."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app.cli import cli
from app.clock import FrozenClock
from app.config import SettingsError, get_settings, load_settings
from app.main import create_app
from app.services import accounts
from app.services.context import ServiceContext
from app.services.errors import TooManyRequests, Unauthenticated
from tests.api.conftest import TEST_PASSWORD, World, assert_problem

GUESSES = 40


def _user(ctx: ServiceContext, username: str = "target") -> None:
    org = accounts.create_organisation(ctx, f"Org of {username}", "ngo")
    accounts.create_user(ctx, username, TEST_PASSWORD, org.id, ["referrer"])


@contextmanager
def _counting_password_checks(
    monkeypatch: pytest.MonkeyPatch, also: Callable[[], None] | None = None
) -> Iterator[list[int]]:
    calls: list[int] = []
    real = accounts.verify_password

    def counted(password: str, password_hash: str | None) -> bool:
        calls.append(1)
        if also is not None:
            also()
        return real(password, password_hash)

    monkeypatch.setattr(accounts, "verify_password", counted)
    yield calls


def test_forty_parallel_guesses_against_a_limit_of_five_check_five_passwords(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ctx.settings.login_max_failures_per_account_and_address == 5
    _user(ctx)
    barrier = threading.Barrier(GUESSES)

    def guess(attempt: int) -> str:
        barrier.wait()
        try:
            accounts.log_in(ctx, "target", f"wrong guess {attempt}", "203.0.113.9")
        except Unauthenticated:
            return "checked"
        except TooManyRequests:
            return "throttled"
        return "logged in"

    with _counting_password_checks(monkeypatch) as calls, ThreadPoolExecutor(GUESSES) as pool:
        outcomes = list(pool.map(guess, range(GUESSES)))
    assert outcomes.count("checked") == 5 and outcomes.count("throttled") == GUESSES - 5
    assert len(calls) == 5


def _write_lock_is_free(ctx: ServiceContext) -> Callable[[], None]:
    """A probe run while a password is hashed: no transaction of the service may be open, let alone the lock."""
    url = make_url(ctx.settings.database_url)
    if url.get_backend_name() == "sqlite":

        def probe() -> None:
            connection = sqlite3.connect(str(url.database), timeout=0, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")  # raises "database is locked" if a writer holds it
                connection.execute("ROLLBACK")
            finally:
                connection.close()

        return probe

    engine = create_engine(url, poolclass=None)

    def probe_postgres() -> None:
        with engine.connect() as connection:
            open_transactions = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )
            ).scalar_one()
        assert open_transactions == 0, "a transaction stays open while a password is hashed"

    return probe_postgres


def test_passwords_are_checked_outside_any_transaction(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    _user(ctx)
    with _counting_password_checks(monkeypatch, also=_write_lock_is_free(ctx)) as calls:
        with pytest.raises(Unauthenticated):
            accounts.log_in(ctx, "target", "wrong password", "198.51.100.7")
        with pytest.raises(Unauthenticated):
            accounts.log_in(ctx, "nobody-by-that-name", "wrong password", "198.51.100.7")
        assert accounts.log_in(ctx, "target", TEST_PASSWORD, "198.51.100.7").access_token
    assert len(calls) == 3


def _client(ctx: ServiceContext, address: str) -> TestClient:
    return TestClient(create_app(context=ctx), raise_server_exceptions=False, client=(address, 40000))


def _log_in(client: TestClient, password: str, headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/v1/auth/token", data={"username": "target", "password": password}, headers=headers)


def test_one_address_hammering_does_not_lock_the_owner_out(ctx: ServiceContext) -> None:
    _user(ctx)
    attacker, owner = _client(ctx, "203.0.113.9"), _client(ctx, "198.51.100.7")
    statuses = [_log_in(attacker, f"guess {n}").status_code for n in range(30)]
    assert statuses == [401] * 5 + [429] * 25
    refused = _log_in(attacker, TEST_PASSWORD)  # even the right password, from the hammering address
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert _log_in(owner, TEST_PASSWORD).status_code == 200


def test_guesses_from_many_addresses_slow_the_account_with_growing_delays_not_a_lock(
    ctx: ServiceContext, clock: FrozenClock
) -> None:
    limit = ctx.settings.login_max_failures_per_account
    _user(ctx)
    for n in range(limit):
        assert _log_in(_client(ctx, f"203.0.113.{n + 1}"), "guess").status_code == 401
    waits = []
    for n in range(4):
        fresh = _client(ctx, f"198.51.100.{n + 1}")
        refused = _log_in(fresh, "guess")
        assert_problem(refused, 429)
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(timedelta(seconds=waits[-1]))
        assert _log_in(fresh, "guess").status_code == 401  # after the delay, one more guess is checked
    assert waits == [1, 2, 4, 8]
    # The owner, from yet another address, waits the current delay at most, then gets in.
    owner = _client(ctx, "192.0.2.50")
    refused = _log_in(owner, TEST_PASSWORD)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) == 16
    clock.advance(timedelta(seconds=16))
    assert _log_in(owner, TEST_PASSWORD).status_code == 200
    # The delay is capped: never more than NRM_LOGIN_MAX_DELAY_SECONDS, however many guesses.
    assert ctx.settings.login_max_delay_seconds == 300


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(ctx: ServiceContext) -> None:
    _user(ctx)
    loopback = _client(ctx, "127.0.0.1")
    spoofed = [_log_in(loopback, "guess", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(8)]
    assert spoofed == [401] * 5 + [429] * 3  # one address, whatever the header says


def test_forwarded_for_from_a_trusted_proxy_names_the_client(ctx: ServiceContext) -> None:
    ctx.settings = ctx.settings.model_copy(update=_trusted("10.0.0.0/8"))
    _user(ctx)
    proxy = _client(ctx, "10.1.2.3")
    hammering = {"X-Forwarded-For": "203.0.113.9"}
    assert [_log_in(proxy, "guess", headers=hammering).status_code for _ in range(7)] == [401] * 5 + [429] * 2
    # A client behind the proxy, from another address, gets in; a forged leftmost entry changes nothing.
    owner = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}
    assert _log_in(proxy, TEST_PASSWORD, headers=owner).status_code == 200
    forged = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    assert_problem(_log_in(proxy, TEST_PASSWORD, headers=forged), 429)


def _trusted(value: str) -> dict[str, Any]:
    return {"trusted_proxies": load_settings(trusted_proxies=value).trusted_proxies}


def test_trusted_proxies_are_read_as_networks_and_a_bad_one_names_the_variable() -> None:
    settings = load_settings(trusted_proxies="10.0.0.0/8, 192.0.2.1")
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.1/32"]
    assert load_settings().trusted_proxies == ()
    with pytest.raises(SettingsError, match="NRM_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="10.0.0.0/8, not-an-address")


def test_serve_does_not_let_uvicorn_believe_forwarded_headers(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setenv("NRM_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("NRM_KEY_FILE", str(ctx.settings.key_file))
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: served.update(kwargs))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # uvicorn's default rewrites the client address from X-Forwarded-For sent by 127.0.0.1; the service decides.
    assert served["proxy_headers"] is False


def test_the_login_throttle_of_the_api_world_still_holds(world: World, client: TestClient) -> None:
    world.account("someone", ["referrer"])
    for _ in range(5):
        assert_problem(client.post("/api/v1/auth/token", data={"username": "someone", "password": "x"}), 401)
    assert_problem(client.post("/api/v1/auth/token", data={"username": "someone", "password": TEST_PASSWORD}), 429)
