"""The deadline alerts' e-mail: one digest per person and pass, in their language, with nothing of the people
referred: the case reference, the duty in words, the due date, and a link to the case page (`NRM_PUBLIC_URL`).

`MailSender(ctx, mailer)` is the `AlertSender` that `nrm worker` gives `app/services/alerts.run`.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from app.services.alerts import AlertItem, Digest, Threshold
from app.services.context import ServiceContext
from app.services.mail import Mailer
from app.web.formatting import Formats
from app.web.i18n import LANGUAGES, babel_locale, translations
from app.web.vocabulary import deadline_name

logger = logging.getLogger("app.alerts")


def _line(formats: Formats, item: AlertItem) -> str:
    gettext = formats.translations.gettext
    duty = deadline_name(gettext, item.deadline_kind)
    due = formats.datetime(item.due_at)
    if item.threshold is Threshold.reminder:
        when = gettext("due %(date)s (%(delay)s)") % {
            "date": due,
            "delay": formats.deadline_in_words(item.due_at, working_days=item.working_days),
        }
    elif item.threshold is Threshold.overdue:
        when = gettext("overdue since %(date)s") % {"date": due}
    else:
        when = gettext("overdue since %(date)s: escalated to the coordinators") % {"date": due}
    return f"{item.reference} – {duty}: {when}"


def compose(ctx: ServiceContext, digest: Digest) -> EmailMessage:
    """The digest as a plain-text message to `digest.email`, in the person's language."""
    language = digest.language if digest.language in LANGUAGES else "fr"
    catalogue = translations(language)
    formats = Formats(babel_locale(language), catalogue, ctx.clock, ctx.policy.calendar)
    gettext = catalogue.gettext
    count = len(digest.items)
    base = ctx.settings.public_url
    lines = [
        gettext("Hello,"),
        "",
        catalogue.ngettext("%(num)s deadline needs your attention:", "%(num)s deadlines need your attention:", count)
        % {"num": formats.number(count)},
        "",
    ]
    for item in digest.items:
        lines.append("- " + _line(formats, item))
        if base:
            lines.append(f"  {base.rstrip('/')}/cases/{item.case_id}")
    lines += [
        "",
        gettext(
            'The same alerts are on your "My work" page. Sign in to see the cases: this message holds no '
            "personal data, on purpose."
        ),
        "",
        gettext("National referral mechanism"),
    ]
    message = EmailMessage()
    message["Subject"] = catalogue.ngettext(
        "Deadline alert: %(num)s deadline", "Deadline alert: %(num)s deadlines", count
    ) % {"num": formats.number(count)}
    message["From"] = ctx.settings.mail_from
    message["To"] = digest.email or ""
    message["Message-ID"] = make_msgid(domain="nrm.invalid")
    message.set_content("\n".join(lines))
    return message


class MailSender:
    """Composes each digest and hands it to the mailer; a refusal is logged (without the address) and the
    alerts stay on the web."""

    def __init__(self, ctx: ServiceContext, mailer: Mailer) -> None:
        self.ctx, self.mailer = ctx, mailer

    def __call__(self, digest: Digest) -> bool:
        try:
            self.mailer.send(compose(self.ctx, digest))
        except (OSError, smtplib.SMTPException) as error:
            logger.warning("an alert digest could not be mailed", extra={"error": type(error).__name__})
            return False
        return True
