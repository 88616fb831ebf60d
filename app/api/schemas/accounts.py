"""Request bodies of the access and administration endpoints (responses are the services' views)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.workflow import Role, Sector

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^\S+$")]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int = Field(description="seconds until the token expires")


class OrganisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    sector: Sector


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    password: str = Field(min_length=1, max_length=256)
    organisation_id: uuid.UUID
    roles: list[Role] = Field(min_length=1)
    email: Email | None = Field(default=None, description="where deadline alerts go (optional)")
    language: Literal["fr", "en"] = Field(default="fr", description="the language of the alerts")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email | None = Field(description="where deadline alerts go; null: alerts on the web only")
    language: Literal["fr", "en"] = "fr"


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Role] = Field(min_length=1, description="the account's roles after the change (replaces them all)")


class Health(BaseModel):
    status: Literal["ok"]
