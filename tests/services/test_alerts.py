"""Deadline alerts through a real SMTP server (aiosmtpd, in the test process), on both databases, across a moved
clock: the reminder before the due date, the overdue alert, the escalation to the coordinators, nothing new on a
second pass, nothing twice with two workers at once, and nothing of the person referred in any message.

Policy fr (lead 2 working days, escalation after 2). The clock starts Monday 1 March 2027 09:00 UTC; an adult's
preliminary decision (5 working days) falls due at the end of Monday 8 March, Paris time.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.db import read_only
from app.models import DeadlineAlert
from app.services import accounts, alerts, audit
from app.services.context import ServiceContext
from app.services.mail import SmtpMailer
from app.web.alert_mail import MailSender
from app.web.i18n import translations
from app.web.vocabulary import DEADLINES
from tests.factories import World, event, input_of, referral_body

NAME = "Testperson Quorblax"
STORY = "zorbulent quastification beyond the grinbeck marshes"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def take(self) -> list[tuple[list[str], Message]]:
        with self.lock:
            taken, self.messages = self.messages, []
        return taken


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def _to(messages: list[tuple[list[str], Message]], address: str) -> list[str]:
    return [_body(m) for rcpt, m in messages if address in rcpt]


def _refer(ctx: ServiceContext, referrer: Any) -> tuple[Any, str]:
    from app.services import cases

    body = referral_body(full_name=NAME, what_happened=STORY)
    created = cases.refer(ctx, referrer, input_of(body))
    return created.view.id, created.view.reference


def test_reminder_overdue_and_escalation_reach_those_who_owe_them_once(
    ctx: ServiceContext, clock: FrozenClock, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    world = World(ctx)
    referrer = world.principal("ref", ["referrer"], "NGO One", "ngo")
    coordinator = world.principal("coord", ["coordinator"], "Secretariat", "coordination")
    assessor = world.principal("assess", ["assessor"], "NGO Two", "ngo")
    accounts.set_contact(ctx, assessor.user_id, "assessor@example.org", "fr", by=assessor)
    accounts.set_contact(ctx, coordinator.user_id, "coordinator@example.org", "en", by=coordinator)
    send = MailSender(ctx, SmtpMailer(url, timeout=5))

    case_id, reference = _refer(ctx, referrer)
    event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    alerts.run(ctx, send)
    assert _to(inbox.take(), "assessor@example.org") == []  # 5 working days ahead: too early

    clock.set(datetime(2027, 3, 4, 9, tzinfo=UTC))  # Thursday: Friday and Monday are left
    alerts.run(ctx, send)
    received = inbox.take()
    [reminder] = _to(received, "assessor@example.org")
    duty_fr = translations("fr").gettext(DEADLINES["preliminary_decision"])
    assert (
        reference in reminder
        and duty_fr in reminder
        and "dans 2 jours ouvrés" in reminder
        and "en retard" not in reminder
    )
    assert f"/cases/{case_id}" not in reminder  # no NRM_PUBLIC_URL in this context: no link
    assert alerts.run(ctx, send).raised == 0 and inbox.take() == []  # a second pass: nothing new

    clock.set(datetime(2027, 3, 9, 9, tzinfo=UTC))  # Tuesday: overdue since Monday night
    alerts.run(ctx, send)
    received = inbox.take()
    [overdue] = _to(received, "assessor@example.org")
    assert reference in overdue and "en retard depuis" in overdue
    assert not any(reference in body and "escalated" in body for body in _to(received, "coordinator@example.org"))

    clock.set(datetime(2027, 3, 11, 9, tzinfo=UTC))  # two working days overdue: the coordinators hear of it
    alerts.run(ctx, send)
    received = inbox.take()
    escalations = [b for b in _to(received, "coordinator@example.org") if reference in b and "escalated" in b]
    assert len(escalations) == 1 and "Preliminary decision" in escalations[0]
    assert _to(received, "assessor@example.org") == []  # the assessor was told already
    assert alerts.run(ctx, send).raised == 0 and inbox.take() == []

    with read_only(ctx.read_sessions) as session:
        raised = session.scalar(select(func.count()).select_from(DeadlineAlert)) or 0
        mailed = session.scalar(
            select(func.count()).select_from(DeadlineAlert).where(DeadlineAlert.mailed_at.is_not(None))
        )
    entries = audit.list_entries(ctx, case_id=None, after=None, limit=10_000)
    assert raised == mailed == sum(1 for e in entries if e.action == "alert.raised") == 3
    assert audit.verify(ctx).valid
    [mine] = [a for a in alerts.alerts_for(ctx, assessor) if a.reference == reference]
    assert mine.threshold is alerts.Threshold.overdue


def test_two_workers_at_once_raise_each_alert_once_and_no_message_tells_of_the_person(
    ctx: ServiceContext, clock: FrozenClock, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    world = World(ctx)
    referrer = world.principal("ref", ["referrer"], "NGO One", "ngo")
    coordinator = world.principal("coord", ["coordinator"], "Secretariat", "coordination")
    assessor = world.principal("assess", ["assessor"], "NGO Two", "ngo")
    accounts.set_contact(ctx, assessor.user_id, "assessor@example.org", "en", by=assessor)
    accounts.set_contact(ctx, coordinator.user_id, "coordinator@example.org", "fr", by=coordinator)
    references = []
    for _ in range(3):
        case_id, reference = _refer(ctx, referrer)
        event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
        references.append(reference)
    clock.set(datetime(2027, 3, 11, 9, tzinfo=UTC))  # overdue and escalated at once

    start = threading.Barrier(2)
    reports: list[alerts.AlertReport] = []

    def worker() -> None:
        sender = MailSender(ctx, SmtpMailer(url, timeout=5))
        start.wait()
        reports.append(alerts.run(ctx, sender))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    received = inbox.take()
    assert len(reports) == 2
    # One digest per person: each of them got exactly one message, naming every case once per threshold.
    assert sorted(rcpt[0] for rcpt, _ in received) == ["assessor@example.org", "coordinator@example.org"]
    [to_assessor] = _to(received, "assessor@example.org")
    assert all(to_assessor.count(reference) == 1 for reference in references)
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(select(DeadlineAlert.deadline_id, DeadlineAlert.user_id, DeadlineAlert.threshold)).all()
    assert len(rows) == len(set(rows)) == sum(r.raised for r in reports)

    story_words = {w for w in re.findall(r"[a-z]+", (NAME + " " + STORY).lower()) if len(w) > 3}
    for _rcpt, message in received:
        text = (str(message["Subject"]) + " " + _body(message)).lower()
        assert not story_words & set(re.findall(r"[a-z]+", text)), text


def test_without_an_address_alerts_stay_on_the_web(ctx: ServiceContext, clock: FrozenClock) -> None:
    sent: list[alerts.Digest] = []

    def fake_sender(digest: alerts.Digest) -> bool:
        sent.append(digest)
        return True

    world = World(ctx)
    referrer = world.principal("ref", ["referrer"], "NGO One", "ngo")
    coordinator = world.principal("coord", ["coordinator"], "Secretariat", "coordination")
    assessor = world.principal("assess", ["assessor"], "NGO Two", "ngo")
    case_id, reference = _refer(ctx, referrer)
    event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    clock.set(datetime(2027, 3, 9, 9, tzinfo=UTC))
    report = alerts.run(ctx, fake_sender)
    assert report.raised > 0 and report.mailed == 0 and sent == []  # nobody has an address
    assert [(a.reference, a.threshold) for a in alerts.alerts_for(ctx, assessor)] == [
        (reference, alerts.Threshold.overdue)
    ]
    event(ctx, assessor, case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    assert alerts.alerts_for(ctx, assessor) == []  # met: no longer shown


def test_a_pass_reads_cases_in_batches_takes_its_limit_and_forgets_escalated_deadlines(
    ctx: ServiceContext, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million cases the overdue deadlines outnumber what one statement may name (65 535 parameters): the
    cases are read in batches (two here), a capped pass alerts the soonest deadlines and leaves the rest to the
    next, and a deadline escalated once is not read again."""
    monkeypatch.setattr(alerts, "_CASES_AT_ONCE", 2)
    world = World(ctx)
    referrer = world.principal("ref", ["referrer"], "NGO One", "ngo")
    coordinator = world.principal("coord", ["coordinator"], "Secretariat", "coordination")
    assessor = world.principal("assess", ["assessor"], "NGO Two", "ngo")
    for _ in range(5):
        case_id, _reference = _refer(ctx, referrer)
        event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    clock.set(datetime(2027, 3, 11, 9, tzinfo=UTC))  # every preliminary decision two working days overdue
    capped = alerts.run(ctx, None, limit=3)
    assert capped.raised == 3 * 2  # three deadlines: the assessor's overdue alert and the coordinator's escalation
    rest = alerts.run(ctx, None)
    assert rest.raised == 2 * 2
    read: list[int] = []
    real = alerts.view_extras
    monkeypatch.setattr(alerts, "view_extras", lambda session, ids: read.append(len(ids)) or real(session, ids))
    assert alerts.run(ctx, None).raised == 0 and read == []  # all escalated: nothing read again
