"""The login throttle's rules, pure: how long an attempt must wait, given the failures counted so far.

Three counters per attempt, each reset after a window without a counted failure:

- per (account, address), strict: `per_account_and_address` failures, then that address waits out the window.
  One address guessing one account's password stops there, and its refused attempts are not counted, so it can
  never push the account itself into a delay;
- per account, loose and never a lock: from `per_account` failures (from any addresses) on, each further attempt
  waits 1 s, 2 s, 4 s, ... after the last one counted, up to `max_delay`. A distributed guesser slows to a crawl;
  the owner waits at most `max_delay`, then gets in with the right password;
- per address, across accounts: `per_address` failures, then that address waits out the window (one address
  trying a common password on many accounts).

Counting happens before the password is checked (an attempt reserves its place atomically; a success gives it
back), so parallel guesses cannot all slip under a limit: `app/services/login_throttle.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class ThrottleRules:
    per_account_and_address: int
    per_account: int
    per_address: int
    window: timedelta
    max_delay: timedelta


class SettingsLike(Protocol):
    @property
    def login_max_failures_per_account_and_address(self) -> int: ...
    @property
    def login_max_failures_per_account(self) -> int: ...
    @property
    def login_max_failures_per_address(self) -> int: ...
    @property
    def login_failure_window_minutes(self) -> int: ...
    @property
    def login_max_delay_seconds(self) -> int: ...


def rules_from(settings: SettingsLike) -> ThrottleRules:
    return ThrottleRules(
        per_account_and_address=settings.login_max_failures_per_account_and_address,
        per_account=settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window=timedelta(minutes=settings.login_failure_window_minutes),
        max_delay=timedelta(seconds=settings.login_max_delay_seconds),
    )


@dataclass(frozen=True)
class Counter:
    """Failures counted for one key, and when the last one was counted."""

    failures: int
    last_at: datetime | None


def live_failures(counter: Counter, now: datetime, window: timedelta) -> int:
    """The failures that still count: none once a whole window passed without one."""
    if counter.last_at is None or now - counter.last_at >= window:
        return 0
    return counter.failures


def account_delay(failures: int, rules: ThrottleRules) -> timedelta:
    """The wait after the last counted failure of an account: none below the limit, then doubling, capped."""
    if failures < rules.per_account:
        return timedelta(0)
    exponent = min(failures - rules.per_account, 40)  # 2**40 s is far past any cap; keeps the number small
    return min(timedelta(seconds=2**exponent), rules.max_delay)


def retry_after(pair: Counter, account: Counter, address: Counter, now: datetime, rules: ThrottleRules) -> int | None:
    """Seconds this attempt must wait (for a Retry-After header), or None if it may be checked now."""
    waits: list[timedelta] = []
    if pair.last_at is not None and live_failures(pair, now, rules.window) >= rules.per_account_and_address:
        waits.append(pair.last_at + rules.window - now)
    if address.last_at is not None and live_failures(address, now, rules.window) >= rules.per_address:
        waits.append(address.last_at + rules.window - now)
    if account.last_at is not None:
        delay = account_delay(live_failures(account, now, rules.window), rules)
        if now < account.last_at + delay:
            waits.append(account.last_at + delay - now)
    if not waits:
        return None
    return max(1, math.ceil(max(waits).total_seconds()))
