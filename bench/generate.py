"""Fill a database with N realistic cases, as the service writes them, and report the rate.

    .venv/bin/python -m bench.generate DATABASE_URL [--cases 100000] [--key-file var/bench.keys]

How the data stay faithful to the service:
1. The real Alembic migrations run first (`app.migrate.upgrade`), then the demo organisations and accounts
   (`app.services.demo.seed`).
2. *Templates*: about a hundred cases are made through the real use-cases (`cases.refer`, `cases.send_event`)
   with a frozen clock: every prefix of a handful of scenarios (adult identified and closed, negative then
   closed, missing person with paused deadlines, consent withdrawn with cancelled deadlines, child branch),
   each at a prompt and at a slow pace (deadlines met on time, met late, left open). Their rows, history,
   panels, wrapped keys and audit entries are the service's own.
3. *Clones*: each further case copies a template shifted back by whole weeks (so working days stay working
   days) into the past ten years — old cases mostly finished, recent ones anywhere in the workflow — with
   its own id, its own case key (wrapped by the key file's active KEK), its person, account and free texts
   re-encrypted under that key, varied clear classification columns, and its audit entries appended to
   the chain with `new_entry` and the key file's audit key, so `nrm audit verify` passes.
Rows go in with bulk inserts: COPY (psycopg) on PostgreSQL, SQLAlchemy Core `insert()` executemany on SQLite.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert, select, update
from sqlalchemy.engine import make_url

from app.clock import FrozenClock
from app.config import load_settings
from app.migrate import upgrade
from app.models import (
    AuditEntry,
    AuditHead,
    Case,
    CaseHistory,
    CaseKey,
    Deadline,
    Panel,
    PanelSeat,
    User,
)
from app.models.base import UTCDateTime
from app.security.audit_chain import ChainHead, new_entry
from app.security.envelope import (
    WrappedKey,
    decrypt_field,
    decrypt_json,
    encrypt_field,
    encrypt_json,
    new_case_key,
    unwrap_case_key,
    wrap_case_key,
)
from app.security.permissions import Principal
from app.services import cases, demo, state_counts
from app.services.context import ServiceContext
from app.services.errors import ServiceError
from app.workflow.references import format_reference
from tests.factories import event, principal_of, referral_body, referral_input

YEARS = 10
CHUNK = 5_000
TERMINAL_STATES = {"closed", "withdrawn", "identified", "not_identified"}
NATIONALITIES = ["NG", "RO", "AL", "VN", "CN", "BR", "MA", "UA", "FR", "BG", "ER", "SD", "PH", "IN", "PK"]
REGIONS = ["FR-75", "FR-13", "FR-69", "FR-59", "FR-33", "FR-31", "FR-67", "FR-44", "FR-06", "FR-93"]
GENDERS = ["female", "male", "non_binary", "unknown"]

# The person and the account as a referrer fills them in (fictional), sized like a real referral.
PERSON: dict[str, Any] = {
    "full_name": "Benchperson Example",
    "aliases": ["B. Example"],
    "date_of_birth": None,
    "phone": "+33 6 00 00 00 00",
    "email": None,
    "address": "12 rue de l'Exemple, 75000 Paris",
    "alternative_contact": "through the association's caseworker",
}
ACCOUNT: dict[str, Any] = {
    "what_happened": "recruited abroad for restaurant work, passport taken on arrival, made to work 14 hours a "
    "day seven days a week without pay to repay a travel debt that kept growing",
    "how_it_started": "an offer through an acquaintance",
    "living_conditions": "slept in the restaurant's storeroom with four others",
    "how_treated": "threats against the family at home",
    "why_stayed_or_left": "left when a customer gave the number of the association",
    "period": {"from": "2024-01-01", "to": "2025-03-01", "ongoing": False},
    "places": ["Paris"],
    "exploiters": "the restaurant's manager",
    "other_victims": "four co-workers",
    "reported_to_police": False,
    "police_reference": None,
}
INDICATORS = ["AL-DR-01", "AL-DR-03"]
NEEDS: dict[str, Any] = {
    "interpreter_language": "en",
    "communication_aid": None,
    "dependants": 0,
    "support_wanted": True,
    "shelter_needed": True,
}


# --- templates: cases made by the real use-cases ---------------------------------------------------------


@dataclass
class Template:
    case: dict[str, Any]
    key_ad: str
    person: Any
    account: Any
    deadlines: list[dict[str, Any]]
    history: list[tuple[dict[str, Any], Any]]  # row, decrypted texts (or None)
    panels: list[dict[str, Any]]
    seats: list[tuple[dict[str, Any], str | None, str | None]]  # row, field, decrypted text
    audit: list[dict[str, Any]]
    span: timedelta
    terminal: bool


@dataclass
class Cast:
    principals: dict[str, Principal] = field(default_factory=dict)

    def id(self, username: str) -> str:
        return str(self.principals[username].user_id)


#: Events that record the person's own request (issue 12, point 7): the generator adds the `request` field.
PERSON_REQUESTS = frozenset({"request_early_decision", "withdraw_consent"})


def _cast(ctx: ServiceContext) -> Cast:
    cast = Cast()
    with ctx.sessions() as session:
        for user in session.scalars(select(User)):
            cast.principals[user.username] = principal_of(user)
    return cast


Step = tuple[str, dict[str, Any], timedelta]


def _scenarios(cast: Cast, slow: bool) -> list[tuple[str, bool, list[Step]]]:
    """(name, child, steps): each step is (username, event fields, delay after the previous step)."""

    def d(prompt: float, late: float) -> timedelta:
        return timedelta(days=late if slow else prompt)

    panel = [cast.id("panel-ngo"), cast.id("panel-police"), cast.id("panel-social")]
    child_panel = [cast.id("panel-ngo"), cast.id("panel-police"), cast.id("panel-child")]
    assign = ("coordinator", {"event": "assign_assessor", "assessor_id": cast.id("assessor")}, d(0.1, 2))
    positive = (
        "assessor",
        {"event": "preliminary_decision", "outcome": "positive", "reasons": "credible, consistent indicators"},
        d(2, 12),
    )

    def votes(members: list[str], names: list[str]) -> list[Step]:
        return [
            (n, {"event": "cast_vote", "vote": "identify", "rationale": "indicators of forced labour"}, d(1, 3))
            for n in names
        ]

    adult_panel = [("coordinator", {"event": "convene_panel", "member_ids": panel}, d(5, 25))]
    adult_votes = votes(panel, ["panel-ngo", "panel-police", "panel-social"])
    formal = ("coordinator", {"event": "formal_decision"}, d(30, 45))
    close = ("coordinator", {"event": "close", "reason": "support_completed"}, d(180, 300))
    return [
        ("identified", False, [assign, positive, *adult_panel, *adult_votes, formal, close]),
        (
            "negative",
            False,
            [
                assign,
                (
                    "assessor",
                    {"event": "preliminary_decision", "outcome": "negative", "reasons": "no indicator"},
                    d(2, 9),
                ),
                ("coordinator", {"event": "close", "reason": "no_reconsideration"}, d(31, 40)),
            ],
        ),
        (
            "missing",
            False,
            [assign, positive, ("coordinator", {"event": "report_missing"}, d(3, 3))],
        ),
        (
            "withdrawn",
            False,
            [assign, ("coordinator", {"event": "withdraw_consent"}, d(4, 4))],
        ),
        (
            "child",
            True,
            [
                ("coordinator", {"event": "child_protection_notified"}, timedelta(hours=3 if slow else 1)),
                ("coordinator", {"event": "guardian_appointed"}, d(1, 5)),
                assign,
                positive,
                ("coordinator", {"event": "convene_panel", "member_ids": child_panel}, d(3, 12)),
                *votes(child_panel, ["panel-ngo", "panel-police", "panel-child"]),
                formal,
            ],
        ),
    ]


def _referral(child: bool) -> cases.ReferralInput:
    return referral_input(
        person=PERSON,
        account=ACCOUNT,
        needs=NEEDS,
        age_band="15-17" if child else "25-34",
        unaccompanied=child,
        exploitation_forms=["forced_labour"],
        indicators=INDICATORS,
        consent_given=not child,
    )


def referral_json() -> str:
    """The body of `POST /api/v1/referrals` for the same adult referral (the load run's request)."""
    return json.dumps(referral_body(person=PERSON, account=ACCOUNT, needs=NEEDS, indicators=INDICATORS))


def make_templates(ctx: ServiceContext, clock: FrozenClock, now: datetime) -> list[uuid.UUID]:
    """Run every prefix of every scenario, prompt and slow, through the real use-cases; return the case ids."""
    cast = _cast(ctx)
    made: list[uuid.UUID] = []
    for slow in (False, True):
        for name, child, steps in _scenarios(cast, slow):
            for length in range(len(steps) + 1):
                prefix = steps[:length]
                span = sum((delay for _, _, delay in prefix), timedelta())
                clock.set(now - span - timedelta(hours=1))
                case_id = cases.refer(ctx, cast.principals["referrer"], _referral(child)).view.id
                for username, fields, delay in prefix:
                    clock.advance(delay)
                    try:
                        name_and_fields = dict(fields)
                        if name_and_fields["event"] in PERSON_REQUESTS:
                            # The person's own request, recorded as asked at the time of the event.
                            name_and_fields["request"] = {"how": "in_writing", "at": clock.now().isoformat()}
                        event(ctx, cast.principals[username], case_id, name_and_fields.pop("event"), **name_and_fields)
                    except ServiceError as error:
                        raise SystemExit(f"template {name} step {fields['event']}: {error.detail}") from error
                made.append(case_id)
    return made


def _dicts(conn: Connection, table: Table, condition: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(select(table).where(condition))]


def load_templates(ctx: ServiceContext, ids: list[uuid.UUID], now: datetime) -> list[Template]:
    keyring = ctx.keyring
    templates = []
    with ctx.engine.connect() as conn:
        for case_id in ids:
            case = _dicts(conn, Case.__table__, Case.id == case_id)[0]
            key_row = _dicts(conn, CaseKey.__table__, CaseKey.case_id == case_id)[0]
            key = unwrap_case_key(keyring, WrappedKey(key_row["kek_id"], key_row["wrapped_key"]), str(case_id))
            cid = str(case_id)
            history = [
                (row, decrypt_json(key, cid, "history_text", row["text_blob"]) if row["text_blob"] else None)
                for row in _dicts(conn, CaseHistory.__table__, CaseHistory.case_id == case_id)
            ]
            panels = _dicts(conn, Panel.__table__, Panel.case_id == case_id)
            seats = []
            for panel in panels:
                for seat in _dicts(conn, PanelSeat.__table__, PanelSeat.panel_id == panel["id"]):
                    field_name = text = None
                    if seat["text_blob"]:
                        field_name = "panel_rationale" if seat["vote"] else "panel_conflict"
                        text = decrypt_field(key, cid, field_name, seat["text_blob"]).decode()
                    seats.append((seat, field_name, text))
            audit = [
                dict(row._mapping)
                for row in conn.execute(
                    select(AuditEntry.__table__).where(AuditEntry.case_id == cid).order_by(AuditEntry.sequence)
                )
            ]
            last = max([case["updated_at"], *(e["time"] for e in audit)])
            templates.append(
                Template(
                    case=case,
                    key_ad=cid,
                    person=decrypt_json(key, cid, "person", case["person_blob"]),
                    account=decrypt_json(key, cid, "account", case["account_blob"]),
                    deadlines=_dicts(conn, Deadline.__table__, Deadline.case_id == case_id),
                    history=history,
                    panels=panels,
                    seats=seats,
                    audit=audit,
                    span=now - case["created_at"] - (now - last),
                    terminal=case["state"] in TERMINAL_STATES,
                )
            )
    return templates


# --- clones ------------------------------------------------------------------------------------------------

TABLES: list[Table] = [
    Case.__table__,  # type: ignore[list-item]
    CaseKey.__table__,  # type: ignore[list-item]
    Deadline.__table__,  # type: ignore[list-item]
    CaseHistory.__table__,  # type: ignore[list-item]
    Panel.__table__,  # type: ignore[list-item]
    PanelSeat.__table__,  # type: ignore[list-item]
    AuditEntry.__table__,  # type: ignore[list-item]
]


def _time_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, UTCDateTime)]


