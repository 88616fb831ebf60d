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
    "emergency_shelter": N_("Emergency shelter tonight"),
    "support_review": N_("Support plan review"),
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
    "request_early_decision": N_("Record the person's request for an early decision"),
    "declare_conflict": N_("Declare a conflict of interest"),
    "report_missing": N_("Report the person missing or out of contact"),
    "report_found": N_("Report the person found"),
    "withdraw_consent": N_("Record the withdrawal of consent"),
    "close": N_("Close the case"),
    "age_assessed": N_("Record the age assessment"),
    "emergency_shelter_provided": N_("Provide emergency shelter"),
    "support_plan_reviewed": N_("Review the support plan"),
    "reopen": N_("Reopen the case"),
}

#: What happened, as a case's timeline tells it (an event of the history, or a service's own action).
HAPPENED: dict[str, str] = {
    "referral": N_("Referred"),
    "transfer_in": N_("Received from another country's mechanism"),
    "assign_assessor": N_("Assessor assigned"),
    "preliminary_decision": N_("Preliminary decision taken"),
    "request_reconsideration": N_("Reconsideration requested"),
    "convene_panel": N_("Panel convened"),
    "request_early_decision": N_("Early decision requested by the person"),
    "declare_conflict": N_("A panel member declared a conflict of interest"),
    "cast_vote": N_("A panel member voted"),
    "formal_decision": N_("Formal decision recorded"),
    "request_review": N_("Review requested"),
    "review_decision": N_("Review decision recorded"),
    "report_missing": N_("Reported missing or out of contact"),
    "report_found": N_("Reported found"),
    "withdraw_consent": N_("Consent withdrawn"),
    "close": N_("Case closed"),
    "age_assessed": N_("Age assessed"),
    "child_protection_notified": N_("Child protection services told"),
    "guardian_appointed": N_("Guardian appointed"),
    "shelter_offered": N_("Safe accommodation offered"),
    "police_notified": N_("Police told the child is missing"),
    "emergency_shelter_provided": N_("Emergency shelter provided"),
    "support_plan_reviewed": N_("Support plan reviewed"),
    "reopen": N_("Case reopened"),
    "transfer_completed": N_("Transferred to another country's mechanism"),
    "assign_caseworker": N_("Caseworker assigned"),
}

#: Why someone opens the person's identity (`Purpose`): written to the audit log.
PURPOSES: dict[str, str] = {
    "assessment": N_("To assess the case"),
    "panel_review": N_("To review the case on the panel"),
    "safeguarding": N_("To keep the person safe"),
    "support_planning": N_("To plan support"),
    "service_referral": N_("To refer the person to a service"),
    "legal_proceedings": N_("For legal proceedings"),
    "data_subject_request": N_("To answer the person's own request about their data"),
    "correction": N_("To correct the record"),
}

CLOSE_REASONS: dict[str, str] = {
    "support_completed": N_("Support completed"),
    "voluntary_return": N_("Voluntary return"),
    "lost_contact": N_("Contact lost"),
    "transferred": N_("Transferred"),
    "deceased": N_("The person died"),
    "no_reconsideration": N_("No reconsideration asked in time"),
    "no_review": N_("No review asked in time"),
    "other": N_("Another reason"),
}

REOPEN_REASONS: dict[str, str] = {
    "support_needed_again": N_("The person needs support again"),
    "re_exploited": N_("The person was exploited again"),
    "proceedings": N_("Proceedings need support"),
    "contact_restored": N_("Contact restored"),
    "other": N_("Another reason"),
}

ERASURE_REASONS: dict[str, str] = {
    "person_request": N_("The person asked for it"),
    "withdrawal": N_("Consent was withdrawn"),
    "retention": N_("The retention period is over"),
    "court_order": N_("A court ordered it"),
    "other": N_("Another reason"),
}

VOTES: dict[str, str] = {
    "identify": N_("Identify as a victim"),
    "not_identify": N_("Do not identify"),
    "abstain": N_("Abstain"),
}

PRELIMINARY_OUTCOMES: dict[str, str] = {
    "positive": N_("Reasonable grounds: the person is presumed a victim"),
    "negative": N_("No reasonable grounds"),
}

