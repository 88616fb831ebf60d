"""Settings from the environment, loaded once and passed to whoever needs them.

A missing or malformed setting stops start-up with a message that names the variable (`SettingsError`).
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.security.instance_identity import normalise_base_url, normalise_country, normalise_name

DEFAULT_VAR_DIR = Path("var")


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NRM_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'nrm.sqlite3'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    key_file: Path = Field(default=DEFAULT_VAR_DIR / "nrm.keys", description="key file, created 0600 on first use")
    policy: str = Field(default="fr", description="jurisdiction policy name or path to a policy file")
    token_ttl_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # Login throttle (app/security/login_throttle.py): strict per (account, address), growing delays per account
    # (never a lock), and a limit per address across accounts; counters reset after a quiet window.
    login_max_failures_per_account_and_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    login_max_delay_seconds: int = Field(default=300, ge=1, le=24 * 3600)
    # Peers whose X-Forwarded-For is believed: a comma-separated list of addresses or CIDR networks; none by default.
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    log_level: str = Field(default="INFO")
    db_pool_size: int = Field(default=10, ge=1)
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    # Every other request body (JSON, forms): bounded while it streams, before anything parses it.
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # The largest transfer message the inbox reads (and the largest package this instance seals): a case with a
    # few documents, base64-encoded inside the sealed JSON.
    max_transfer_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)
    # This instance as peers see it (cross-border transfers, `nrm instance show`); unset until it has peers.
    instance_name: str | None = Field(default=None, description="display name in this instance's identity line")
    instance_country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code, e.g. FR")
    public_url: str | None = Field(
        default=None,
        description="base URL by which peers and people reach this instance: https://host[/path] "
        "(http only for a loopback host)",
    )
    secure_cookies: bool | None = Field(
        default=None, description="mark web cookies Secure; default: on when NRM_PUBLIC_URL is https"
    )
    smtp_url: str | None = Field(
        default=None,
        description="where deadline alerts are mailed: smtp://[user:password@]host[:port] (STARTTLS when offered) "
        "or smtps://...; unset: alerts show in the web application only",
    )
    mail_from: str = Field(default="nrm@localhost", description="the From address of deadline alerts")
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _account_limit_above_pair_limit(self) -> Self:
        # Otherwise one address, stopped by its own limit, could still push the account into delays for everyone.
        if self.login_max_failures_per_account <= self.login_max_failures_per_account_and_address:
            raise ValueError(
                "NRM_LOGIN_MAX_FAILURES_PER_ACCOUNT must be larger than NRM_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("instance_name", "instance_country", "public_url", "smtp_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("instance_name")
    @classmethod
    def _instance_name(cls, value: str | None) -> str | None:
        return None if value is None else normalise_name(value)

    @field_validator("instance_country")
    @classmethod
    def _instance_country(cls, value: str | None) -> str | None:
        return None if value is None else normalise_country(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else normalise_base_url(value)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme not in ("smtp", "smtps") or not urlsplit(value).hostname):
            raise ValueError("NRM_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_origin(self) -> str | None:
        """`scheme://host[:port]` of NRM_PUBLIC_URL, the origin browsers name in `Origin` headers."""
        if self.public_url is None:
            return None
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def cookies_secure(self) -> bool:
        """Whether web cookies carry `Secure`: as NRM_SECURE_COOKIES says, else when the public URL is https."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.public_url is not None and self.public_url.startswith("https://")


def load_settings(**overrides: object) -> Settings:
    """Read the settings; turn pydantic's error into one that names the variable and hides the value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            if item["loc"]:
                problems.append(f"NRM_{str(item['loc'][0]).upper()}: {item['msg']}")
            else:  # a rule across settings: its message names them
                problems.append(str(item["msg"]))
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
