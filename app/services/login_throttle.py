"""The login throttle's counters in the database, counted and checked in one atomic step.

An attempt first reserves its place: in one short transaction the three counter rows (the pair, the account,
the address) are created if missing, locked in key order (`SELECT ... FOR UPDATE`; `BEGIN IMMEDIATE` on
SQLite), checked against the rules, and incremented. A refused attempt rolls back and counts nothing. So 40
parallel guesses against a limit of 5 check exactly 5 passwords, and a refused attacker never adds to the
account's count. The password is checked afterwards, outside any transaction; a success gives the reservation
back (`release`), a failure keeps it as the failure it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import LoginThrottle
from app.security.login_throttle import Counter, ThrottleRules, live_failures, retry_after
from app.services.errors import TooManyRequests


@dataclass(frozen=True)
class ThrottleKeys:
    pair: str
    account: str
    address: str

    @property
    def ordered(self) -> list[str]:
        # One lock order for everyone, or two attempts could each hold a row the other waits for.
        return sorted({self.pair, self.account, self.address})


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}\0{value}".encode()).hexdigest()


def keys_for(username: str, client_address: str) -> ThrottleKeys:
    account = username.strip().casefold()
    return ThrottleKeys(
        pair=_key("pair", f"{account}\0{client_address}"),
        account=_key("account", account),
        address=_key("address", client_address),
    )


def _locked_rows(session: Session, keys: ThrottleKeys, now: datetime) -> dict[str, LoginThrottle]:
    rows = [{"key": key, "failures": 0, "last_attempt_at": now} for key in keys.ordered]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(LoginThrottle).values(rows).on_conflict_do_nothing())
    locked = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key.in_(keys.ordered))
        .order_by(LoginThrottle.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.key: row for row in locked}


def _counter(row: LoginThrottle) -> Counter:
    return Counter(row.failures, row.last_attempt_at if row.failures else None)


def reserve(session: Session, keys: ThrottleKeys, now: datetime, rules: ThrottleRules) -> None:
    """Count this attempt as a failure now, or refuse it (TooManyRequests, with Retry-After) counting nothing.

    Run it in a transaction of its own and commit at once: the rows stay locked until then."""
    rows = _locked_rows(session, keys, now)
    wait = retry_after(
        _counter(rows[keys.pair]), _counter(rows[keys.account]), _counter(rows[keys.address]), now, rules
    )
    if wait is not None:
        raise TooManyRequests("too many failed logins; try again later", retry_after_seconds=wait)
    for row in rows.values():
        row.failures = live_failures(_counter(row), now, rules.window) + 1
        row.last_attempt_at = now


def release(session: Session, keys: ThrottleKeys, now: datetime) -> None:
    """The password was right: the pair starts afresh, and the reservation is given back to the others."""
    rows = _locked_rows(session, keys, now)
    for key, row in rows.items():
        row.failures = 0 if key == keys.pair else max(0, row.failures - 1)


def forget_stale(session: Session, now: datetime, rules: ThrottleRules) -> int:
    """Delete counters no rule looks at any more (called by the worker, so the table does not grow for ever)."""
    horizon = now - max(rules.window, rules.max_delay)
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.last_attempt_at < horizon))
    return int(cast(CursorResult[Any], result).rowcount)
