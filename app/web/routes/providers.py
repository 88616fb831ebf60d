"""The provider directory (issue 13, coordinator): the list of support providers (names and kinds, for the
coordinator and caseworkers), adding one (coordinator), and a provider's address and phone behind a step of
their own: `support.get_provider` gives them only to who may locate the provider (the coordinator, or a
caseworker while an assigned case has a live referral there; docs/security.md) and audits that read.

The API adds and reads providers but does not change them, so neither does this page: a provider whose details
changed is added again. Paths: `/providers`, `/providers/new`, `/providers/{id}`, `/providers/{id}/contacts`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import support
from app.services.errors import NotFound
from app.web.case_pages import notice_of
from app.web.forms import FormErrors, choice_items
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import PROVIDER_KINDS
from app.workflow.states import ProviderKind

router = web_router()
Reader = Annotated[Page, Depends(page_for(Permission.read_providers))]
Manager = Annotated[Page, Depends(page_for(Permission.manage_providers))]

NAME_MAX, ADDRESS_MAX, PHONE_MAX = 200, 1000, 50
NOTICES = {"added": N_("The provider was added to the directory. Its address and phone are encrypted.")}


@router.get("/providers")
def directory(page: Reader, kind: str = "") -> Response:
    chosen = ProviderKind(kind) if kind in ProviderKind.__members__ else None
    return page.render(
        "pages/support/providers.html",
        providers=support.list_providers(page.ctx, chosen),
        kind=chosen.value if chosen else "",
        kinds=[{"value": "", "label": page.gettext("Every kind")}, *choice_items(PROVIDER_KINDS, page.gettext)],
        kind_names=PROVIDER_KINDS,
        may_add=page.principal.can(Permission.manage_providers),
        notice=notice_of(page, NOTICES),
    )


def _form(page: Page, values: dict[str, str], errors: FormErrors, status_code: int = 200) -> Response:
    return page.render(
        "pages/support/provider_new.html",
        status_code=status_code,
        values=values,
        kinds=choice_items(PROVIDER_KINDS, page.gettext),
        errors=errors,
    )


@router.get("/providers/new")
def new_provider(page: Manager) -> Response:
    return _form(page, {}, FormErrors())


@router.post("/providers/new")
def add_provider(
    page: Manager,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    values = {"name": name, "kind": kind, "address": address, "phone": phone}
    name, address, phone = name.strip(), address.strip(), phone.strip()
    errors = FormErrors()
    if not name:
        errors.add("name", page.gettext("Enter the provider's name"))
    elif len(name) > NAME_MAX:
        errors.add("name", page.gettext("This answer is too long"))
    if kind not in ProviderKind.__members__:
        errors.add("kind", page.gettext("Choose what the provider offers"))
    if not address:
        errors.add("address", page.gettext("Enter the address where the person is received"))
    elif len(address) > ADDRESS_MAX:
        errors.add("address", page.gettext("This answer is too long"))
    if len(phone) > PHONE_MAX:
        errors.add("phone", page.gettext("This answer is too long"))
    if errors:
        return _form(page, values, errors, status_code=422)
    created = support.create_provider(page.ctx, page.principal, name, kind, address, phone or None)
    return page.redirect(f"/providers/{created.id}?done=added")


def _summary(page: Page, provider_id: uuid.UUID) -> support.ProviderSummary:
    """Name and kind from the directory's list: no contact is opened, nothing to audit."""
    found = next((p for p in support.list_providers(page.ctx) if p.id == provider_id), None)
    if found is None:
        raise NotFound("no such provider")
    return found


@router.get("/providers/{provider_id}")
def provider_page(page: Reader, provider_id: uuid.UUID) -> Response:
    return page.render(
        "pages/support/provider.html",
        provider=_summary(page, provider_id),
        contacts=None,
        kind_names=PROVIDER_KINDS,
        notice=notice_of(page, NOTICES),
    )


@router.get("/providers/{provider_id}/contacts")
def provider_contacts(page: Reader, provider_id: uuid.UUID) -> Response:
    provider = support.get_provider(page.ctx, page.principal, provider_id)
    return page.render(
        "pages/support/provider.html",
        provider=provider,
        contacts=provider,
        kind_names=PROVIDER_KINDS,
        notice=None,
    )
