"""The auditor's pages on both databases: the figures of the report services (a hand-computed timeline), their
charts and tables, CSV downloads that carry the same figures, the breach list's filters, suppressed statistics,
the audit log and the chain check; and who may see them."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from app.clock import FrozenClock
from app.services import audit, cases
from app.services.context import ServiceContext
from tests.factories import event, principal, refer
from tests.web.helpers import WebClient, create_account, principal_named

DAY = timedelta(days=1)


def _timeline(ctx: ServiceContext, clock: FrozenClock) -> None:
    """Three preliminary decisions: one met on time, one met late, one overdue (as in test_compliance)."""
    referrer = principal(ctx, "referrer", ["referrer"], "NGO One", "ngo")
    coordinator = principal(ctx, "coordinator", ["coordinator"], "Secretariat", "coordination")
    assessor = principal(ctx, "assessor", ["assessor"], "NGO Two", "ngo")
    start = clock.now()
    a, b, _c = (refer(ctx, referrer) for _ in range(3))
    for case_id in (a, b):
        event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    clock.set(start + DAY)
    event(ctx, assessor, a, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    clock.set(start + 10 * DAY)
    event(ctx, assessor, b, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    clock.set(start + 20 * DAY)


def _cells(html: str, row_label: str) -> list[str]:
    row = re.search(r"<tr><td[^>]*>" + re.escape(row_label) + r"</td>(.*?)</tr>", html)
    assert row, f"no row {row_label!r}"
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


def test_an_auditor_reads_compliance_downloads_it_and_the_breaches(
    web: WebClient, ctx: ServiceContext, clock: FrozenClock
) -> None:
    _timeline(ctx, clock)
    create_account(ctx, "inspector", ["auditor"], "Inspection (fictive)", "coordination")
    web.sign_in("inspector")
    page = web.get("/audit/compliance?from=2027-01-01&to=2027-12-31&group_by=kind", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.text
    # The preliminary decisions: 3 deadlines, 1 on time, 1 late, 1 overdue, a third met on time.
    assert _cells(html, "Preliminary decision")[:4] == ["3", "1", "1", "1"]
    assert _cells(html, "Preliminary decision")[-1] == "33.3%"
    assert html.count('<svg class="chart__image"') == 3 and 'role="img"' in html
    assert "Mar 2027" in html  # the monthly trend

    download = web.get("/audit/compliance.csv?from=2027-01-01&to=2027-12-31&group_by=kind")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = {row["group"]: row for row in csv.DictReader(io.StringIO(download.text))}
    prelim = rows["preliminary_decision"]
    assert (prelim["total"], prelim["met_on_time"], prelim["met_late"], prelim["open_overdue"]) == ("3", "1", "1", "1")

    by_sector = web.get(
        "/audit/compliance?group_by=sector&from=2027-01-01&to=2027-12-31", headers={"Accept-Language": "en"}
    )
    assert _cells(by_sector.text, "Association")[0] != "0"

    breaches = web.get(
        "/audit/breaches?from=2027-01-01&to=2027-12-31&kind=preliminary_decision", headers={"Accept-Language": "en"}
    )
    assert breaches.text.count("<tr><td") == 2 and "Met late" in breaches.text and "Overdue" in breaches.text
    listed = list(
        csv.DictReader(
            io.StringIO(web.get("/audit/breaches.csv?from=2027-01-01&to=2027-12-31&kind=preliminary_decision").text)
        )
    )
    assert sorted(row["status"] for row in listed) == ["met_late", "overdue"]
    # A period outside the data shows nothing; a bad filter is an error on the page, not a crash.
    assert (
        "No breach" in web.get("/audit/breaches?from=2026-01-01&to=2026-02-01", headers={"Accept-Language": "en"}).text
    )
    wrong = web.get("/audit/breaches?from=2027-13-01&kind=nope", headers={"Accept-Language": "en"})
    assert wrong.status_code == 200 and "Enter a real date" in wrong.text and "Choose a kind of deadline" in wrong.text
    backwards = web.get("/audit/compliance?from=2027-05-01&to=2027-04-01", headers={"Accept-Language": "en"})
    assert "must not be before its start" in backwards.text

    actions = [e.action for e in audit.list_entries(ctx, case_id=None, after=None, limit=1000)]
    assert actions.count("report.compliance") == 4 and actions.count("report.breaches") == 4


def test_statistics_show_suppressed_cells_as_such(web: WebClient, ctx: ServiceContext, clock: FrozenClock) -> None:
    _timeline(ctx, clock)
    create_account(ctx, "inspector", ["auditor"], "Inspection (fictive)", "coordination")
    web.sign_in("inspector")
    html = web.get("/audit/statistics?year=2027", headers={"Accept-Language": "en"}).text
    # Three cases, below the threshold of 5: every table is hidden, and says so.
    assert "Statistics of 2027" in html and "suppressed" in html
    assert _cells(html, "Total")[0] == "suppressed"
    assert "Enter a year" in web.get("/audit/statistics?year=99999", headers={"Accept-Language": "en"}).text


def test_the_audit_log_and_the_chain_check_give_a_head_to_copy(web: WebClient, ctx: ServiceContext) -> None:
    create_account(ctx, "inspector", ["auditor"], "Inspection (fictive)", "coordination")
    web.sign_in("inspector")
    log = web.get("/audit/log", headers={"Accept-Language": "en"}).text
    assert "auth.login" in log and "user.created" in log
    chain = web.get("/audit/chain", headers={"Accept-Language": "en"}).text
    head = re.search(r'<pre class="code-block" id="head" tabindex="0">(\d+:[0-9a-f]{64})</pre>', chain)
    assert head and "The chain is whole" in chain
    again = web.get(f"/audit/chain?expected={head.group(1)}", headers={"Accept-Language": "en"}).text
    assert "The chain is whole" in again
    forged = head.group(1)[:-1] + ("0" if head.group(1)[-1] != "0" else "1")
    assert "The chain is broken" in web.get(f"/audit/chain?expected={forged}", headers={"Accept-Language": "en"}).text
    assert "Enter a head" in web.get("/audit/chain?expected=nonsense", headers={"Accept-Language": "en"}).text


def test_only_those_who_read_the_audit_see_its_pages(web: WebClient, ctx: ServiceContext) -> None:
    create_account(ctx, "referrer", ["referrer"])
    web.sign_in("referrer")
    for path in (
        "/audit/compliance",
        "/audit/compliance.csv",
        "/audit/breaches",
        "/audit/statistics",
        "/audit/log",
        "/audit/chain",
    ):
        assert web.get(path).status_code == 403, path
    assert "/audit/compliance" not in web.get("/my-work").text


def test_a_duty_overdue_when_its_case_ended_stays_a_breach_on_the_page(
    web: WebClient, ctx: ServiceContext, clock: FrozenClock
) -> None:
    """Issue 12 point 1 as the auditor reads it: the third case's preliminary decision was overdue when the
    person withdrew; the table counts it apart, the rate and the monthly trend still count it as a breach."""
    _timeline(ctx, clock)
    referrer = principal_named(ctx, "referrer")
    overdue = [c for c in cases.list_cases(ctx, referrer).items if c.state.value == "referred"]
    assert len(overdue) == 1
    event(ctx, referrer, overdue[0].id, "withdraw_consent", request={"how": "orally", "at": clock.now().isoformat()})
    create_account(ctx, "inspector", ["auditor"], "Inspection (fictive)", "coordination")
    web.sign_in("inspector")
    html = web.get(
        "/audit/compliance?from=2027-01-01&to=2027-12-31&group_by=kind", headers={"Accept-Language": "en"}
    ).text
    # deadlines, on time, late, overdue, overdue when the case ended, open on time, paused, cancelled before due
    assert _cells(html, "Preliminary decision")[:8] == ["3", "1", "1", "0", "1", "0", "0", "0"]
    assert _cells(html, "Preliminary decision")[-1] == "33.3%"
    # The month's rate over every kind: one on time out of four counted (the late decision, the breach at the
    # withdrawal, and the panel of the late decision, convened late): without the breach it would read 33.3%.
    assert _cells(html, "Panel convened")[:5] == ["2", "0", "0", "1", "0"]
    assert _cells(html, "Mar 2027") == ["25%"]
