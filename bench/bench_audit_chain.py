"""Measure audit-chain verification speed over synthetic entries (not a test; run by hand).

    .venv/bin/python bench/bench_audit_chain.py [entries]

Entries are built first (their creation is not timed), then `verify_chain` runs over a generator of them, as
it would over a database cursor.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Runnable as a plain script from anywhere, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.security.audit_chain import ChainEntry, new_entry, verify_chain

ACTIONS = ("case.referred", "case.event", "identity.read", "auth.login", "case.history.read")


def build(key: bytes, count: int) -> list[ChainEntry]:
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    organisations = [str(uuid.UUID(int=i + 1)) for i in range(20)]
    cases = [str(uuid.UUID(int=10_000 + i)) for i in range(5_000)]
    entries: list[ChainEntry] = []
    previous: ChainEntry | None = None
    for i in range(count):
        previous = new_entry(
            key,
            previous,
            time=start + timedelta(seconds=i, microseconds=i % 997),
            actor_id=str(uuid.UUID(int=100 + i % 300)),
            organisation_id=organisations[i % 20],
            action=ACTIONS[i % len(ACTIONS)],
            case_id=cases[i % 5_000] if i % 7 else None,
            details={
                "event": "positive_preliminary_decision",
                "from": "referred",
                "to": "reflection",
                "n": i,
            },
        )
        entries.append(previous)
    return entries


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    key = os.urandom(32)
    entries = build(key, count)

    def stream() -> Iterator[ChainEntry]:
        yield from entries

    # Wall-clock and CPU time both: on a shared machine the wall clock also counts time spent waiting for a CPU.
    best_wall = best_cpu = 0.0
    for _ in range(5):
        wall, cpu = time.perf_counter(), time.process_time()
        result = verify_chain(key, stream())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert result.valid and result.entries == count, result
        best_wall, best_cpu = max(best_wall, count / wall), max(best_cpu, count / cpu)
        print(f"verified {count} entries in {wall:.3f} s ({cpu:.3f} s CPU): {count / wall:,.0f} entries/s")
    print(f"best: {best_wall:,.0f} entries/s wall clock, {best_cpu:,.0f} entries per CPU-second")

    # The working memory of verification itself, excluding the prepared entries.
    tracemalloc.start()
    verify_chain(key, stream())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory allocated during verification: {peak / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
