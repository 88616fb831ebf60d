"""The worker's pass at scale: `scheduler.run_pass` over the generated data, timed.

The first pass meets the backlog the generated data leave (windows that lapsed and closed cases past their
retention, as if no worker had run for years); the second pass is what a worker running every few minutes
does: the same selections over the whole database, with little or nothing left to act on."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.services.context import ServiceContext
from app.services.scheduler import PassReport, run_pass


@dataclass(frozen=True)
class TimedPass:
    seconds: float
    report: PassReport


def passes(ctx: ServiceContext, count: int = 2) -> list[TimedPass]:
    timed = []
    for _ in range(count):
        started = time.perf_counter()
        report = run_pass(ctx)
        timed.append(TimedPass(time.perf_counter() - started, report))
        print(f"bench: worker pass in {timed[-1].seconds:.1f} s: {report}", flush=True)
    return timed
