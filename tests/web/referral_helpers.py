"""Walking the guided referral through the TestClient, as a browser would (shared by the referral tests)."""

from __future__ import annotations

import re

import httpx

from tests.web.helpers import WebClient

ADULT = {
    "age": {"age_band": "25-34", "age_disputed": "no"},
    "person": {"gender": "female", "nationality": "NG", "region": "FR-93"},
    "exploitation": {"forms": ["sexual_exploitation"], "exploitation_scope": "internal"},
    "consent": {"consent": "yes"},
    "identity": {"full_name": "Zorabelle Quintavox", "phone": "+33 6 00 00 00 00"},
    "account": {"what_happened": "Fictional account: promised a job, made to work without pay."},
    "circumstances": {"period_from-month": "3", "period_from-year": "2026", "ongoing": "yes"},
    "indicators": {"indicators": ["AL-DR-01"]},
    "needs": {"shelter_needed": "yes", "support_wanted": "yes", "interpreter_language": "en", "dependants": "0"},
}
CHILD = {
    **ADULT,
    "age": {"age_band": "15-17", "age_disputed": "no"},
    "consent": {"unaccompanied": "yes"},
    "identity": {"full_name": "Quillon Fictivo"},
    "indicators": {"indicators": []},
}


def start_draft(web: WebClient) -> str:
    """Start a referral from the referrals page; the draft's path (`/referrals/drafts/<id>`)."""
    response = web.submit("/referrals/new", {}, from_page="/referrals")
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"(/referrals/drafts/[0-9a-f-]{36})/age", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def answer(web: WebClient, draft: str, step: str, data: dict[str, object]) -> httpx.Response:
    return web.submit(f"{draft}/{step}", data, from_page=f"{draft}/{step}")  # type: ignore[arg-type]


def fill(web: WebClient, draft: str, answers: dict[str, dict[str, object]]) -> None:
    for step, data in answers.items():
        response = answer(web, draft, step, data)
        assert response.status_code == 303, (step, response.status_code, response.text[:2000])
