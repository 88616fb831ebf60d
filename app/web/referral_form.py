"""The guided referral: its steps, what each asks and checks, and how the answers become a referral.

One topic per page, in the order a first responder under stress can follow, the non-identifying questions
first so that an adult who does not consent can be counted by an anonymous notification in one more step,
with nothing identifying ever typed:

  1 age · 2 the person (gender, nationality, where) · 3 forms of exploitation · 4 consent (an adult) or why a
  child is protected without it · 5 identity and contact · 6 what happened · 7 when, where, who · 8 indicators
  · 9 needs, then "check your answers".

Answers are kept as the form posted them (strings and lists of strings, under the field names), encrypted in
the server-side draft (`app/services/referral_drafts.py`); `referral_input` and `notification_input` turn
them into the services' inputs once every step is complete. Messages are English ids, translated by the page.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pycountry
from babel import Locale

from app.services.cases import NotificationInput, ReferralInput
from app.web.forms import FormErrors, choice_items
from app.web.i18n import N_, babel_locale
from app.web.vocabulary import AGE_BANDS, COMMUNICATION_AIDS, EXPLOITATION_FORMS, EXPLOITATION_SCOPES, GENDERS
from app.workflow import AgeBand, ExploitationForm, ExploitationScope, Gender, indicator_codes, load_indicators
from app.workflow.states import CHILD_AGE_BANDS

Answers = dict[str, Any]
Translate = Callable[[str], str]

NAME_MAX = 300
SHORT_MAX = 500
TEXT_MAX = 20_000
MAX_DEPENDANTS = 30
MAX_LIST_ITEMS = 20
CHILD_BANDS = frozenset(band.value for band in CHILD_AGE_BANDS)
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Step:
    slug: str
    title: str  # the page's title and the summary's group heading (N_)


STEPS: tuple[Step, ...] = (
    Step("age", N_("How old is the person?")),
    Step("person", N_("About the person")),
    Step("exploitation", N_("What kind of exploitation do you suspect?")),
    Step("consent", N_("Consent")),
    Step("identity", N_("Who the person is and how to reach them")),
    Step("account", N_("What happened")),
    Step("circumstances", N_("When, where and who")),
    Step("indicators", N_("What you noticed")),
    Step("needs", N_("What the person needs now")),
)
SLUGS = tuple(step.slug for step in STEPS)
STEP_BY_SLUG = {step.slug: step for step in STEPS}


def step_number(slug: str) -> int:
    return SLUGS.index(slug) + 1


def next_slug(slug: str) -> str | None:
    index = SLUGS.index(slug)
    return SLUGS[index + 1] if index + 1 < len(SLUGS) else None


def previous_slug(slug: str) -> str | None:
    index = SLUGS.index(slug)
    return SLUGS[index - 1] if index > 0 else None


# --- who the person is, for the rules ----------------------------------------------------------------------


def is_presumed_child(answers: Mapping[str, Any]) -> bool:
    """Under 18, age unknown, or age in doubt: presumed a child (CETS 197 art. 10(3)), no consent asked."""
    band = answers.get("age_band")
    return band in CHILD_BANDS or band == AgeBand.unknown.value or answers.get("age_disputed") == YES


def consent_refused(answers: Mapping[str, Any]) -> bool:
    """An adult who does not consent: they can only be counted, by an anonymous notification."""
    return not is_presumed_child(answers) and answers.get("consent") == NO


# --- choices -----------------------------------------------------------------------------------------------


def _choices(table: Mapping[str, str], gettext: Translate) -> list[dict[str, str]]:
    return choice_items(table, gettext)


def age_band_choices(gettext: Translate) -> list[dict[str, str]]:
    items = _choices(AGE_BANDS, gettext)
    items[-1]["hint"] = gettext("The person will be presumed a child until an age assessment says otherwise.")
    return items


def gender_choices(gettext: Translate) -> list[dict[str, str]]:
    return _choices(GENDERS, gettext)


def form_choices(gettext: Translate) -> list[dict[str, str]]:
    return _choices(EXPLOITATION_FORMS, gettext)


def scope_choices(gettext: Translate) -> list[dict[str, str]]:
    return _choices(EXPLOITATION_SCOPES, gettext)


def communication_aid_choices(gettext: Translate) -> list[dict[str, str]]:
    return [{"value": "", "label": gettext("None")}, *_choices(COMMUNICATION_AIDS, gettext)]


@lru_cache(maxsize=4)
def nationality_names(language: str) -> dict[str, str]:
    """ISO 3166-1 alpha-2 codes (and Kosovo's XK) with their names in the language, sorted by name."""
    locale = babel_locale(language)
    codes = {country.alpha_2 for country in pycountry.countries} | {"XK"}
    names = {code: str(locale.territories.get(code, code)) for code in codes}
    return dict(sorted(names.items(), key=lambda item: _sort_key(locale, item[1])))


@lru_cache(maxsize=8)
def region_names(country: str) -> dict[str, str]:
    """The finest ISO 3166-2 subdivisions of the jurisdiction's country (France: departments and overseas
    collectivities), code to name, sorted by code: where a referral is made decides its calendar."""
    subdivisions = [sub for sub in pycountry.subdivisions if sub.country_code == country]
    parents = {sub.parent_code for sub in subdivisions if sub.parent_code}
    leaves = [sub for sub in subdivisions if sub.code not in parents]
    return {sub.code: sub.name for sub in sorted(leaves, key=lambda sub: sub.code)}


@lru_cache(maxsize=4)
def language_names(language: str) -> dict[str, str]:
    """Two-letter ISO 639-1 language codes with their names in the language, sorted by name."""
    locale = babel_locale(language)
    codes = {lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")}
    names = {code: str(locale.languages[code]) for code in codes if code in locale.languages}
    return dict(sorted(names.items(), key=lambda item: _sort_key(locale, item[1])))


def _sort_key(locale: Locale, name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


# --- reading a step's form ---------------------------------------------------------------------------------


class Form:
    """The posted fields of one step: `text(name)`, `many(name)`."""

    def __init__(self, single: Mapping[str, str], multiple: Mapping[str, Sequence[str]]) -> None:
        self._single = single
        self._multiple = multiple

    def text(self, name: str) -> str:
        return (self._single.get(name) or "").strip()

    def many(self, name: str) -> list[str]:
        return [value for value in self._multiple.get(name, ()) if value]


@dataclass
class Reading:
    """What a step's form gave: the values to keep (also shown again when there are errors) and errors."""

    values: Answers
    errors: FormErrors


def _one_of(form: Form, name: str, allowed: Sequence[str], errors: FormErrors, message: str) -> str:
    value = form.text(name)
    if value not in allowed:
        errors.add(name, message)
        return ""
    return value


def _yes_no(form: Form, name: str, errors: FormErrors, message: str) -> str:
    return _one_of(form, name, (YES, NO), errors, message)


def _limited(form: Form, name: str, limit: int, errors: FormErrors, message: str) -> str:
    value = form.text(name)
    if len(value) > limit:
        errors.add(name, message)
    return value


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _date_parts(form: Form, name: str) -> dict[str, str]:
    return {part: form.text(f"{name}-{part}") for part in ("day", "month", "year")}


def parse_date(parts: Mapping[str, str], *, day_optional: bool = False) -> dt.date | str | None:
    """A date from its three boxes: None when all are empty, the date, or "invalid"."""
    day, month, year = parts.get("day", ""), parts.get("month", ""), parts.get("year", "")
    if not (day or month or year):
        return None
    if day_optional and not day:
        day = "1"
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return "invalid"


def _age_at(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def read_age(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    band = _one_of(form, "age_band", list(AGE_BANDS), errors, gettext("Choose the person's age, or I do not know"))
    disputed = _yes_no(form, "age_disputed", errors, gettext("Say whether there is any doubt about the age"))
    if band == AgeBand.unknown.value:
        disputed = YES  # an unknown age is a doubt: the presumption of minority applies
    return Reading({"age_band": band, "age_disputed": disputed}, errors)


def read_person(form: Form, answers: Answers, gettext: Translate, today: dt.date, country: str) -> Reading:
    errors = FormErrors()
    gender = _one_of(form, "gender", list(GENDERS), errors, gettext("Choose the person's gender, or I do not know"))
    nationality = form.text("nationality")
    if nationality != "unknown" and nationality not in nationality_names("en"):
        errors.add("nationality", gettext("Choose a nationality, or I do not know"))
    region = _one_of(form, "region", list(region_names(country)), errors, gettext("Choose where you met the person"))
    return Reading({"gender": gender, "nationality": nationality, "region": region}, errors)


def read_exploitation(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    forms = [f for f in form.many("forms") if f in EXPLOITATION_FORMS]
    if not forms:
        errors.add("forms", gettext("Choose at least one form of exploitation (Another form, or not sure, will do)"))
    # Optional: not knowing whether the person crossed a border must never hold a referral back.
    scope = form.text("exploitation_scope")
    if scope and scope not in EXPLOITATION_SCOPES:
        errors.add("exploitation_scope", gettext("Choose where the exploitation took place, or I do not know"))
        scope = ""
    return Reading(
        {"forms": sorted(set(forms), key=list(EXPLOITATION_FORMS).index), "exploitation_scope": scope}, errors
    )


def read_consent(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    if is_presumed_child(answers):
        choices = (YES, NO, "unknown")
        message = gettext("Say whether the child is unaccompanied")
        return Reading({"unaccompanied": _one_of(form, "unaccompanied", choices, errors, message)}, errors)
    consent = _yes_no(form, "consent", errors, gettext("Say whether the person consents to the referral"))
    return Reading({"consent": consent}, errors)


def read_identity(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    too_long = gettext("This answer is too long")
    name = _limited(form, "full_name", NAME_MAX, errors, too_long)
    if not name:
        errors.add("full_name", gettext("Enter the name the person gave, even if it may not be their real one"))
    aliases = _limited(form, "aliases", SHORT_MAX * 4, errors, too_long)
    if len(_lines(aliases)) > MAX_LIST_ITEMS or any(len(line) > SHORT_MAX for line in _lines(aliases)):
        errors.add("aliases", too_long)
    birth_parts = _date_parts(form, "date_of_birth")
    birth = parse_date(birth_parts)
    if birth == "invalid" or (isinstance(birth, dt.date) and not (dt.date(1900, 1, 1) <= birth <= today)):
        errors.add("date_of_birth", gettext("Enter a real date of birth, for example 27 3 2009, or leave it empty"))
    elif isinstance(birth, dt.date):
        under_18 = _age_at(birth, today) < 18
        if under_18 != (answers.get("age_band") in CHILD_BANDS) and answers.get("age_band") != AgeBand.unknown.value:
            errors.add("date_of_birth", gettext("This date of birth does not match the age you gave in step 1"))
    values: Answers = {"full_name": name, "aliases": aliases, "date_of_birth": birth_parts}
    for field in ("phone", "email", "address", "alternative_contact"):
        values[field] = _limited(form, field, SHORT_MAX, errors, too_long)
    return Reading(values, errors)


ACCOUNT_FIELDS = ("what_happened", "how_it_started", "living_conditions", "how_treated", "why_stayed_or_left")


def read_account(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    values = {
        field: _limited(form, field, TEXT_MAX, errors, gettext("This answer is too long")) for field in ACCOUNT_FIELDS
    }
    if not values["what_happened"]:
        errors.add("what_happened", gettext("Say in a few words what happened, as the person told it"))
    return Reading(values, errors)


def read_circumstances(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    too_long = gettext("This answer is too long")
    values: Answers = {}
    for field in ("period_from", "period_to"):
        parts = _date_parts(form, field)
        value = parse_date(parts, day_optional=True)
        if value == "invalid" or (isinstance(value, dt.date) and value > today):
            errors.add(field, gettext("Enter a past date as numbers, for example 3 2026 (the day may be left out)"))
        values[field] = parts
    start, end = (parse_date(values[f], day_optional=True) for f in ("period_from", "period_to"))
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        errors.add("period_to", gettext("The end must come after the start"))
    values["ongoing"] = YES if form.text("ongoing") == YES else NO
    values["places"] = _limited(form, "places", SHORT_MAX * 4, errors, too_long)
    if len(_lines(values["places"])) > 50 or any(len(line) > SHORT_MAX for line in _lines(values["places"])):
        errors.add("places", too_long)
    for field in ("exploiters", "other_victims"):
        values[field] = _limited(form, field, TEXT_MAX, errors, too_long)
    police = form.text("reported_to_police")
    values["reported_to_police"] = police if police in (YES, NO) else NO
    values["police_reference"] = _limited(form, "police_reference", SHORT_MAX, errors, too_long)
    return Reading(values, errors)


def read_indicators(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    known = indicator_codes()
    return Reading({"indicators": sorted({code for code in form.many("indicators") if code in known})}, FormErrors())


def read_needs(form: Form, answers: Answers, gettext: Translate, today: dt.date) -> Reading:
    errors = FormErrors()
    values: Answers = {}
    interpreter = form.text("interpreter_language")
    if interpreter and interpreter not in language_names("en"):
        errors.add("interpreter_language", gettext("Choose a language from the list"))
    values["interpreter_language"] = interpreter
    aid = form.text("communication_aid")
    values["communication_aid"] = aid if aid in COMMUNICATION_AIDS else ""
    dependants = form.text("dependants") or "0"
    if not dependants.isdigit() or int(dependants) > MAX_DEPENDANTS:
        errors.add("dependants", gettext("Enter a number of people, from 0 to 30"))
    values["dependants"] = dependants
    values["shelter_needed"] = _yes_no(
        form, "shelter_needed", errors, gettext("Say whether the person needs a safe place to stay")
    )
    values["support_wanted"] = _yes_no(form, "support_wanted", errors, gettext("Say whether the person wants support"))
    values["asylum_interview_reference"] = _limited(
        form, "asylum_interview_reference", SHORT_MAX, errors, gettext("This answer is too long")
    )
    return Reading(values, errors)


def read_step(slug: str, form: Form, answers: Answers, gettext: Translate, today: dt.date, country: str) -> Reading:
    """Read and check the form of step `slug` against the answers given so far."""
    if slug == "person":
        return read_person(form, answers, gettext, today, country)
    readers = {
        "age": read_age,
        "exploitation": read_exploitation,
        "consent": read_consent,
        "identity": read_identity,
        "account": read_account,
        "circumstances": read_circumstances,
        "indicators": read_indicators,
        "needs": read_needs,
    }
    return readers[slug](form, answers, gettext, today)


# --- completeness ------------------------------------------------------------------------------------------


def missing_steps(answers: Mapping[str, Any]) -> list[str]:
    """The steps whose required answers are not all given yet (in order)."""
    missing = []
    if not answers.get("age_band") or not answers.get("age_disputed"):
        missing.append("age")
    if not (answers.get("gender") and answers.get("nationality") and answers.get("region")):
        missing.append("person")
    if not answers.get("forms"):
        missing.append("exploitation")
    child = is_presumed_child(answers)
    if (child and not answers.get("unaccompanied")) or (not child and answers.get("consent") != YES):
        missing.append("consent")
    if not answers.get("full_name"):
        missing.append("identity")
    if not answers.get("what_happened"):
        missing.append("account")
    if "ongoing" not in answers:
        missing.append("circumstances")
    if "indicators" not in answers:
        missing.append("indicators")
    if not (answers.get("shelter_needed") and answers.get("support_wanted")):
        missing.append("needs")
    return missing


def steps_done(answers: Mapping[str, Any]) -> int:
    return len(SLUGS) - len(missing_steps(answers))


def notification_ready(answers: Mapping[str, Any]) -> bool:
    """Every non-identifying answer an anonymous notification needs is given."""
    return not ({"age", "person", "exploitation"} & set(missing_steps(answers)))


# --- turning the answers into the services' inputs ---------------------------------------------------------


def _or_none(value: Any) -> Any:
    return value if value not in ("", None, [], {}) else None


def _iso(parts: Any, *, day_optional: bool = False) -> str | None:
    value = parse_date(parts or {}, day_optional=day_optional)
    return value.isoformat() if isinstance(value, dt.date) else None


def referral_input(answers: Mapping[str, Any]) -> ReferralInput:
    """The referral the complete answers describe (`missing_steps` must be empty)."""
    child = is_presumed_child(answers)
    person = {
        "full_name": answers["full_name"],
        "aliases": _lines(answers.get("aliases", "")),
        "date_of_birth": _iso(answers.get("date_of_birth")),
        **{f: _or_none(answers.get(f)) for f in ("phone", "email", "address", "alternative_contact")},
    }
    account = {
        **{f: _or_none(answers.get(f)) for f in ACCOUNT_FIELDS},
        "period": {
            "from": _iso(answers.get("period_from"), day_optional=True),
            "to": _iso(answers.get("period_to"), day_optional=True),
            "ongoing": answers.get("ongoing") == YES,
        },
        "places": _lines(answers.get("places", "")),
        "exploiters": _or_none(answers.get("exploiters")),
        "other_victims": _or_none(answers.get("other_victims")),
        "reported_to_police": answers.get("reported_to_police") == YES,
        "police_reference": _or_none(answers.get("police_reference")),
    }
    needs = {
        "interpreter_language": _or_none(answers.get("interpreter_language")),
        "communication_aid": _or_none(answers.get("communication_aid")),
        "dependants": int(answers.get("dependants") or 0),
        "support_wanted": answers.get("support_wanted") == YES,
        "shelter_needed": answers.get("shelter_needed") == YES,
    }
    return ReferralInput(
        person=person,
        account=account,
        needs=needs,
        age_band=AgeBand(answers["age_band"]).value,
        age_disputed=answers.get("age_disputed") == YES,
        # Not knowing whether a child is accompanied protects them as if they were not.
        unaccompanied=child and answers.get("unaccompanied") in (YES, "unknown"),
        gender=Gender(answers["gender"]).value,
        nationality=answers["nationality"],
        region=answers["region"],
        exploitation_forms=[ExploitationForm(f).value for f in answers["forms"]],
        exploitation_scope=ExploitationScope(answers.get("exploitation_scope") or "unknown").value,
        indicators=list(answers.get("indicators", [])),
        consent_given=not child and answers.get("consent") == YES,
        asylum_interview_reference=_or_none(answers.get("asylum_interview_reference")),
    )


def notification_input(answers: Mapping[str, Any]) -> NotificationInput:
    """The anonymous notification: the non-identifying answers only."""
    return NotificationInput(
        gender=Gender(answers["gender"]).value,
        age_band=AgeBand(answers["age_band"]).value,
        nationality=answers["nationality"],
        region=answers["region"],
        exploitation_forms=[ExploitationForm(f).value for f in answers["forms"]],
    )


# --- check your answers ------------------------------------------------------------------------------------


def _yes_no_words(value: Any, gettext: Translate) -> str:
    return {YES: gettext("Yes"), NO: gettext("No"), "unknown": gettext("I do not know")}.get(value, "")


def _date_words(parts: Any, format_date: Callable[[dt.date], str], *, day_optional: bool = False) -> str:
    value = parse_date(parts or {}, day_optional=day_optional)
    return format_date(value) if isinstance(value, dt.date) else ""


def summary_sections(
    answers: Mapping[str, Any],
    gettext: Translate,
    language: str,
    country: str,
    format_date: Callable[[dt.date], str],
    change_href: Callable[[str], str],
) -> list[dict[str, Any]]:
    """The answers as "check your answers" shows them: one section per step, rows of (key, value, href)."""
    not_given = gettext("Not given")
    child = is_presumed_child(answers)
    indicator_labels = {ind.code: ind.label_in(language) for ind in load_indicators()}

    def row(key: str, value: Any, slug: str) -> dict[str, str]:
        return {"key": key, "value": value if value not in ("", None, []) else not_given, "href": change_href(slug)}

    forms = ", ".join(gettext(EXPLOITATION_FORMS[f]) for f in answers.get("forms", []) if f in EXPLOITATION_FORMS)
    consent_rows = (
        [row(gettext("Unaccompanied child"), _yes_no_words(answers.get("unaccompanied"), gettext), "consent")]
        if child
        else [
            row(gettext("Informed consent to the referral"), _yes_no_words(answers.get("consent"), gettext), "consent")
        ]
    )
    sections = {
        "age": [
            row(
                gettext("Age"),
                gettext(AGE_BANDS.get(answers.get("age_band", ""), "")) if answers.get("age_band") else "",
                "age",
            ),
            row(gettext("Age uncertain or disputed"), _yes_no_words(answers.get("age_disputed"), gettext), "age"),
        ],
        "person": [
            row(
                gettext("Gender"),
                gettext(GENDERS[answers["gender"]]) if answers.get("gender") in GENDERS else "",
                "person",
            ),
            row(
                gettext("Nationality"),
                gettext("I do not know")
                if answers.get("nationality") == "unknown"
                else nationality_names(language).get(answers.get("nationality", ""), ""),
                "person",
            ),
            row(
                gettext("Where you met the person"), region_names(country).get(answers.get("region", ""), ""), "person"
            ),
        ],
        "exploitation": [
            row(gettext("Forms of exploitation"), forms, "exploitation"),
            row(
                gettext("Where the exploitation took place"),
                gettext(EXPLOITATION_SCOPES[answers.get("exploitation_scope") or "unknown"]),
                "exploitation",
            ),
        ],
        "consent": consent_rows,
        "identity": [
            row(gettext("Name"), answers.get("full_name"), "identity"),
            row(gettext("Other names"), ", ".join(_lines(answers.get("aliases", ""))), "identity"),
            row(gettext("Date of birth"), _date_words(answers.get("date_of_birth"), format_date), "identity"),
            row(gettext("Phone"), answers.get("phone"), "identity"),
            row(gettext("Email"), answers.get("email"), "identity"),
            row(gettext("Where the person can be reached"), answers.get("address"), "identity"),
            row(gettext("Someone who can pass on a message"), answers.get("alternative_contact"), "identity"),
        ],
        "account": [
            row(gettext("What happened"), answers.get("what_happened"), "account"),
            row(gettext("How it started"), answers.get("how_it_started"), "account"),
            row(gettext("Living conditions"), answers.get("living_conditions"), "account"),
            row(gettext("How the person was treated"), answers.get("how_treated"), "account"),
            row(gettext("Why the person stayed or left"), answers.get("why_stayed_or_left"), "account"),
        ],
        "circumstances": [
            row(
                gettext("Since"),
                _date_words(answers.get("period_from"), format_date, day_optional=True),
                "circumstances",
            ),
            row(
                gettext("Until"), _date_words(answers.get("period_to"), format_date, day_optional=True), "circumstances"
            ),
            row(gettext("Still going on"), _yes_no_words(answers.get("ongoing"), gettext), "circumstances"),
            row(gettext("Places"), ", ".join(_lines(answers.get("places", ""))), "circumstances"),
            row(gettext("The exploiters"), answers.get("exploiters"), "circumstances"),
            row(gettext("Other victims"), answers.get("other_victims"), "circumstances"),
            row(
                gettext("Reported to the police"),
                _yes_no_words(answers.get("reported_to_police"), gettext),
                "circumstances",
            ),
            row(gettext("Police reference"), answers.get("police_reference"), "circumstances"),
        ],
        "indicators": [
            row(
                gettext("Indicators noticed"),
                "; ".join(indicator_labels.get(code, code) for code in answers.get("indicators", [])),
                "indicators",
            )
        ],
        "needs": [
            row(
                gettext("Interpreter"),
                language_names(language).get(answers.get("interpreter_language", ""), ""),
                "needs",
            ),
            row(
                gettext("Communication aid"),
                gettext(COMMUNICATION_AIDS[answers["communication_aid"]])
                if answers.get("communication_aid") in COMMUNICATION_AIDS
                else "",
                "needs",
            ),
            row(gettext("Dependants with the person"), answers.get("dependants", ""), "needs"),
            row(gettext("Needs a safe place to stay"), _yes_no_words(answers.get("shelter_needed"), gettext), "needs"),
            row(gettext("Wants support"), _yes_no_words(answers.get("support_wanted"), gettext), "needs"),
            row(gettext("Asylum interview reference"), answers.get("asylum_interview_reference"), "needs"),
        ],
    }
    return [{"slug": step.slug, "title": gettext(step.title), "rows": sections[step.slug]} for step in STEPS]
