"""HTTP load runs with wrk: servers as subprocesses, Lua scripts for bodies and tokens, JSON figures back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Printed by wrk at the end of a run: requests, errors and latency percentiles in microseconds.
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,'
    .. '"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""

# Spreads a list of ids across wrk's threads: thread t takes every id of its own half, round after round.
IDS = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
local counter = 0
local threads = 0
setup = function(thread)
  thread:set("tindex", threads)
  threads = threads + 1
end
next_id = function()
  local half = math.floor(#ids / %(threads)d)
  local i = counter %% half
  local round = math.floor(counter / half)
  counter = counter + 1
  return ids[(tindex or 0) * half + i + 1], round
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    return path


def lua_script(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.lua"
    path.write_text(body + DONE, encoding="utf-8")
    return path


def headers_lua(token: str | None) -> str:
    lines = ['local headers = {["Content-Type"] = "application/json"}']
    if token:
        lines.append(f'headers["Authorization"] = "Bearer {token}"')
    return "\n".join(lines) + "\n"


def run_wrk(
    base_url: str, script: Path, *, seconds: int, connections: int = 10, threads: int = 2, path: str = "/"
) -> WrkResult:
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        base_url + path,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
    )


class Server:
    """A server subprocess; `peak_rss_mib` reads the kernel's high-water mark of its resident memory."""

    def __init__(self, command: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(command, env={**os.environ, **env}, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}; see {log}")
            try:
                with urllib.request.urlopen(self.base_url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"server did not answer on {self.base_url}; see {log}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def nrm_server(port: int, env: dict[str, str], log: Path, workers: int = 1) -> Server:
    nrm = str(Path(sys.executable).with_name("nrm"))
    command = [nrm, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return Server(command, env, port, log)


def baseline_server(port: int, dsn: str, log: Path) -> Server:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--workers",
        "1",
    ]
    return Server(command, {"BENCH_PG_DSN": dsn}, port, log)


def http_json(method: str, url: str, *, token: str | None = None, body: Any = None, form: bool = False) -> Any:
    data = None
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        if form:
            from urllib.parse import urlencode

            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def log_in(base_url: str, username: str, password: str) -> str:
    answer = http_json(
        "POST", base_url + "/api/v1/auth/token", body={"username": username, "password": password}, form=True
    )
    return str(answer["access_token"])


def timed_get(url: str, token: str, repeat: int) -> list[float]:
    """Sequential requests, one client: latency of a single request in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        http_json("GET", url, token=token)
        times.append((time.perf_counter() - started) * 1000)
    return times


def web_sign_in(base_url: str, username: str, password: str) -> str:
    """Sign in through the web form as a browser would (visitor cookie, form token, same origin); returns the
    `Cookie` header value that carries the web session."""
    import http.cookiejar
    import re
    from urllib.parse import urlencode

    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(base_url + "/", timeout=60) as response:
        page = response.read().decode()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found is None:
        raise SystemExit("the sign-in page has no form token")
    body = urlencode({"csrf_token": found.group(1), "username": username, "password": password}).encode()
    request = urllib.request.Request(
        base_url + "/sign-in",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": base_url},
        method="POST",
    )
    try:
        opener.open(request, timeout=60)
    except urllib.error.HTTPError as answer:  # the 303 to the home page, not followed
        if answer.code != 303:
            raise
    cookies = {cookie.name: cookie.value for cookie in jar}
    if not any("session" in name for name in cookies):
        raise SystemExit("signing in through the web form gave no session cookie")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def cookie_lua(cookie: str) -> str:
    return f'wrk.headers["Cookie"] = "{cookie}"\n'


def timed_page(url: str, cookie: str, repeat: int) -> list[float]:
    """Sequential GETs of a web page with a session cookie: latency of a single request in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            if response.status != 200:
                raise SystemExit(f"{url} answered {response.status}")
        times.append((time.perf_counter() - started) * 1000)
    return times


def run_wrk_together(runs: list[tuple[str, Path, str]], *, seconds: int, connections: int) -> list[WrkResult]:
    """Several wrk runs at once (one per server), `connections` each: the load on a group of app replicas."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [
            pool.submit(run_wrk, base, script, seconds=seconds, connections=connections, threads=1, path=path)
            for base, script, path in runs
        ]
        return [f.result() for f in futures]


def page_exists(url: str, cookie: str) -> bool:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False


def combined(results: list[WrkResult]) -> WrkResult:
    """Runs made at the same time, as one: requests added over the longest duration; latencies are the worst
    run's (wrk gives percentiles per run, not the merged distribution)."""
    seconds = max(r.seconds for r in results)
    return WrkResult(
        requests=sum(r.requests for r in results),
        seconds=seconds,
        non2xx=sum(r.non2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p95_ms=max(r.p95_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
    )
