"""The login throttle's pure rules (app/security/login_throttle.py), as properties: the account is never locked
for longer than the cap, delays only grow with failures, and a quiet window forgives everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.security.login_throttle import Counter, ThrottleRules, account_delay, retry_after

RULES = ThrottleRules(
    per_account_and_address=5,
    per_account=10,
    per_address=20,
    window=timedelta(minutes=15),
    max_delay=timedelta(minutes=5),
)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
failures = st.integers(min_value=0, max_value=10_000)
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2))


@given(failures, failures)
def test_the_account_delay_grows_with_failures_and_never_passes_the_cap(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert account_delay(low, RULES) <= account_delay(high, RULES) <= RULES.max_delay
    assert (account_delay(low, RULES) == timedelta(0)) == (low < RULES.per_account)


@given(failures, failures, failures, ages, ages, ages)
def test_no_wait_is_longer_than_the_window_or_the_cap_and_a_quiet_window_forgives(
    pair: int, account: int, address: int, pair_age: timedelta, account_age: timedelta, address_age: timedelta
) -> None:
    counters = [Counter(n, NOW - age) for n, age in ((pair, pair_age), (account, account_age), (address, address_age))]
    wait = retry_after(*counters, NOW, RULES)
    if wait is not None:
        assert 1 <= wait <= max(RULES.window, RULES.max_delay).total_seconds()
    quiet = NOW + RULES.window + max(pair_age, account_age, address_age)
    assert retry_after(*counters, quiet + timedelta(seconds=1), RULES) is None


@given(
    st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=9), st.integers(min_value=0, max_value=19)
)
def test_below_every_limit_an_attempt_is_checked_at_once(pair: int, account: int, address: int) -> None:
    assert retry_after(Counter(pair, NOW), Counter(account, NOW), Counter(address, NOW), NOW, RULES) is None
