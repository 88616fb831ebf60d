"""First steps, for anyone facing a presumed victim: public, no sign-in (issue 15, the associations' annex:
"quels sont les premiers pas à faire ? vers qui orienter ?").

`/first-steps` shows, for the reader's sector, the person (child, adult, or not sure: a child until known
otherwise) and the forms of exploitation they suspect, the policy's first steps (`app/workflow/first_steps.py`)
and whom to contact from its routing table (`app/workflow/routing.py`): functions, organisations and public
numbers, never a place of safety's address. The choices travel in the query as codes only; a code that is not
one of the lists is ignored rather than refused, so a shared link never breaks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from app.web.forms import choice_items
from app.web.pages import PublicPage
from app.web.routing import web_router
from app.web.vocabulary import AUDIENCES, CONTACT_KINDS, EXPLOITATION_FORMS, PERSONS
from app.workflow import Audience, audience_for_sector, first_steps
from app.workflow.routing import contacts_for, routing_regions
from app.workflow.states import ExploitationForm

router = web_router()


@router.get("/first-steps")
def first_steps_page(
    page: PublicPage,
    audience: str = "",
    person: str = "",
    form: Annotated[list[str] | None, Query()] = None,
    region: str = "",
) -> Response:
    asked = bool(audience or person or form or region)  # the reader chose: the steps come before the choices
    if audience not in Audience.__members__:
        audience = audience_for_sector(page.signed_in.principal.sector if page.signed_in else None).value
    person = person if person in PERSONS else "unsure"
    forms = [f.value for f in ExploitationForm if f.value in (form or [])]
    policy = page.ctx.policy.name
    regions = routing_regions(policy, page.language)
    region = region if region in dict(regions) else ""
    is_child = person != "adult"  # not sure: a child until an age assessment says otherwise (CETS 197 art. 10(3))
    steps = first_steps(policy, page.language, audience, forms, is_child)
    contacts = contacts_for(policy, region or None, is_child, forms, page.language)
    return page.render(
        "pages/support/first_steps.html",
        steps=steps,
        contacts=contacts,
        emergency=[c for c in contacts if c.kind.value == "emergency"],
        chosen={"audience": audience, "person": person, "forms": forms, "region": region},
        regions=regions,
        audience_items=choice_items(AUDIENCES, page.gettext),
        person_items=choice_items(PERSONS, page.gettext),
        form_items=choice_items(EXPLOITATION_FORMS, page.gettext),
        region_items=[{"value": "", "label": page.gettext("I do not know")}]
        + [{"value": code, "label": name} for code, name in regions],
        contact_kinds=CONTACT_KINDS,
        asked=asked,
        chosen_words=[
            page.gettext(AUDIENCES[audience]),
            page.gettext(PERSONS[person]),
            *(page.gettext(EXPLOITATION_FORMS[f]) for f in forms),
            *([dict(regions)[region]] if region else []),
        ],
    )