TIME_COLUMNS = {t.name: _time_columns(t) for t in TABLES}


def _shifted(row: dict[str, Any], table: str, shift: timedelta) -> dict[str, Any]:
    out = dict(row)
    for name in TIME_COLUMNS[table]:
        if out[name] is not None:
            out[name] = out[name] - shift
    return out


class Cloner:
    def __init__(self, ctx: ServiceContext, templates: list[Template], now: datetime, seed: int = 7) -> None:
        self.keyring = ctx.keyring
        self.audit_key = self.keyring.audit_hmac_key
        self.now = now
        self.rng = random.Random(seed)
        self.recent = templates
        self.old = [t for t in templates if t.terminal]
        # Clones take references far above any number the database's counter will reach in a benchmark run,
        # so a referral made during the load never collides with one.
        self.next_number = 100_000_000

    def clone(self, rows: dict[str, list[dict[str, Any]]], audit: list[dict[str, Any]]) -> None:
        rng = self.rng
        weeks = rng.randrange(YEARS * 52)
        # Old cases are mostly finished; the last year holds cases at every stage.
        pool = self.old if weeks > 52 and rng.random() < 0.9 else self.recent
        template = rng.choice(pool)
        shift = timedelta(weeks=weeks)
        case_id = uuid.uuid4()
        cid = str(case_id)
        key = new_case_key()
        wrapped = wrap_case_key(self.keyring, key, cid)
        case = _shifted(template.case, "cases", shift)
        self.next_number += 1
        case.update(
            id=case_id,
            reference=format_reference(case["created_at"].year, self.next_number),
            gender=rng.choice(GENDERS),
            nationality=rng.choice(NATIONALITIES),
            region=rng.choice(REGIONS),
            person_blob=encrypt_json(key, cid, "person", template.person),
            account_blob=encrypt_json(key, cid, "account", template.account),
        )
        rows["cases"].append(case)
        rows["case_keys"].append(
            {
                "case_id": case_id,
                "kek_id": wrapped.kek_id,
                "wrapped_key": wrapped.blob,
                "created_at": case["created_at"],
                "destroyed_at": None,
            }
        )
        for deadline in template.deadlines:
            rows["deadlines"].append({**_shifted(deadline, "deadlines", shift), "id": uuid.uuid4(), "case_id": case_id})
        for row, texts in template.history:
            out = _shifted(row, "case_history", shift)
            out.update(id=uuid.uuid4(), case_id=case_id)
            if texts is not None:
                out["text_blob"] = encrypt_json(key, cid, "history_text", texts)
            rows["case_history"].append(out)
        panel_ids = {}
        for panel in template.panels:
            panel_ids[panel["id"]] = uuid.uuid4()
            rows["panels"].append(
                {**_shifted(panel, "panels", shift), "id": panel_ids[panel["id"]], "case_id": case_id}
            )
        for seat, field_name, text in template.seats:
            out = _shifted(seat, "panel_seats", shift)
            out["panel_id"] = panel_ids[seat["panel_id"]]
            if field_name is not None and text is not None:
                out["text_blob"] = encrypt_field(key, cid, field_name, text.encode())
            rows["panel_seats"].append(out)
        for entry in template.audit:
            audit.append({**entry, "time": entry["time"] - shift, "case_id": cid})

    def chain(self, previous: ChainHead | None, entries: list[dict[str, Any]]) -> tuple[ChainHead | None, list[Any]]:
        """Append the entries to the chain in time order (as commits would have appended them)."""
        entries.sort(key=lambda e: e["time"])
        out = []
        for e in entries:
            made = new_entry(
                self.audit_key,
                previous,
                time=e["time"],
                actor_id=e["actor_id"],
                organisation_id=e["organisation_id"],
                action=e["action"],
                case_id=e["case_id"],
                details=e["details"],
            )
            out.append(
                {
                    "sequence": made.sequence,
                    "time": made.time,
                    "actor_id": made.actor_id,
                    "organisation_id": made.organisation_id,
                    "action": made.action,
                    "case_id": made.case_id,
                    "details": dict(made.details),
                    "prev_mac": made.prev_mac,
                    "mac": made.mac,
                }
            )
            previous = ChainHead(made.sequence, made.mac)
        return previous, out


