"""A realistic demo world: the organisations of a French NRM, one account per role, and a handful of cases at
different stages (`app/services/demo_cases.py`), so the queue, the assessor's and the panel's pages show work.

Never for production: it refuses a database that already holds accounts, and writes the generated
passwords to a 0600 file beside the database so that `make run` can show them again.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from app.db import read_only
from app.models import User
from app.security.permissions import Principal
from app.services import accounts
from app.services.context import ServiceContext
from app.services.demo_cases import seed_cases
from app.services.errors import Conflict

# (organisation, sector)
DEMO_ORGANISATIONS: list[tuple[str, str]] = [
    ("Association Démo Accueil Traite", "ngo"),
    ("Inspection du travail Démo (Paris)", "labour_inspection"),
    ("Unité de police Démo OCRTEH", "police"),
    ("Services sociaux Démo du département", "social_services"),
    ("Aide sociale à l'enfance Démo", "child_protection"),
    ("Secrétariat du MNR Démo", "coordination"),
    ("Corps d'inspection Démo", "coordination"),
    ("Foyer Démo Les Tilleuls", "ngo"),
]

# (username, organisation index, roles)
DEMO_ACCOUNTS: list[tuple[str, int, list[str]]] = [
    ("referrer", 0, ["referrer"]),
    ("assessor", 0, ["assessor"]),
    ("assessor-labour", 1, ["assessor"]),
    ("coordinator", 5, ["coordinator"]),
    ("panel-ngo", 7, ["panel_member"]),
    ("panel-police", 2, ["panel_member"]),
    ("panel-social", 3, ["panel_member"]),
    ("panel-child", 4, ["panel_member"]),
    ("panel-labour", 1, ["panel_member"]),
    ("caseworker", 7, ["caseworker"]),
    ("auditor", 6, ["auditor"]),
    ("admin", 5, ["admin"]),
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    organisation: str
    roles: list[str]


def database_is_empty(ctx: ServiceContext) -> bool:
    with read_only(ctx.read_sessions) as session:
        return (session.scalar(select(func.count()).select_from(User)) or 0) == 0


def seed(ctx: ServiceContext, accounts_file: Path | None) -> list[DemoAccount]:
    if not database_is_empty(ctx):
        raise Conflict("the database already holds accounts; the demo seed runs only on an empty database")
    organisations = [accounts.create_organisation(ctx, name, sector) for name, sector in DEMO_ORGANISATIONS]
    created: list[DemoAccount] = []
    people: dict[str, Principal] = {}
    for username, org_index, roles in DEMO_ACCOUNTS:
        password = "demo-" + secrets.token_urlsafe(9)
        organisation = organisations[org_index]
        user = accounts.create_user(ctx, username, password, organisation.id, roles)
        created.append(DemoAccount(username, password, organisation.name, roles))
        people[username] = Principal.of(user.id, organisation.id, organisation.sector, roles)
    seed_cases(ctx, people)
    if accounts_file is not None:
        write_accounts_file(accounts_file, created)
    return created


def format_accounts(created: list[DemoAccount]) -> str:
    lines = [f"{'username':<16} {'password':<20} {'roles':<14} organisation"]
    lines += [f"{a.username:<16} {a.password:<20} {','.join(a.roles):<14} {a.organisation}" for a in created]
    return "\n".join(lines) + "\n"


def write_accounts_file(path: Path, created: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("Demo accounts (never use in production)\n" + format_accounts(created))
