"""Micro-benchmarks: a workflow decision, a case's identity encrypted and decrypted, audit verification,
deadline computation. Each returns per-operation times (µs) so the report can give median, p95 and p99."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.security.audit_chain import verify_chain
from app.security.envelope import decrypt_json, encrypt_json, new_case_key
from app.services import audit, audit_stretches
from app.services.context import ServiceContext
from app.workflow import decide, load_policy
from app.workflow.calendars import Duration
from app.workflow.states import DurationUnit
from bench.bench_audit_chain import build
from bench.bench_workflow import scenario
from bench.generate import ACCOUNT, PERSON


@dataclass(frozen=True)
class Timing:
    name: str
    unit_us: list[float]  # per operation, one figure per batch
    rate: float  # operations per second (best batch)
    note: str = ""

    def percentile(self, p: float) -> float:
        ordered = sorted(self.unit_us)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def median(self) -> float:
        return statistics.median(self.unit_us)


def _batches(name: str, operation: Callable[[], object], per_batch: int, batches: int, note: str = "") -> Timing:
    """Time `batches` batches of `per_batch` calls; one per-operation figure per batch (timer cost amortised)."""
    for _ in range(per_batch):  # warm caches (holidays, zones, AES-GCM objects)
        operation()
    figures = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(per_batch):
            operation()
        figures.append((time.perf_counter() - started) / per_batch * 1e6)
    return Timing(name, figures, 1e6 / min(figures), note)


def workflow_decision() -> Timing:
    policy = load_policy("fr")
    calls = scenario()
    index = [0]

    def one() -> None:
        case, actor, request, now = calls[index[0] % len(calls)]
        index[0] += 1
        decide(case, actor, request, now, policy)

    return _batches("workflow decision (`decide`)", one, 1_000, 200, f"mix of the {len(calls)} events of a case")


def identity_crypto() -> list[Timing]:
    key, case_id = new_case_key(), "3f1c2d4e-0000-4000-8000-000000000001"
    person_blob = encrypt_json(key, case_id, "person", PERSON)
    account_blob = encrypt_json(key, case_id, "account", ACCOUNT)

    def seal() -> None:
        encrypt_json(key, case_id, "person", PERSON)
        encrypt_json(key, case_id, "account", ACCOUNT)

    def open_() -> None:
        decrypt_json(key, case_id, "person", person_blob)
        decrypt_json(key, case_id, "account", account_blob)

    size = f"{len(person_blob) + len(account_blob)} bytes sealed"
    return [
        _batches("encrypt identity (person + account)", seal, 500, 200, size),
        _batches("decrypt identity (person + account)", open_, 500, 200, size),
    ]


def deadline_computation() -> Timing:
    calendar = load_policy("fr").calendar
    durations = [
        Duration(value=5, unit=DurationUnit.working_days),
        Duration(value=30, unit=DurationUnit.calendar_days),
        Duration(value=24, unit=DurationUnit.hours),
        Duration(value=10, unit=DurationUnit.working_days),
    ]
    start = datetime(2027, 12, 20, 16, 30, tzinfo=UTC)
    index = [0]

    def one() -> None:
        i = index[0]
        index[0] += 1
        calendar.due_after(start + timedelta(hours=7 * (i % 500)), durations[i % len(durations)])

    return _batches("deadline computation (`Calendar.due_after`)", one, 1_000, 200, "fr calendar, mixed units")


def audit_verification_memory(count: int = 200_000) -> Timing:
    """`verify_chain` alone over entries in memory (the existing bench_audit_chain's set-up)."""
    key = os.urandom(32)
    entries = build(key, count)
    figures = []
    for _ in range(5):
        started = time.perf_counter()
        result = verify_chain(key, iter(entries))
        figures.append((time.perf_counter() - started) / count * 1e6)
        assert result.valid
    return Timing("audit verification, in memory", figures, 1e6 / min(figures), f"{count:,} entries")


def audit_verification_database(ctx: ServiceContext, cap: int = 500_000) -> list[Timing]:
    """`nrm audit verify`'s way over the generated entries, reading them from the database included: in
    stretches with one process per CPU (what the command does) over the log's first `cap` entries, and one
    process over its first 100 000. Capped so that a million-case run (6 million entries) stays within the
    machine's limits; the rate does not depend on where the stretch lies."""
    processes = os.cpu_count() or 1
    key = ctx.keyring.audit_hmac_key
    upto = min(audit.head(ctx).sequence, cap)
    started = time.perf_counter()
    result = audit_stretches.verify_in_processes(ctx.settings.database_url, key, upto, processes=processes)
    elapsed = time.perf_counter() - started
    assert result is not None and result.valid, result
    whole = Timing(
        "audit verification, from the database",
        [elapsed / upto * 1e6],
        upto / elapsed,
        f"entries 1 to {upto:,}, {processes} processes (`nrm audit verify`)",
    )
    last = min(upto, 100_000)
    started = time.perf_counter()
    stretch = audit_stretches.verify_stretch(ctx.settings.database_url, key, 1, last, None)
    elapsed = time.perf_counter() - started
    assert stretch.valid
    one = Timing(
        "audit verification, from the database, one process",
        [elapsed / last * 1e6],
        last / elapsed,
        f"entries 1 to {last:,}",
    )
    return [whole, one]
