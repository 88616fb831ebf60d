"""Verifying a long audit log in parallel: stretches of it in separate processes, then the seams.

The chain is sequential (each MAC covers the previous one), but a stretch of it can be checked on its own from
the MAC stored just before it: a process verifies entries a..b starting from entry a-1's stored MAC. When every
stretch is good and each one starts from the MAC the stretch before it ended on (the seams), the whole log is
good: the same answer as one pass over it. Only a good log gains from this; on any failure the caller runs the
one sequential pass, which names the first bad entry exactly as it always has.

Each process opens its own connection (nothing is shared across the fork) and reads its stretch in keyset
pages (`verify_entries`, also the one pass of `audit.verify`), so memory stays flat whatever the log's length.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, cast

from sqlalchemy import Connection, Row, create_engine, select
from sqlalchemy.pool import NullPool

from app.models import AuditEntry
from app.security.audit_chain import GENESIS_MAC, ChainHead, StoredEntry, VerifyResult, verify_chain, verify_stored

#: Below this many entries per process, starting processes costs more than it saves.
MIN_STRETCH = 50_000
#: Stretches per process: a process that finishes early takes another, so one slow stretch does not hold all.
STRETCHES_PER_PROCESS = 4
#: Entries per keyset page: a few megabytes of rows in memory, and few enough round trips not to matter.
PAGE = 10_000

# On PostgreSQL the entries are read with the driver's own cursor as plain tuples of text, in the order of
# `StoredEntry`: the time formatted by the server as canonical UTC text (what `isoformat` gives for a UTC
# datetime: 6 digits of microseconds, "+00:00") and the details as the JSON text the column holds. This spares
# the per-entry datetime, dict and SQLAlchemy row that reading through SQLAlchemy costs (3/4 of the time).
_STORED_PAGE: Final = """
SELECT sequence, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), actor_id,
       organisation_id, action, case_id, details::text, prev_mac, mac
FROM audit_entries WHERE sequence > %s AND sequence <= %s ORDER BY sequence LIMIT %s
"""
_stored_entry: Final = cast(Callable[[tuple[Any, ...]], StoredEntry], partial(tuple.__new__, StoredEntry))


@dataclass(frozen=True)
class StretchResult:
    first: int
    last: int
    start_mac: str | None  # the stored MAC of entry `first - 1` (genesis for the first stretch), None if missing
    valid: bool
    end_mac: str | None


def stretches(upto: int, count: int) -> list[tuple[int, int]]:
    """`count` contiguous ranges (first, last) covering 1..upto, the last ones possibly shorter."""
    size = -(-upto // count)
    return [(first, min(first + size - 1, upto)) for first in range(1, upto + 1, size)]


def verify_stretch(
    database_url: str, key: bytes, first: int, last: int, expected_head: ChainHead | None
) -> StretchResult:
    """Entries first..last, from entry first-1's stored MAC (run in a worker process)."""
    engine = create_engine(database_url, poolclass=NullPool)
    table = AuditEntry.__table__
    try:
        with engine.connect() as conn:
            if first == 1:
                start_mac: str | None = GENESIS_MAC
            else:
                start_mac = conn.scalar(select(table.c.mac).where(table.c.sequence == first - 1))
            if start_mac is None:
                return StretchResult(first, last, None, False, None)
            result = verify_entries(
                conn, key, first, last, expected_head=expected_head, after=ChainHead(first - 1, start_mac)
            )
    finally:
        engine.dispose()
    # A stretch that ends early (entries missing at its end) is not good either.
    return StretchResult(first, last, start_mac, result.valid and result.entries == last, result.head)


def verify_entries(
    conn: Connection,
    key: bytes,
    first: int,
    last: int,
    *,
    expected_head: ChainHead | None = None,
    after: ChainHead | None = None,
) -> VerifyResult:
    """`verify_chain` over the stored entries first..last (`after`: the entry before `first`, None for 1)."""
    if conn.dialect.name == "postgresql":
        return verify_stored(key, _stored_entries(conn, first, last), expected_head=expected_head, after=after)
    return verify_chain(key, _entry_rows(conn, first, last), expected_head=expected_head, after=after)


def _stored_entries(conn: Connection, first: int, last: int) -> Iterator[StoredEntry]:
    # Keyset pages of plain statements rather than a server-side cursor: they work in the autocommit of
    # `read_only` sessions too, and each one is an index range scan.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        seen = first - 1
        while True:
            cursor.execute(_STORED_PAGE, (seen, last, PAGE))
            page = cursor.fetchall()
            if not page:
                return
            yield from map(_stored_entry, page)
            seen = page[-1][0]
    finally:
        cursor.close()


def _entry_rows(conn: Connection, first: int, last: int) -> Iterator[Row[Any]]:
    table = AuditEntry.__table__
    seen = first - 1
    while True:
        page = conn.execute(
            select(table)
            .where(table.c.sequence > seen, table.c.sequence <= last)
            .order_by(table.c.sequence)
            .limit(PAGE)
        ).all()
        if not page:
            return
        yield from page
        seen = page[-1].sequence


def verify_in_processes(
    database_url: str,
    key: bytes,
    upto: int,
    *,
    processes: int,
    expected_head: ChainHead | None = None,
    min_stretch: int = MIN_STRETCH,
) -> VerifyResult | None:
    """The result for a good log of entries 1..upto, or None when a pass over it must say what is wrong (or
    when the log is too short to be worth splitting)."""
    if processes < 2 or upto < processes * min_stretch:
        return None
    if expected_head is not None and expected_head.sequence > upto:
        return None  # entries cut from the end: the sequential pass words it
    ranges = stretches(upto, processes * STRETCHES_PER_PROCESS)

    def anchor_in(first: int, last: int) -> ChainHead | None:
        return expected_head if expected_head is not None and first <= expected_head.sequence <= last else None

    # "spawn": a fresh interpreter, so no connection, lock or thread of the caller is inherited.
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(verify_stretch, database_url, key, first, last, anchor_in(first, last))
            for first, last in ranges
        ]
        results = [f.result() for f in futures]
    seam: str | None = GENESIS_MAC
    for stretch in results:
        if not stretch.valid or stretch.start_mac != seam:
            return None
        seam = stretch.end_mac
    return VerifyResult(True, upto, seam, None, None)
