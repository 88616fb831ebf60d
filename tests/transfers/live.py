"""Two instances of the service on loopback, as two national coordinators run them: each a uvicorn server in
a thread on its own port, with its own SQLite database and key file, registered with each other, behind a relay
that keeps every byte peers send it (what a network observer would see). Used by
tests/transfers/test_two_instances.py (the worker over HTTP) and tests/e2e/test_transfer_journey.py (the
coordinators' pages in a browser).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app.clock import FrozenClock
from app.main import create_app
from app.services import accounts
from tests.conftest import START
from tests.factories import PASSWORD
from tests.transfers.helpers import Instance, make_instance, pair


class Relay:
    """A TCP relay on a free loopback port in front of `upstream_port`: it keeps every byte clients send. When
    nothing listens upstream it drops the connection, as a peer that is down would."""

    def __init__(self) -> None:
        self.upstream_port = 0  # set once the instance behind it has its server
        self.captured = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            client.close()
            return
        # The timeout above is for connecting only. Left on the socket, it would also bound every wait for the
        # server's answer: an instance slower than 5 s to answer (a loaded machine) had its connection cut by
        # the relay, and the worker saw the peer "unreachable" although it was up (the flaky failure this
        # fixes). The HTTP clients on either side keep their own timeouts.
        upstream.settimeout(None)
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, target: socket.socket, keep: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if keep:
                    with self._lock:
                        self.captured += chunk
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


class Server:
    """An instance's app served by uvicorn in a thread, on a socket bound before it starts (so its port is
    known, and refuses connections, while the server is down)."""

    def __init__(self, instance: Instance) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(create_app(context=instance.ctx), lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.socket.close()


@dataclass
class Side:
    instance: Instance
    server: Server
    relay: Relay
    http: httpx.Client
    token: str

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def inbox(self, data: bytes) -> httpx.Response:
        return self.http.post(
            "/api/v1/transfers/inbox", content=data, headers={"content-type": "application/octet-stream"}
        )


@contextlib.contextmanager
def two_live_instances(
    sqlite_template: Path, tmp_path: Path, max_transfer_bytes: int = 64 * 1024
) -> Iterator[tuple[Side, Side]]:
    """Instance `a` (France) and `b` (Belgium) on one clock, each behind its relay (its public URL), registered
    with each other. Neither server is started: `side.server.start()` (a peer down until then)."""
    clock = FrozenClock(START)
    made: list[Side] = []
    try:
        for label, policy, country in (("a", "fr", "FR"), ("b", "be", "BE")):
            database = tmp_path / f"{label}.sqlite3"
            shutil.copyfile(sqlite_template, database)
            relay = Relay()  # the instance's public URL: peers deliver through it
            instance = make_instance(
                label,
                f"sqlite:///{database}",
                tmp_path,
                clock,
                policy=policy,
                country=country,
                url=f"http://127.0.0.1:{relay.port}",
                max_transfer_bytes=max_transfer_bytes,
            )
            server = Server(instance)
            relay.upstream_port = server.port
            token = accounts.log_in(instance.ctx, f"coordinator-{label}", PASSWORD, "127.0.0.1").access_token
            http = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
            made.append(Side(instance, server, relay, http, token))
        a, b = made
        pair(a.instance, b.instance)
        yield a, b
    finally:
        for side in made:
            side.http.close()
            side.relay.close()
            if side.server.thread is not None:
                side.server.stop()
            side.instance.ctx.close()
