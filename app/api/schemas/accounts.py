"""Request and response bodies of the access and administration endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.security.permissions import ROLES
from app.workflow import Role, Sector

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^\S+$")]

assert {r.value for r in Role} == set(ROLES), "roles of the workflow and of the permission table differ"


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int = Field(description="seconds until the token expires")


class OrganisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    sector: Sector


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    sector: Sector
    is_active: bool = True


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    password: str = Field(min_length=1, max_length=256)
    organisation_id: uuid.UUID
    roles: list[Role] = Field(min_length=1)


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Role] = Field(min_length=1, description="the account's roles after the change (replaces them all)")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    username: str
    organisation_id: uuid.UUID
    roles: list[Role]
    is_active: bool


class GrantOut(BaseModel):
    """A role that reads personal data, held by an account (for auditors)."""

    model_config = ConfigDict(from_attributes=True)
    user_id: uuid.UUID
    username: str
    organisation_id: uuid.UUID
    role: Role
    granted_at: datetime
    granted_by: uuid.UUID | None = Field(description="the admin who granted it; null: the command line")
    account_active: bool
    organisation_active: bool


class Health(BaseModel):
    status: Literal["ok"]
