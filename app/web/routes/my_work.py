"""My work: where every signed-in person lands: what they must act on, soonest deadline first
(`app/services/my_work.duties_for`), the deadline alerts raised for them (`app/services/alerts.alerts_for`,
the same ones `nrm worker` mails), and for a referrer their drafts and a way to start a referral."""

from __future__ import annotations

from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import alerts, my_work, referral_drafts
from app.web.pages import SignedInPage
from app.web.referral_form import STEPS
from app.web.routing import web_router
from app.web.vocabulary import ACTIONS, DEADLINES, NEEDS, STATES, deadline_name

router = web_router()

#: The page of a case where an action is taken, when it is not the case page itself.
ACTION_PAGES = {
    "emergency_shelter_provided": "support-plan",
    "support_plan_reviewed": "support-plan",
    "follow_up_service": "needs",
}


@router.get("/my-work")
def my_work_page(page: SignedInPage) -> Response:
    work = my_work.duties_for(page.ctx, page.principal)
    refers = page.principal.can(Permission.refer)
    return page.render(
        "pages/my_work.html",
        items=work.items,
        more=work.more,
        refers=refers,
        total=len(STEPS),
        drafts=referral_drafts.list_mine(page.ctx, page.principal) if refers else [],
        actions=ACTIONS,
        action_pages=ACTION_PAGES,
        deadline_names=DEADLINES,
        need_names=NEEDS,
        states=STATES,
        alerts=[
            (alert, deadline_name(page.gettext, alert.deadline_kind))
            for alert in alerts.alerts_for(page.ctx, page.principal)
        ],
    )
