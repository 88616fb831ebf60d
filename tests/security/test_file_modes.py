"""Issue 10, point 14: the SQLite database, its `-wal` and `-shm` files and the `var/` directory that holds them
are private to the service's user (0600 / 0700), whatever the umask, and an existing database with looser modes
is tightened when the service opens it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import make_engine
from app.migrate import upgrade


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask of a typical login shell, under which files are created readable by every local user."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _write_and_hold(url: str) -> Iterator[None]:
    """Write a row and keep the connection open, so that the -wal and -shm files exist while modes are read."""
    engine = make_engine(url)
    connection = engine.connect()
    connection.execute(text("CREATE TABLE IF NOT EXISTS probe (value INTEGER)"))
    connection.execute(text("INSERT INTO probe VALUES (1)"))
    connection.commit()
    try:
        yield
    finally:
        connection.close()
        engine.dispose()


def test_a_new_database_its_wal_and_shm_files_and_its_directory_are_private(tmp_path: Path, loose_umask: None) -> None:
    var = tmp_path / "var"
    database = var / "nrm.sqlite3"
    url = f"sqlite:///{database}"
    upgrade(url)  # what `nrm migrate` does on a fresh machine
    with _write_and_hold(url):
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        assert _mode(var) == 0o700
        assert {p.name: _mode(p) for p in (database, wal, shm)} == {
            database.name: 0o600,
            wal.name: 0o600,
            shm.name: 0o600,
        }


def test_an_existing_database_readable_by_others_is_tightened_when_opened(tmp_path: Path, loose_umask: None) -> None:
    database = tmp_path / "nrm.sqlite3"
    url = f"sqlite:///{database}"
    upgrade(url)
    for path in tmp_path.glob("nrm.sqlite3*"):
        path.chmod(0o644)
    with _write_and_hold(url):
        files = sorted(tmp_path.glob("nrm.sqlite3*"))
        assert len(files) == 3
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
