"""What every use-case needs, built once at start-up and passed in: settings, clock, sessions, keys, policy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Settings
from app.db import make_engine, make_session_factory
from app.security.keyfile import KeyRing, ensure_key_file
from app.workflow import Policy, load_policy


@dataclass
class ServiceContext:
    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: KeyRing
    policy: Policy

    @classmethod
    def build(cls, settings: Settings, clock: Clock) -> ServiceContext:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        return cls(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=make_session_factory(engine),
            keyring=ensure_key_file(settings.key_file),
            policy=load_policy(settings.policy),
        )

    def close(self) -> None:
        self.engine.dispose()
