"""Issue 10 point 15: idempotency records kept an unsalted SHA-256 of the whole referral, personal data included,
after erasure (anyone with a copy of the database could confirm a guessed name). They keep a keyed MAC instead,
expire after a day (the worker's pass purges them) and go with the case's erasure. Through the services, on
both databases."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import func, select

from app.clock import FrozenClock
from app.models import IdempotencyRecord
from app.security.keyfile import KeyRing
from app.services import cases, scheduler
from app.services.context import ServiceContext
from tests.factories import World, referral_input


def _records(ctx: ServiceContext) -> list[IdempotencyRecord]:
    with ctx.sessions() as session:
        return list(session.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.created_at)))


def _count(ctx: ServiceContext) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0)


def test_the_record_keeps_a_keyed_mac_not_a_hash_of_the_referral(ctx: ServiceContext, clock: FrozenClock) -> None:
    referrer = World(ctx).principal("referrer", ["referrer"])
    referral = referral_input()
    cases.refer(ctx, referrer, referral, idempotency_key="first")
    [record] = _records(ctx)
    payload = json.dumps(dataclasses.asdict(referral), sort_keys=True, default=str).encode()
    assert record.request_mac != hashlib.sha256(payload).hexdigest()  # no plain hash of the person's data
    # A MAC under a subkey of the key file: without the key file, a guess cannot be confirmed.
    assert record.request_mac == hmac.new(ctx.idempotency_mac_key, payload, hashlib.sha256).hexdigest()
    assert record.request_mac != hmac.new(KeyRing.generate().audit_hmac_key, payload, hashlib.sha256).hexdigest()


def test_a_retry_within_a_day_replays_and_after_a_day_the_record_is_gone(
    ctx: ServiceContext, clock: FrozenClock
) -> None:
    referrer = World(ctx).principal("referrer", ["referrer"])
    original = cases.refer(ctx, referrer, referral_input(), idempotency_key="k-1")
    clock.advance(timedelta(hours=23))
    retried = cases.refer(ctx, referrer, referral_input(), idempotency_key="k-1")
    assert retried.replayed and retried.view.id == original.view.id

    clock.advance(timedelta(hours=1, seconds=1))
    late = cases.refer(ctx, referrer, referral_input(), idempotency_key="k-1")
    assert not late.replayed and late.view.id != original.view.id
    assert [r.case_id for r in _records(ctx)] == [late.view.id]  # the expired record was replaced

    cases.refer(ctx, referrer, referral_input(), idempotency_key="k-2")
    clock.advance(timedelta(days=1, seconds=1))
    assert _count(ctx) == 2
    report = scheduler.run_pass(ctx)
    assert report.idempotency_records_purged == 2
    assert _count(ctx) == 0
    assert scheduler.run_pass(ctx).idempotency_records_purged == 0


def test_erasure_drops_the_record(ctx: ServiceContext, clock: FrozenClock) -> None:
    world = World(ctx)
    referrer = world.principal("referrer", ["referrer"])
    coordinator = world.principal("coordinator", ["coordinator"], "Secretariat", "coordination")
    kept = cases.refer(ctx, referrer, referral_input(), idempotency_key="kept").view.id
    erased = cases.refer(ctx, referrer, referral_input(), idempotency_key="erased").view.id
    cases.erase(ctx, coordinator, erased, "person_request")
    assert [r.case_id for r in _records(ctx)] == [kept]