AGE_OUTCOMES: dict[str, str] = {"adult": N_("An adult"), "child": N_("A child")}

SECTORS: dict[str, str] = {
    "ngo": N_("Association"),
    "police": N_("Police"),
    "labour_inspection": N_("Labour inspection"),
    "social_services": N_("Social services"),
    "child_protection": N_("Child protection"),
    "health": N_("Health"),
    "education": N_("Education"),
    "asylum": N_("Asylum"),
    "prosecution": N_("Prosecution"),
    "coordination": N_("Coordination"),
}

STRENGTHS: dict[str, str] = {
    "strong": N_("Strong"),
    "medium": N_("Medium"),
    "weak": N_("Weak"),
    "unrated": N_("Not rated"),
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

EXPLOITATION_SCOPES: dict[str, str] = {
    "internal": N_("Within the country"),
    "cross_border": N_("Across a border: the person was brought from, or taken to, another country"),
    "unknown": N_("I do not know"),
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
    "safety": N_("Safety"),
    "dependants": N_("Dependants"),
    "debt": N_("Debt"),
    "documents": N_("Identity and other documents"),
    "housing": N_("Housing"),
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


#: The panel policy's composition rules (`app/workflow/panels.composition_checks`), as the composition check
#: shows them met or not.
RULES: dict[str, str] = {
    "min_voting_members": N_("At least %(needed)s voting members (%(found)s chosen)"),
    "min_distinct_sectors": N_("Members from at least %(needed)s different sectors (%(found)s so far)"),
    "required_sector": N_("A member from this sector sits: %(sector)s"),
    "allowed_sectors": N_("Every member comes from a sector the policy allows"),
    "not_referring_organisation": N_("No member comes from the referring organisation"),
    "panel_member_role": N_("Every member holds the panel member role"),
    "not_on_first_panel": N_("No member sat on the first panel"),
}

#: Who reads the first steps (`app/workflow/first_steps.Audience`).
AUDIENCES: dict[str, str] = {
    "school": N_("School or youth work"),
    "hospital": N_("Hospital or health care"),
    "labour_inspection": N_("Labour inspection"),
    "police": N_("Police or gendarmerie"),
    "social_services": N_("Social services"),
    "association": N_("Association"),
    "public": N_("Member of the public"),
}

#: The person the reader is worried about, for the first steps.
PERSONS: dict[str, str] = {
    "child": N_("A child (under 18)"),
    "adult": N_("An adult"),
    "unsure": N_("I am not sure of their age"),
}

#: Kinds of contact of a routing table (`app/workflow/routing.ContactKind`).
CONTACT_KINDS: dict[str, str] = {
    "emergency": N_("Emergency"),
    "child_protection": N_("Child protection"),
    "nrm": N_("National referral mechanism"),
    "police": N_("Police"),
    "labour_inspection": N_("Labour inspection"),
    "helpline": N_("Helpline"),
    "victim_support": N_("Victim support"),
    "shelter": N_("Safe accommodation"),
}

URGENCIES: dict[str, str] = {
    "immediate": N_("Immediate"),
    "long_term": N_("Long-term"),
}

#: The areas of a needs assessment (`app/workflow/needs.Area`).
AREAS: dict[str, str] = {
    "safety": N_("Safety"),
    "shelter": N_("Safe accommodation"),
    "subsistence": N_("Food, clothes and money to live on"),
    "health": N_("Health"),
    "interpreter": N_("Interpreter"),
    "dependants": N_("Children and other dependants"),
    "debt": N_("Debt"),
    "documents": N_("Identity and other documents"),
    "legal": N_("Legal help"),
    "work_training": N_("Work and training"),
    "housing": N_("Housing"),
    "education": N_("Education"),
}

#: How an area of the assessment was answered (`app/workflow/needs.Answer`).
ANSWERS: dict[str, str] = {
    "need": N_("Needs help"),
    "no_need": N_("No need"),
    "declined": N_("The person does not want help here"),
    "not_assessed": N_("Not assessed yet"),
}

SERVICE_STATUSES: dict[str, str] = {
    "requested": N_("Requested"),
    "accepted": N_("Accepted"),
    "refused": N_("Refused"),
    "delivered": N_("Delivered"),
}

PROVIDER_KINDS: dict[str, str] = {
    "shelter": N_("Shelter"),
    "psychologist": N_("Psychologist"),
    "lawyer": N_("Lawyer"),
    "interpreter": N_("Interpreter"),
    "medical": N_("Medical care"),
    "other": N_("Other service"),
}

TRACKS: dict[str, str] = {
    "criminal_proceedings": N_("Criminal proceedings"),
    "compensation": N_("Compensation"),
    "residence_permit": N_("Residence permit"),
    "non_punishment": N_("Non-punishment"),
}

MILESTONES: dict[str, str] = {
    "complaint_filed": N_("Complaint filed"),
    "testimony_given": N_("Testimony given"),
    "investigation_opened": N_("Investigation opened"),
    "investigation_discontinued": N_("Investigation discontinued"),
    "charges_brought": N_("Charges brought"),
    "trial_held": N_("Trial held"),
    "judgment_conviction": N_("Judgment: conviction"),
    "judgment_acquittal": N_("Judgment: acquittal"),
    "appeal_lodged": N_("Appeal lodged"),
    "conviction_final": N_("Conviction final"),
    "civil_party_joined": N_("Joined the proceedings as civil party"),
    "compensation_claimed": N_("Compensation claimed"),
    "compensation_awarded": N_("Compensation awarded"),
    "compensation_refused": N_("Compensation refused"),
    "compensation_paid": N_("Compensation paid"),
    "reflection_receipt_issued": N_("Reflection-period receipt issued"),
    "permit_applied": N_("Residence permit applied for"),
    "permit_granted": N_("Residence permit granted"),
    "permit_renewed": N_("Residence permit renewed"),
    "permit_refused": N_("Residence permit refused"),
    "resident_card_granted": N_("Resident card granted"),
    "non_punishment_raised": N_("Non-punishment raised"),
    "non_punishment_applied": N_("Non-punishment applied"),
    "non_punishment_not_applied": N_("Non-punishment not applied"),
}

ENTITLEMENT_STATUSES: dict[str, str] = {
    "not_yet": N_("Not yet"),
    "open": N_("Open"),
    "awaiting_condition": N_("Open if the person chooses"),
    "not_applicable": N_("Does not apply"),
}

# --- cross-border transfers (app/web/routes/transfers.py) ----------------------------------------------------

TRANSFER_REASONS: dict[str, str] = {
    "person_relocated": N_("The person lives, or is going to live, in that country"),
    "exploited_there": N_("The exploitation took place in that country"),
    "family_there": N_("The person's family or support network is in that country"),
    "safety": N_("The person is not safe in this country"),
    "person_request": N_("The person asked for it"),
    "other": N_("Another reason"),
}

CONSENT_METHODS: dict[str, str] = {
    "in_writing": N_("In writing"),
    "orally": N_("Orally"),
    "through_representative": N_("Through a representative"),
}

#: The outcomes of the decisions a sending mechanism took, as a received package states them.
DECISION_OUTCOMES: dict[str, str] = {
    "positive": N_("Reasonable grounds"),
    "negative": N_("No reasonable grounds"),
    "identified": N_("Identified as a victim"),
    "not_identified": N_("Not identified"),
}

#: Where a transfer stands, and the tone of its tag.
TRANSFER_STATES: dict[str, tuple[str, str]] = {
    "pending": (N_("Waiting to be delivered"), "info"),
    "delivered": (N_("Delivered, waiting for an answer"), "info"),
    "received": (N_("Received, waiting for a decision"), "warning"),
    "accepted": (N_("Accepted"), "success"),
    "refused": (N_("Refused"), "danger"),
    "failed": (N_("Not delivered"), "danger"),
}

REFUSAL_REASONS: dict[str, str] = {
    "no_jurisdiction": N_("The person is not, and will not be, in our territory"),
    "person_not_present": N_("The person did not arrive or cannot be reached"),
    "incomplete_package": N_("What we need to act is missing"),
    "consent_not_established": N_("The consent or the best-interests determination is in doubt"),
    "duplicate": N_("We already hold this person's case"),
    "other": N_("Another reason"),
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
