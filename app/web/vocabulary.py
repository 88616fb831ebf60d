"""The domain's codes in words, for pages: states, deadlines, actions, classification values.

Each label is an English message id marked with `N_`; a page translates it (`_(label)` in a template,
`page.gettext(label)` in Python), so both catalogues hold the associations' words in French and the UK's in
English. A code without a label shows as itself rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Callable

from app.web.i18n import N_
from app.workflow.support import SERVICE_DEADLINE_PREFIX

STATES: dict[str, str] = {
    "referred": N_("Referred, waiting for an assessor"),
    "preliminary_assessment": N_("Preliminary identification under way"),
    "recovery_period": N_("Reasonable grounds: reflection period running"),
    "preliminary_negative": N_("Negative preliminary decision"),
    "formal_assessment": N_("Formal identification: the panel is deciding"),
    "identified": N_("Identified as a victim"),
    "not_identified": N_("Not identified"),
    "under_review": N_("Decision under review"),
    "suspended": N_("Suspended: the person is missing or out of contact"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn by the person"),
}

DEADLINES: dict[str, str] = {
    "preliminary_decision": N_("Preliminary decision"),
    "child_protection_referral": N_("Child protection services told"),
    "guardian_appointment": N_("Guardian appointed"),
    "shelter_offer": N_("Safe accommodation offered"),
    "panel_convening": N_("Panel convened"),
    "formal_decision": N_("Formal decision"),
    "review_decision": N_("Review decision"),
    "missing_child_report": N_("Police told the child is missing"),
    "reflection_period": N_("Reflection period"),
    "reconsideration_window": N_("Time to ask for reconsideration"),
    "review_window": N_("Time to ask for a review"),
}

#: What a person does to answer a duty, as "my work" says it.
ACTIONS: dict[str, str] = {
    "assign_assessor": N_("Assign an assessor"),
    "preliminary_decision": N_("Take the preliminary decision"),
    "convene_panel": N_("Convene the panel"),
    "cast_vote": N_("Vote"),
    "formal_decision": N_("Record the formal decision"),
    "review_decision": N_("Record the review decision"),
    "child_protection_notified": N_("Tell child protection services"),
    "guardian_appointed": N_("Have a guardian appointed"),
    "police_notified": N_("Tell the police the child is missing"),
    "shelter_offered": N_("Offer safe accommodation"),
    "request_reconsideration": N_("Ask for reconsideration if there is new evidence"),
    "request_review": N_("Ask for a review if there are grounds"),
    "follow_up_service": N_("Follow up the service referral"),
}

AGE_BANDS: dict[str, str] = {
    "0-11": N_("Under 12"),
    "12-14": N_("12 to 14"),
    "15-17": N_("15 to 17"),
    "18-24": N_("18 to 24"),
    "25-34": N_("25 to 34"),
    "35-44": N_("35 to 44"),
    "45-54": N_("45 to 54"),
    "55+": N_("55 or over"),
    "unknown": N_("I do not know"),
}

GENDERS: dict[str, str] = {
    "female": N_("Woman or girl"),
    "male": N_("Man or boy"),
    "non_binary": N_("Non-binary"),
    "unknown": N_("I do not know, or the person prefers not to say"),
}

EXPLOITATION_FORMS: dict[str, str] = {
    "sexual_exploitation": N_("Sexual exploitation"),
    "forced_labour": N_("Forced labour or services"),
    "domestic_servitude": N_("Domestic servitude"),
    "slavery_servitude": N_("Slavery or servitude"),
    "forced_begging": N_("Forced begging"),
    "forced_criminality": N_("Forced criminality"),
    "organ_removal": N_("Organ removal"),
    "forced_marriage": N_("Forced marriage"),
    "illegal_adoption": N_("Illegal adoption"),
    "surrogacy_exploitation": N_("Exploitation of surrogacy"),
    "other": N_("Another form, or not sure"),
}

NEEDS: dict[str, str] = {
    "shelter": N_("Safe accommodation"),
    "medical": N_("Medical care"),
    "psychological": N_("Psychological support"),
    "legal": N_("Legal help"),
    "interpreter": N_("Interpreter"),
    "financial": N_("Financial help"),
    "education": N_("Education"),
    "employment": N_("Work"),
    "other": N_("Other need"),
}

#: Communication aids, as codes (a free text here could name the person, and needs are kept in clear).
COMMUNICATION_AIDS: dict[str, str] = {
    "sign_language": N_("Sign language"),
    "easy_read": N_("Easy-read documents"),
    "braille": N_("Braille"),
    "other": N_("Another aid: say so in the account"),
}

DOCUMENT_KINDS: dict[str, str] = {
    "evidence": N_("Evidence"),
    "asylum_interview": N_("Asylum interview transcript"),
    "panel_opinion": N_("Our organisation's opinion for the panel"),
    "other": N_("Other document"),
}


def label(table: dict[str, str], code: str) -> str:
    """The message id of `code` in `table`, or the code itself."""
    return table.get(code, code)


SECTORS: dict[str, str] = {
    "ngo": N_("Association"),
    "police": N_("Police or gendarmerie"),
    "labour_inspection": N_("Labour inspection"),
    "social_services": N_("Social services"),
    "child_protection": N_("Child protection"),
    "health": N_("Health"),
    "education": N_("Education"),
    "asylum": N_("Asylum"),
    "prosecution": N_("Prosecution"),
    "coordination": N_("Coordination of the mechanism"),
}

OUTCOMES: dict[str, str] = {
    "identified": N_("Identified as a victim"),
    "not_identified": N_("Not identified"),
    "under_review": N_("Decision under review"),
    "preliminary_negative": N_("Negative preliminary decision"),
    "withdrawn": N_("Withdrawn by the person"),
    "pending": N_("No decision yet"),
}

ROLES: dict[str, str] = {
    "referrer": N_("Referrer (first responder)"),
    "assessor": N_("Assessor"),
    "coordinator": N_("Coordinator"),
    "panel_member": N_("Panel member"),
    "caseworker": N_("Caseworker"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}


def deadline_name(gettext: Callable[[str], str], kind: str) -> str:
    """A deadline kind in words, translated; a service referral's (`service_<need>`) as the need it serves."""
    if kind.startswith(SERVICE_DEADLINE_PREFIX):
        need = kind.removeprefix(SERVICE_DEADLINE_PREFIX)
        return gettext("Service referral: %(need)s") % {"need": gettext(NEEDS.get(need, need))}
    return gettext(DEADLINES[kind]) if kind in DEADLINES else kind
