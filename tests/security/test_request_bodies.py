"""Issue 10, points 5 and 6: bounded bodies, refused before they are read when the caller may not send them, and
documents encrypted as they stream in, never written to disk in clear.

The attacks: a 200 MiB JSON body without a token grew the server's memory by 330 MiB before the 401; a chunked
45 MiB upload without a token was written to /tmp before the 401; an upload over 1 MiB was spooled in clear to a
file in /tmp before it was encrypted. Bodies here are streamed from generators straight through the ASGI app, as
a server would hand them over, chunked (no Content-Length) unless said otherwise."""

from __future__ import annotations

import asyncio
import json
import tempfile
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.clock import FrozenClock
from app.main import create_app
from app.models import Document
from app.services.context import ServiceContext
from tests.api.case_helpers import Cast, new_case
from tests.api.conftest import Account, World

MiB = 1024 * 1024
PIECE = 64 * 1024
BOUNDARY = "nrm-test-boundary-7f3a"


def _pieces(total: int, fill: bytes = b"x") -> Iterator[bytes]:
    block = fill * PIECE
    for _ in range(total // PIECE):
        yield block


def _multipart(
    file_pieces: Iterator[bytes], content_type: str = "text/plain", kind: str = "evidence"
) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="statement.txt"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    yield from file_pieces
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


class Exchange:
    """One request driven through the ASGI app: what was answered, and how much of the body the app pulled."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.consumed = 0
        self.peak_memory = 0


def _drive(
    app: Any, path: str, body: Iterator[bytes], headers: dict[str, str], *, measure_memory: bool = False
) -> Exchange:
    exchange = Exchange()
    pieces = iter(body)

    async def receive() -> dict[str, Any]:
        piece = next(pieces, None)
        if piece is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        exchange.consumed += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
    }
    if measure_memory:
        tracemalloc.start()
    try:
        asyncio.run(app(scope, receive, send))
        if measure_memory:
            exchange.peak_memory = tracemalloc.get_traced_memory()[1]
    finally:
        if measure_memory:
            tracemalloc.stop()
    return exchange


def _is_problem(exchange: Exchange, status: int) -> None:
    assert exchange.status == status, exchange.body[:300]
    assert exchange.headers["content-type"].startswith("application/problem+json")


def test_a_200_mib_json_body_without_a_token_is_cut_off_at_the_limit(ctx: ServiceContext) -> None:
    assert ctx.settings.max_json_bytes == MiB
    app = create_app(context=ctx)
    body = (piece for piece in _pieces(200 * MiB, b" "))  # whitespace: valid JSON up to the end, if it were read
    exchange = _drive(app, "/api/v1/referrals", body, {"content-type": "application/json"}, measure_memory=True)
    _is_problem(exchange, 413)
    assert exchange.consumed <= MiB + PIECE
    assert exchange.peak_memory < 16 * MiB, f"memory grew by {exchange.peak_memory // MiB} MiB"


def test_a_declared_length_over_the_limit_is_refused_before_anything_is_read(ctx: ServiceContext) -> None:
    app = create_app(context=ctx)
    headers = {"content-type": "application/json", "content-length": str(200 * MiB)}
    exchange = _drive(app, "/api/v1/referrals", _pieces(200 * MiB), headers)
    _is_problem(exchange, 413)
    assert exchange.consumed == 0


def _upload_path(case_id: str) -> str:
    return f"/api/v1/cases/{case_id}/documents"


def _multipart_headers(account: Account | None = None) -> dict[str, str]:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    if account is not None:
        headers.update(account.headers)
    return headers


@pytest.fixture
def no_temporary_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Every way the standard library makes a temporary file, recorded; and a temp dir that must stay empty."""
    made: list[str] = []
    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        real = getattr(tempfile, name)

        def recording(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            made.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(tempfile, name, recording)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    yield made
    assert list(scratch.iterdir()) == []


def test_an_upload_without_a_token_or_without_the_right_is_refused_before_its_body_is_read(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock, no_temporary_files: list[str]
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    app = create_app(context=ctx)
    big = 200 * MiB

    stranger = _drive(app, _upload_path(case_id), _multipart(_pieces(big)), _multipart_headers(), measure_memory=True)
    _is_problem(stranger, 401)
    assert stranger.consumed == 0 and stranger.peak_memory < 16 * MiB
    # A role that may not upload (403), an organisation that may not know the case (404), an unknown case (404).
    for account, path, status in (
        (cast.auditor, _upload_path(case_id), 403),
        (cast.other_referrer, _upload_path(case_id), 404),
        (cast.referrer, _upload_path(str(uuid.uuid4())), 404),
    ):
        refused = _drive(app, path, _multipart(_pieces(big)), _multipart_headers(account))
        _is_problem(refused, status)
        assert refused.consumed == 0
    assert no_temporary_files == []


def test_a_chunked_upload_over_the_document_limit_is_413_and_stops_being_read(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock, no_temporary_files: list[str]
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    ctx.settings = ctx.settings.model_copy(update={"max_document_bytes": 4 * MiB})
    app = create_app(context=ctx)
    exchange = _drive(app, _upload_path(case_id), _multipart(_pieces(200 * MiB)), _multipart_headers(cast.referrer))
    _is_problem(exchange, 413)
    assert exchange.consumed <= 4 * MiB + 2 * PIECE
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
    assert no_temporary_files == []


def _disk_files(ctx: ServiceContext) -> list[Path]:
    url = make_url(ctx.settings.database_url)
    if url.get_backend_name() != "sqlite":
        return []
    database = Path(str(url.database))
    return [p for p in database.parent.iterdir() if p.name.startswith(database.name)]


def test_a_large_document_is_encrypted_as_it_streams_and_never_written_in_clear(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock, no_temporary_files: list[str]
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    marker = b"TESTIMONY-OF-A-FICTIONAL-PERSON "
    document = marker * (3 * MiB // len(marker))  # over the 1 MiB at which a spooled upload went to /tmp
    app = create_app(context=ctx)
    exchange = _drive(app, _upload_path(case_id), _multipart(iter([document])), _multipart_headers(cast.referrer))
    assert exchange.status == 201, exchange.body[:300]
    assert no_temporary_files == []
    for path in _disk_files(ctx):
        assert marker not in path.read_bytes(), f"{path.name} holds the document in clear"
    document_id = json.loads(exchange.body)["id"]
    read = client.get(
        f"/api/v1/cases/{case_id}/documents/{document_id}",
        params={"purpose": "assessment"},
        headers=cast.referrer.headers,
    )
    assert read.status_code == 200 and read.content == document


def test_uploads_keep_their_rules_when_streamed(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    app = create_app(context=ctx)
    path, headers = _upload_path(case_id), _multipart_headers(cast.referrer)
    # The file's part declares a type that is refused: 415 as soon as its headers are read.
    refused = _drive(app, path, _multipart(_pieces(50 * MiB), "application/x-msdownload"), headers)
    _is_problem(refused, 415)
    assert refused.consumed < MiB
    # The written opinion is the referring organisation's: refused for the coordinator from the `kind` field on.
    opinion = _drive(
        app, path, _multipart(_pieces(50 * MiB), kind="panel_opinion"), _multipart_headers(cast.coordinator)
    )
    _is_problem(opinion, 403)
    assert opinion.consumed < MiB
    # Not multipart, no file, no kind, a truncated body: clear problems, nothing stored.
    _is_problem(
        _drive(
            app, path, iter([b'{"kind": "evidence"}']), {**cast.referrer.headers, "content-type": "application/json"}
        ),
        415,
    )
    no_file = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nevidence\r\n--{BOUNDARY}--\r\n'
    _is_problem(_drive(app, path, iter([no_file.encode()]), headers), 422)
    _is_problem(_drive(app, path, _multipart(iter([b"text"]), kind="spaceship"), headers), 422)
    truncated = list(_multipart(iter([b"some text"])))[:-1]
    _is_problem(_drive(app, path, iter(truncated), headers), 422)
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
