"""Reading a multipart/form-data body as it streams off the connection, part by part, into a sink.

Starlette's form parser spools every file part to a temporary file (on disk past 1 MiB) before the route runs;
for a document that means the plaintext on disk and the whole body read before anyone checked who sent it.
Here the route decides first, then pulls the body chunk by chunk through python-multipart's streaming parser:
a file part's bytes go straight to the sink (the document's encryptor), other fields are small and kept in
memory. Nothing is written anywhere; the body's size is bounded by `BodyLimit` while it streams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from app.services.errors import FieldProblem, InvalidInput, UnsupportedMediaType

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 1024
MAX_PARTS = 16


class MultipartSink(Protocol):
    """Receives an upload's parts in order; raise a ServiceError to refuse the rest of the body unread."""

    def field(self, name: str, value: str) -> None: ...
    def file_begin(self, name: str, content_type: str | None) -> None: ...
    def file_data(self, data: bytes) -> None: ...
    def file_end(self) -> None: ...


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(f"the upload is not valid multipart/form-data: {reason}", [FieldProblem((), reason)])


class _Parts:
    """python-multipart's callbacks, turned into the sink's calls."""

    def __init__(self, sink: MultipartSink, file_fields: frozenset[str]) -> None:
        self.sink = sink
        self.file_fields = file_fields
        self.parts = 0
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        self._headers, self._value = {}, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise _malformed("a part has no form-data name")
        self._name = options[b"name"].decode("utf-8", "replace")
        self._is_file = self._name in self.file_fields
        if self._is_file:
            declared = self._headers.get(b"content-type")
            self.sink.file_begin(self._name, declared.decode("latin-1") if declared is not None else None)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.sink.file_data(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise _malformed(f"the field {self._name!r} is over {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if self._is_file:
            self.sink.file_end()
            return
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed(f"the field {self._name!r} is not UTF-8") from None
        self.sink.field(self._name, value)

    def on_end(self) -> None:
        self.ended = True


async def read_multipart(request: Request, sink: MultipartSink, *, file_fields: frozenset[str]) -> None:
    """Parse the request's multipart body as it arrives; parts named in `file_fields` stream to the sink."""
    media_type, options = parse_options_header(request.headers.get("content-type"))
    if media_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType("an upload is sent as multipart/form-data")
    parts = _Parts(sink, file_fields)
    callbacks: MultipartCallbacks = {
        "on_part_begin": parts.on_part_begin,
        "on_part_data": parts.on_part_data,
        "on_part_end": parts.on_part_end,
        "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value,
        "on_header_end": parts.on_header_end,
        "on_headers_finished": parts.on_headers_finished,
        "on_end": parts.on_end,
    }
    try:
        parser = MultipartParser(options[b"boundary"], callbacks)
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise _malformed("the body cannot be parsed") from None
    if not parts.ended:
        raise _malformed("the body ends before its closing boundary")
