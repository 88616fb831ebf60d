"""What every use-case needs, built once at start-up and passed in: settings, clock, sessions, keys, policy."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Settings
from app.db import make_engine, make_read_session_factory, make_session_factory
from app.security.key_checks import changes_under_a_running_service
from app.security.keyfile import KeyFileError, KeyRing, load_key_file
from app.services.keyfile_guard import open_key_ring
from app.workflow import Policy, load_policy

logger = logging.getLogger("app.keys")


def _mtime(path: os.PathLike[str] | str) -> float:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return -1.0


@dataclass
class ServiceContext:
    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    policy: Policy
    _keyring: KeyRing
    _keyring_mtime: float
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Policy versions cases follow, by (name, version), and those already recorded (app/services/case_policy.py):
    # archived versions never change, so a process keeps them.
    governing_policies: dict[tuple[str, int], Policy] = field(default_factory=dict)
    recorded_policies: set[tuple[str, int]] = field(default_factory=set)

    @classmethod
    def build(cls, settings: Settings, clock: Clock) -> ServiceContext:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        sessions = make_session_factory(engine)
        try:
            # Refuses a missing or foreign key file on a database that holds data (KeyFileMismatch).
            keyring = open_key_ring(sessions, settings.key_file, clock.now())
        except BaseException:
            engine.dispose()
            raise
        return cls(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=sessions,
            read_sessions=make_read_session_factory(engine),
            policy=load_policy(settings.policy),
            _keyring=keyring,
            _keyring_mtime=_mtime(settings.key_file),
        )

    @property
    def keyring(self) -> KeyRing:
        """The key file's keys, re-read when the file changes (a rotation by `nrm keys rotate` in another
        process must not leave this one wrapping new case keys under a key about to be retired)."""
        current = _mtime(self.settings.key_file)
        if current != self._keyring_mtime:
            self.reload_keys()
        return self._keyring

    def reload_keys(self) -> None:
        """Adopt the key file's current ring if it only adds or removes KEKs (a rotation, a retirement).

        A file that went missing or now holds other keys (a restore from the wrong backup) is not adopted: the
        ring verified at start keeps serving, and the operator is told in the log."""
        with self._lock:
            mtime = _mtime(self.settings.key_file)
            try:
                reread = load_key_file(self.settings.key_file)
                problems = changes_under_a_running_service(self._keyring, reread)
            except KeyFileError as error:
                reread, problems = self._keyring, [str(error)]
            if problems:
                logger.error(
                    "NRM_KEY_FILE changed under the running service and was not adopted: %s", "; ".join(problems)
                )
            else:
                self._keyring = reread
            self._keyring_mtime = mtime

    def _subkey(self, label: bytes) -> bytes:
        """A subkey derived from the audit key with its own label (HKDF, RFC 5869), so that no key can stand
        in for another and the key file keeps secrets fewer to manage."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(self.keyring.audit_hmac_key)

    @property
    def token_signing_key(self) -> bytes:
        """The key access tokens are signed with."""
        return self._subkey(b"nrm/access-tokens/v1")

    @property
    def web_form_key(self) -> bytes:
        """The key web forms' anti-forgery tokens are derived with (`app/security/web_sessions.py`)."""
        return self._subkey(b"nrm/web-forms/v1")

    @property
    def idempotency_mac_key(self) -> bytes:
        """The key of the MAC an idempotency record keeps of its referral (`cases/referral.py`)."""
        return self._subkey(b"nrm/idempotency/v1")

    def close(self) -> None:
        self.engine.dispose()
