"""The worker's pass at scale: `scheduler.run_pass` over the generated data, timed.

Each pass acts on at most `PASS_LIMIT` cases per kind of closure and of erasure (`run_pass(limit=...)`): the
generated data leave a backlog of years (windows lapsed, closed cases past their retention, as if no worker had
ever run), so every pass here is a full one — every selection over the whole database — with a bounded amount
of work, the most a worker running every few minutes meets."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.services.context import ServiceContext
from app.services.scheduler import PassReport, run_pass


@dataclass(frozen=True)
class TimedPass:
    seconds: float
    report: PassReport


#: Cases per kind of closure and of erasure in one pass. A million cases over ten years close about thirty a
#: day, so a pass every few minutes meets one or two; the generated backlog (hundreds of thousands of closures
#: past retention, as if no worker had ever run) would take hours. An erasure is some fifteen statements.
PASS_LIMIT = 25


def passes(ctx: ServiceContext, count: int = 2) -> list[TimedPass]:
    timed = []
    for _ in range(count):
        started = time.perf_counter()
        report = run_pass(ctx, limit=PASS_LIMIT)
        timed.append(TimedPass(time.perf_counter() - started, report))
        print(f"bench: worker pass in {timed[-1].seconds:.1f} s: {report}", flush=True)
    return timed
