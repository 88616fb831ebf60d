"""Deadlines as the workflow sees them: a snapshot per clock, and the status the API derives from it.

A duty clock (someone must act) stops while the case is suspended and resumes with the exact time that
remained: `remaining` is kept as a duration, not re-counted in days, so no suspended hour is ever counted
against a duty and no working day is gained or lost by where the suspension fell. A right of the person
(reflection period, reconsideration and review windows) is never paused: nothing cuts it short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.workflow.states import RIGHT_KINDS, DeadlineKind, DeadlineStatus


@dataclass(frozen=True, slots=True)
class DeadlineSnapshot:
    """One deadline row of a case, as stored.

    `paused_at` and `remaining` are set only while a duty is paused; `met_at` or `cancelled_at` close it.
    A right whose end passed may still have no `met_at` until the case ends: its status is derived.
    """

    kind: DeadlineKind
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None = None
    paused_at: datetime | None = None
    remaining: timedelta | None = None
    cancelled_at: datetime | None = None

    @property
    def is_right(self) -> bool:
        """A right of the person rather than a duty."""
        return self.kind in RIGHT_KINDS

    @property
    def is_closed(self) -> bool:
        """Met or cancelled: nothing more will happen to it."""
        return self.met_at is not None or self.cancelled_at is not None

    @property
    def is_paused(self) -> bool:
        """A duty whose clock is stopped because the case is suspended."""
        return self.paused_at is not None


def deadline_status(deadline: DeadlineSnapshot, now: datetime) -> DeadlineStatus:
    """The status the API shows at `now`; `overdue` is derived here and never stored."""
    if deadline.cancelled_at is not None:
        return DeadlineStatus.cancelled
    if deadline.met_at is not None:
        return DeadlineStatus.met_late if deadline.met_at > deadline.due_at else DeadlineStatus.met
    if deadline.is_right:
        # A right is met by the mere passing of its end: the person had the whole period.
        return DeadlineStatus.met if now >= deadline.due_at else DeadlineStatus.open
    if deadline.paused_at is not None:
        return DeadlineStatus.paused
    return DeadlineStatus.overdue if now > deadline.due_at else DeadlineStatus.open


def find_unclosed(deadlines: tuple[DeadlineSnapshot, ...], kind: DeadlineKind) -> DeadlineSnapshot | None:
    """The one deadline of `kind` that is neither met nor cancelled (a case holds at most one per kind)."""
    for deadline in deadlines:
        if deadline.kind is kind and not deadline.is_closed:
            return deadline
    return None


def right_is_running(deadlines: tuple[DeadlineSnapshot, ...], kind: DeadlineKind, now: datetime) -> bool:
    """Whether a right of `kind` is open now (opened, not exercised, its end not yet reached)."""
    deadline = find_unclosed(deadlines, kind)
    return deadline is not None and now < deadline.due_at
