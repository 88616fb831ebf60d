"""Jinja2 environments, one per language, with gettext and the formatting helpers installed.

One environment per language (rather than one whose translations change per request) keeps rendering thread-safe:
sync routes run in a thread pool, and each template is compiled once per language.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.services.context import ServiceContext
from app.web.formatting import Formats
from app.web.i18n import LANGUAGES, babel_locale, translations

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, appended to its URL so that a changed file is fetched again."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.rglob("*")
        if path.is_file()
    }


class Renderer:
    """Renders a template in a language. Built once per application, from its service context."""

    def __init__(self, ctx: ServiceContext) -> None:
        versions = _static_versions()

        def static(path: str) -> str:
            if path not in versions:
                raise LookupError(f"no static file {path!r}")
            return f"{STATIC_PREFIX}/{path}?v={versions[path]}"

        self.formats: dict[str, Formats] = {}
        self.environments: dict[str, Environment] = {}
        for language in LANGUAGES:
            catalogue = translations(language)
            formats = Formats(babel_locale(language), catalogue, ctx.clock, ctx.policy.calendar)
            env = Environment(
                loader=FileSystemLoader(TEMPLATES_DIR),
                autoescape=select_autoescape(default=True, default_for_string=True),
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
            env.globals.update(
                static=static,
                language=language,
                languages=LANGUAGES,
                deadline_in_words=formats.deadline_in_words,
                now=ctx.clock.now,
            )
            env.filters.update(
                date=formats.date,
                datetime=formats.datetime,
                time=formats.time,
                last_day=formats.last_day,
                due=formats.due,
                number=formats.number,
                percent=formats.percent,
            )
            self.formats[language] = formats
            self.environments[language] = env

    def render(self, language: str, template: str, context: dict[str, Any]) -> str:
        return self.environments[language].get_template(template).render(context)