# --- bulk writers ------------------------------------------------------------------------------------------


def _copy_writer(conn: Connection) -> Callable[[Table, list[dict[str, Any]]], None]:
    raw: Any = conn.connection.dbapi_connection

    def write(table: Table, rows: list[dict[str, Any]]) -> None:
        names = [c.name for c in table.columns]
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[n]) if n in json_columns else row[n] for n in names])

    return write


def _insert_writer(conn: Connection) -> Callable[[Table, list[dict[str, Any]]], None]:
    def write(table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            conn.execute(insert(table), rows)

    return write


def generate(
    database_url: str, key_file: Path, count: int, *, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Migrate, seed, make the templates, bulk-insert the clones; return the figures (and the demo accounts)."""
    started = time.perf_counter()
    upgrade(database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = FrozenClock(now)
    ctx = ServiceContext.build(load_settings(database_url=database_url, key_file=key_file, policy="fr"), clock)
    try:
        accounts = demo.seed(ctx, None)
        template_ids = make_templates(ctx, clock, now)
        templates = load_templates(ctx, template_ids, now)
        progress(f"generate: {len(templates)} template cases made through the service")
        cloner = Cloner(ctx, templates, now)
        remaining = max(0, count - len(templates))
        is_postgres = make_url(database_url).get_backend_name() == "postgresql"
        total_rows = 0
        with ctx.engine.connect() as conn:
            head_row = conn.execute(select(AuditHead.__table__).where(AuditHead.id == 1)).one()
            previous = ChainHead(head_row.sequence, head_row.mac) if head_row.sequence else None
            conn.commit()
            write = _copy_writer(conn) if is_postgres else _insert_writer(conn)
            bulk_started = time.perf_counter()
            done = 0
            while done < remaining:
                size = min(CHUNK, remaining - done)
                rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
                audit: list[dict[str, Any]] = []
                for _ in range(size):
                    cloner.clone(rows, audit)
                previous, rows["audit_entries"] = cloner.chain(previous, audit)
                for table in TABLES:
                    write(table, rows[table.name])
                    total_rows += len(rows[table.name])
                assert previous is not None
                conn.execute(
                    update(AuditHead.__table__)
                    .where(AuditHead.id == 1)
                    .values(sequence=previous.sequence, mac=previous.mac)
                )
                conn.commit()
                done += size
                if done % (CHUNK * 20) == 0 or done == remaining:
                    elapsed = time.perf_counter() - bulk_started
                    progress(f"generate: {done:,} cases, {total_rows:,} rows, {total_rows / elapsed:,.0f} rows/s")
            bulk_seconds = time.perf_counter() - bulk_started
            if is_postgres:
                conn.commit()
                # VACUUM as autovacuum would in time: statistics for the planner, and the visibility map that
                # lets the queue's walks read their covering indexes alone (index-only scans).
                with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as maintenance:
                    for table in TABLES:
                        maintenance.exec_driver_sql(f"VACUUM (ANALYZE) {table.name}")
        # The triggers on `cases` wrote one +1 per bulk-inserted case: fold them, as the worker would.
        state_counts.fold(ctx)
        counts = _counts(ctx)
    finally:
        ctx.close()
    return {
        "cases": counts["cases"],
        "rows": total_rows,
        "counts": counts,
        "bulk_seconds": bulk_seconds,
        "rows_per_second": total_rows / bulk_seconds if bulk_seconds else 0.0,
        "cases_per_second": remaining / bulk_seconds if bulk_seconds else 0.0,
        "total_seconds": time.perf_counter() - started,
        "accounts": {a.username: a.password for a in accounts},
        "now": now,
    }


def _counts(ctx: ServiceContext) -> dict[str, int]:
    from sqlalchemy import func

    with ctx.engine.connect() as conn:
        return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--key-file", type=Path, default=Path("var/bench.keys"))
    args = parser.parse_args(argv)
    result = generate(args.database_url, args.key_file, args.cases)
    print(
        f"{result['cases']:,} cases, {result['rows']:,} rows bulk-inserted in {result['bulk_seconds']:.1f} s: "
        f"{result['rows_per_second']:,.0f} rows/s, {result['cases_per_second']:,.0f} cases/s "
        f"(total with migrations and templates {result['total_seconds']:.1f} s)"
    )
    print(json.dumps(result["counts"]))


if __name__ == "__main__":
    sys.exit(main())
