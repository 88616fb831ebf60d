"""My work: where every signed-in person lands. For now it greets them; the role pages fill it."""

from __future__ import annotations

from fastapi.responses import Response

from app.web.pages import SignedInPage
from app.web.routing import web_router

router = web_router()


@router.get("/my-work")
def my_work(page: SignedInPage) -> Response:
    return page.render("pages/my_work.html")
