"""What the support pages of a case share (`routes/case_support.py`, `routes/case_plan.py`): the notice after a
step (`?done=<code>`, a code of the page's own table, never text), the workflow's refusal in words, and days as
the person types them (three boxes) in the policy's time zone."""

from __future__ import annotations

from datetime import date, datetime, time

from app.services.errors import Conflict
from app.web.i18n import N_
from app.web.pages import Page

#: The workflow's refusal codes met on these pages, in words the person can act on.
REFUSALS: dict[str, str] = {
    "case_ended": N_("The case has ended: a coordinator can reopen it if the person needs support again."),
    "status": N_("This status cannot follow the current one."),
    "not_reopenable": N_("A case closed for this reason cannot be reopened: refer the person again."),
    "never_identified": N_("The person was never formally identified: refer the person again."),
    "erased": N_("The personal data of this case were erased: refer the person again."),
}


def notice_of(page: Page, notices: dict[str, str]) -> str | None:
    """The success message a redirect asked for with `?done=<code>`, translated, or None."""
    message = notices.get(page.request.query_params.get("done", ""))
    return page.gettext(message) if message else None


def refusal_words(page: Page, refusal: Conflict) -> str:
    message = REFUSALS.get(refusal.code or "")
    if message is not None:
        return page.gettext(message)
    return page.gettext("This step cannot be taken at this stage of the case.")


def parse_day(day: str, month: str, year: str) -> date | None:
    """A day typed in three boxes, or None when it is not a real day (years 1900 to 2100)."""
    try:
        parsed = date(int(year.strip()), int(month.strip()), int(day.strip()))
    except ValueError:
        return None
    return parsed if 1900 <= parsed.year <= 2100 else None


def local_day(page: Page) -> date:
    """Today in the policy's time zone."""
    return page.ctx.clock.now().astimezone(page.ctx.policy.calendar.tz).date()


def local_noon(page: Page, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=page.ctx.policy.calendar.tz)
