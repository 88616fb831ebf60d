"""The coordinator's form for sending a case to a peer mechanism (`app/web/routes/transfers.py`): what it asks,
how its answers are checked, and the `TransferRequest` they become.

The answers travel between the form and the check page in the body of POSTs (hidden fields), never in a URL:
a best-interests determination or a note may say something of the person. Nothing is stored before "Send".
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from app.services.transfers import ConsentInput, TransferRequest
from app.web.forms import FormErrors
from app.web.referral_form import parse_date
from app.workflow.transfers import ConsentMethod, TransferReason

Translate = Callable[[str], str]
TEXT_MAX = 20_000
_TIME = re.compile(r"(\d{1,2})\s*[:h.]\s*(\d{2})")  # 14:30, or 14h30 as French writes it


@dataclass
class TransferAnswers:
    """The form's fields as typed (strings), so a page with errors shows them again."""

    peer: str = ""
    reason: str = ""
    consent_how: str = ""
    consent_date: dict[str, str] = field(default_factory=dict)
    consent_time: str = ""
    best_interests: str = ""
    note: str = ""
    documents: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, single: Mapping[str, str], documents: Sequence[str]) -> TransferAnswers:
        def text(name: str) -> str:
            return (single.get(name) or "").strip()

        return cls(
            peer=text("peer"),
            reason=text("reason"),
            consent_how=text("consent_how"),
            consent_date={part: text(f"consent_date-{part}") for part in ("day", "month", "year")},
            consent_time=text("consent_time"),
            best_interests=text("best_interests"),
            note=text("note"),
            documents=[d for d in dict.fromkeys(documents) if d],
        )

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The answers as (name, value) pairs for the check page's hidden inputs."""
        pairs = [
            ("peer", self.peer),
            ("reason", self.reason),
            ("consent_how", self.consent_how),
            *((f"consent_date-{part}", value) for part, value in self.consent_date.items()),
            ("consent_time", self.consent_time),
            ("best_interests", self.best_interests),
            ("note", self.note),
        ]
        return [*pairs, *(("documents", d) for d in self.documents)]


@dataclass(frozen=True)
class Checked:
    """The answers checked: the request to send (None while there are errors) and the errors."""

    request: TransferRequest | None
    consent_at: dt.datetime | None
    errors: FormErrors


def _consent_at(
    answers: TransferAnswers, tz: dt.tzinfo, now: dt.datetime, errors: FormErrors, gettext: Translate
) -> dt.datetime | None:
    day = parse_date(answers.consent_date)
    if not isinstance(day, dt.date):
        errors.add("consent_date", gettext("Enter the date the person gave their consent, for example 27 3 2027"))
        return None
    moment: dt.time | None = dt.time(0, 0)  # the time is optional: the start of the day
    if answers.consent_time:
        typed = _TIME.fullmatch(answers.consent_time)
        try:
            moment = dt.time(int(typed.group(1)), int(typed.group(2))) if typed else None
        except ValueError:
            moment = None
        if moment is None:
            errors.add("consent_time", gettext("Enter the time as hours and minutes, for example 14:30"))
            return None
    given_at = dt.datetime.combine(day, moment or dt.time(0, 0), tzinfo=tz)
    if given_at > now:
        errors.add("consent_date", gettext("The consent cannot have been given later than now"))
        return None
    return given_at


def check(
    answers: TransferAnswers,
    *,
    child: bool,
    peers: Sequence[str],
    documents: Sequence[uuid.UUID],
    tz: dt.tzinfo,
    now: dt.datetime,
    gettext: Translate,
) -> Checked:
    """Check every answer, in the order of the form's fields."""
    errors = FormErrors()
    if answers.peer not in peers:
        errors.add("peer", gettext("Choose the mechanism to send the case to"))
    if answers.reason not in {r.value for r in TransferReason}:
        errors.add("reason", gettext("Choose why the case moves"))
    consent_at = None
    if child:
        if not answers.best_interests:
            errors.add("best_interests", gettext("Write the best-interests determination"))
        elif len(answers.best_interests) > TEXT_MAX:
            errors.add("best_interests", gettext("This answer is too long"))
    else:
        if answers.consent_how not in {m.value for m in ConsentMethod}:
            errors.add("consent_how", gettext("Say how the person gave their consent to the transfer"))
        consent_at = _consent_at(answers, tz, now, errors, gettext)
    if len(answers.note) > TEXT_MAX:
        errors.add("note", gettext("This answer is too long"))
    known = {str(d) for d in documents}
    if any(d not in known for d in answers.documents):
        errors.add("documents", gettext("Choose documents of this case only"))
    if errors:
        return Checked(None, consent_at, errors)
    request = TransferRequest(
        peer=answers.peer,
        reason=TransferReason(answers.reason),
        consent=None
        if child or consent_at is None
        else ConsentInput(how=ConsentMethod(answers.consent_how), at=consent_at),
        best_interests_determination=answers.best_interests if child else None,
        note=answers.note or None,
        documents=tuple(uuid.UUID(d) for d in answers.documents),
    )
    return Checked(request, consent_at, errors)
