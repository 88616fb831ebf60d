"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            make_private_database_file(Path(url.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # No pre-ping: it costs a round trip per checkout on every request. A connection the server dropped fails
    # its request once (rolled back, nothing half-written) and the pool is invalidated and refilled.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


_PRIVATE_FILE_MODE = 0o600
_PRIVATE_DIRECTORY_MODE = 0o700
# SQLite's companions of a database in WAL mode; it creates them with the mode of the database file.
SQLITE_COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def make_private_database_file(path: Path) -> None:
    """Create the SQLite file 0600 (missing directories 0700) before SQLite opens it, and tighten an existing one.

    SQLite would create the file 0644 less the umask, readable by every local user, and it gives the -wal and
    -shm files the mode of the database file: a database created 0600 keeps all three private. Modes are set
    with explicit chmods rather than by changing the umask, which is process-wide and not thread-safe.
    """
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=_PRIVATE_DIRECTORY_MODE, exist_ok=True)
        os.chmod(directory, _PRIVATE_DIRECTORY_MODE)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _PRIVATE_FILE_MODE)
    os.close(descriptor)
    # A database made by an older version, or copied in, may be readable by others: tighten it and its companions.
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANION_SUFFIXES)):
        try:
            if stat.S_IMODE(candidate.stat().st_mode) & 0o077:
                os.chmod(candidate, _PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and ignores locks; we issue BEGIN ourselves
    # (see _sqlite_on_begin) so that a use-case's transaction takes the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE serialises writers on SQLite the way SELECT ... FOR UPDATE does on PostgreSQL:
    # two concurrent events on one case cannot both read the old version and both write.
    # Reads (`read_only`) run in autocommit and take no lock at all.
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions in autocommit: no BEGIN/COMMIT round trips and no lock, for reads that change nothing.

    On PostgreSQL this is as consistent as a READ COMMITTED transaction (each statement sees the latest
    committed data either way)."""
    return sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only; anything written through it would be committed at once, so write nothing."""
    session = factory()
    try:
        yield session
    finally:
        session.close()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll everything back on any error."""
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
