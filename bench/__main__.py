"""`python -m bench`: generate data, run the baselines and the service under wrk, run the micro-benchmarks,
write docs/benchmarks.md. Creates its own PostgreSQL database and drops it at the end.

    .venv/bin/python -m bench [--cases 100000] [--seconds 15] [--postgres-url URL] [--output docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.clock import SystemClock
from app.config import load_settings
from app.migrate import upgrade
from app.services.context import ServiceContext
from bench import generate, micro, worker
from bench.load import (
    IDS,
    WrkResult,
    baseline_server,
    combined,
    cookie_lua,
    headers_lua,
    log_in,
    lua_script,
    nrm_server,
    page_exists,
    require_wrk,
    run_wrk,
    run_wrk_together,
    timed_get,
    timed_page,
    web_sign_in,
)
from bench.report import Row, write_report

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_engine(url: str) -> Any:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _machine(database_url: str) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    engine = create_engine(database_url)
    with engine.connect() as conn:
        version = str(conn.scalar(text("SHOW server_version")))
    engine.dispose()
    return {
        "load": Path("/proc/loadavg").read_text().split()[1],  # the 5-minute load average as the run starts
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "postgresql": version,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _ids(database_url: str, directory: Path) -> tuple[Path, Path]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        read = [str(r[0]) for r in conn.execute(text("SELECT id FROM cases ORDER BY random() LIMIT 5000"))]
        # Cases with an assessor and no decision yet: the coordinator may reassign them, round after round.
        events = [
            str(r[0])
            for r in conn.execute(text("SELECT id FROM cases WHERE state = 'preliminary_assessment' ORDER BY id"))
        ]
    engine.dispose()
    read_file, event_file = directory / "read_ids.txt", directory / "event_ids.txt"
    read_file.write_text("\n".join(read) + "\n")
    event_file.write_text("\n".join(events) + "\n")
    return read_file, event_file


def _wrk_row(name: str, result: WrkResult, baseline: WrkResult | None, note: str = "") -> Row:
    return Row(
        name=name,
        median=result.p50_ms,
        p95=result.p95_ms,
        p99=result.p99_ms,
        unit="ms",
        throughput=f"{result.rate:,.0f} req/s",
        ratio=(result.rate / baseline.rate) if baseline else None,
        p95_ratio=(result.p95_ms / baseline.p95_ms) if baseline else None,
        note=note
        + ("; no request was answered within the run (the figures are not latencies)" if not result.requests else "")
        + (f"; {result.non2xx} non-2xx" if result.non2xx else "")
        + (f"; {result.socket_errors} socket errors" if result.socket_errors else ""),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks of the NRM service; writes docs/benchmarks.md.")
    parser.add_argument("--cases", type=int, default=100_000, help="cases to generate (1000000 for the full scale)")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--postgres-url", default=os.environ.get("NRM_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--keep-database", action="store_true", help="do not drop the generated database")
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where the key file and the generation's figures (generated.json) are kept (default: a new temp dir)",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="generate the data into --work-dir, keep the database, stop"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report again from the figures an earlier run kept in --work-dir (results.pickle), "
        "measuring nothing: for a revised text of the findings",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a --generate-only run left in --work-dir (migrated to head first) "
        "instead of generating one; the report gives that generation's figures",
    )
    args = parser.parse_args(argv)
    if (args.reuse or args.generate_only or args.report_only) and args.work_dir is None:
        parser.error("--reuse, --generate-only and --report-only need --work-dir")
    if args.report_only:
        write_report(args.output, **pickle.loads((args.work_dir / "results.pickle").read_bytes()))
        print(f"bench: wrote {args.output} from the figures in {args.work_dir}", flush=True)
        return
    require_wrk()
    arguments = sys.argv[1:] if argv is None else argv
    command = (
        ("make bench" if not arguments else f"BENCH_ARGS={shlex.quote(shlex.join(arguments))} make bench")
        if argv is None and os.environ.get("MAKELEVEL")
        else shlex.join(["python", "-m", "bench", *arguments])
    )

    started = datetime.now(UTC)
    admin_url = make_url(args.postgres_url)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="nrm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    key_file = work / "keys" / "nrm.keys"
    figures_file = work / "generated.json"
    if args.reuse:
        gen = json.loads(figures_file.read_text())
        name = gen["database"]
    else:
        name = f"nrm_bench_{os.getpid()}"
    database_url = admin_url.set(database=name).render_as_string(hide_password=False)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = _admin_engine(args.postgres_url)
    keep = args.keep_database or args.reuse or args.generate_only
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    servers: list[Any] = []
    try:
        if args.reuse:
            print(f"bench: reusing database {name} ({gen['cases']:,} cases, generated {gen['generated_at']})")
            upgrade(database_url)  # indexes and tables added since the data were generated
        else:
            print(f"bench: database {name}, {args.cases:,} cases", flush=True)
            gen = generate.generate(database_url, key_file, args.cases)
            gen = {
                **gen,
                "now": gen["now"].isoformat(),
                "database": name,
                "generated_at": f"{started:%Y-%m-%d %H:%M} UTC",
            }
            figures_file.write_text(json.dumps(gen, indent=1))
            figures_file.chmod(0o600)  # the demo accounts' passwords
            print(f"bench: generated {gen['rows']:,} rows at {gen['rows_per_second']:,.0f} rows/s", flush=True)
            if args.generate_only:
                print(f"bench: kept database {name}; measure it with --reuse --work-dir {work}", flush=True)
                return
        read_ids, event_ids = _ids(database_url, work)
        machine = _machine(database_url)

        print("bench: micro-benchmarks", flush=True)
        ctx = ServiceContext.build(load_settings(database_url=database_url, key_file=key_file), SystemClock())
        try:
            micros = [
                micro.workflow_decision(),
                *micro.identity_crypto(),
                micro.deadline_computation(),
                micro.audit_verification_memory(),
                *micro.audit_verification_database(ctx),
            ]
        finally:
            ctx.close()

        seconds = args.seconds
        health = lua_script(work, "health", "")
        rows: list[Row] = []

        print("bench: baseline app", flush=True)
        base = baseline_server(8101, dsn, work / "baseline.log")
        servers.append(base)
        wrk_health = run_wrk(base.base_url, health, seconds=seconds, path="/health")
        insert = lua_script(work, "insert", headers_lua(None) + 'wrk.method = "POST"\nwrk.headers = headers\n')
        base_insert = run_wrk(base.base_url, insert, seconds=seconds, path="/insert")
        select_script = lua_script(
            work,
            "select",
            IDS % {"ids": read_ids, "threads": 2}
            + "request = function()\n  local id = next_id()\n  return wrk.format('GET', '/cases/' .. id)\nend\n",
        )
        base_select = run_wrk(base.base_url, select_script, seconds=seconds, path="/")
        base_rss = base.peak_rss_mib()
        base.stop()
        servers.remove(base)
        rows += [
            _wrk_row("wrk against the bare app's /health (load generator's own ceiling)", wrk_health, None),
            _wrk_row("baseline: bare INSERT of a case-sized row", base_insert, None),
            _wrk_row("baseline: bare primary-key SELECT of a case row", base_select, None),
        ]

        print("bench: the service", flush=True)
        env = {
            "NRM_DATABASE_URL": database_url,
            "NRM_KEY_FILE": str(key_file),
            "NRM_TOKEN_TTL_MINUTES": "1440",
            "NRM_POLICY": "fr",
        }
        service = nrm_server(8102, env, work / "service.log")
        servers.append(service)
        accounts = gen["accounts"]
        tokens = {u: log_in(service.base_url, u, accounts[u]) for u in ("referrer", "coordinator", "auditor")}
        assessors = [generate_user_id(database_url, u) for u in ("assessor", "assessor-labour")]
        svc_health = run_wrk(service.base_url, health, seconds=seconds, path="/health")
        body = generate.referral_json()
        referral = lua_script(
            work,
            "referral",
            headers_lua(tokens["referrer"]) + f'wrk.method = "POST"\nwrk.headers = headers\nwrk.body = [[{body}]]\n',
        )
        svc_referral = run_wrk(service.base_url, referral, seconds=seconds, path="/api/v1/referrals")
        event = lua_script(
            work,
            "event",
            headers_lua(tokens["coordinator"])
            + IDS % {"ids": event_ids, "threads": 2}
            + "request = function()\n"
            + "  local id, round = next_id()\n"
            + f'  local who = (round % 2 == 0) and "{assessors[1]}" or "{assessors[0]}"\n'
            + '  local body = \'{"event":"assign_assessor","assessor_id":"\' .. who .. \'"}\'\n'
            + "  return wrk.format('POST', '/api/v1/cases/' .. id .. '/events', headers, body)\nend\n",
        )
        svc_event = run_wrk(service.base_url, event, seconds=seconds, path="/")
        read = lua_script(
            work,
            "read",
            headers_lua(tokens["coordinator"])
            + IDS % {"ids": read_ids, "threads": 2}
            + "request = function()\n  local id = next_id()\n"
            + "  return wrk.format('GET', '/api/v1/cases/' .. id, headers)\nend\n",
        )
        svc_read = run_wrk(service.base_url, read, seconds=seconds, path="/")
        get_coordinator = lua_script(
            work, "coordinator", headers_lua(tokens["coordinator"]) + "wrk.headers = headers\n"
        )
        svc_overdue = run_wrk(service.base_url, get_coordinator, seconds=seconds, path="/api/v1/cases?overdue=true")
        get_auditor = lua_script(work, "auditor", headers_lua(tokens["auditor"]) + "wrk.headers = headers\n")
        svc_compliance = run_wrk(service.base_url, get_auditor, seconds=seconds, path="/api/v1/audit/compliance")
        single_compliance = timed_get(service.base_url + "/api/v1/audit/compliance", tokens["auditor"], 3)
        single_overdue = timed_get(service.base_url + "/api/v1/cases?overdue=true", tokens["coordinator"], 20)
        # The coordinator's web queue: /queue where the web application has it, else their /my-work page.
        cookie = web_sign_in(service.base_url, "coordinator", accounts["coordinator"])
        queue_path = "/queue" if page_exists(service.base_url + "/queue", cookie) else "/my-work"
        page_script = lua_script(work, "page", cookie_lua(cookie))
        svc_queue = run_wrk(service.base_url, page_script, seconds=seconds, path=queue_path)
        single_queue = timed_page(service.base_url + queue_path, cookie, 20)
        svc_rss = service.peak_rss_mib()
        service.stop()
        servers.remove(service)

        print("bench: two service processes on one database", flush=True)
        pair = [nrm_server(8103 + i, env, work / f"service{i}.log") for i in range(2)]
        servers += pair
        pair_scripts = [
            lua_script(
                work,
                f"referral{i}",
                headers_lua(log_in(server.base_url, "referrer", accounts["referrer"]))
                + f'wrk.method = "POST"\nwrk.headers = headers\nwrk.body = [[{body}]]\n',
            )
            for i, server in enumerate(pair)
        ]
        pair_referral = run_wrk_together(
            [(server.base_url, script, "/api/v1/referrals") for server, script in zip(pair, pair_scripts, strict=True)],
            seconds=seconds,
            connections=5,
        )
        for server in pair:
            server.stop()
            servers.remove(server)
        two_processes = combined(pair_referral)

        print("bench: worker passes", flush=True)
        ctx = ServiceContext.build(load_settings(database_url=database_url, key_file=key_file), SystemClock())
        try:
            passes = worker.passes(ctx)
        finally:
            ctx.close()
        rows += [
            _wrk_row("service /health (same wrk, the service's own floor)", svc_health, wrk_health),
            _wrk_row("create a referral", svc_referral, base_insert, "ratio to the bare INSERT"),
            _wrk_row("send an event (reassign the assessor)", svc_event, base_insert, "ratio to the bare INSERT"),
            _wrk_row("read a case", svc_read, base_select, "ratio to the bare PK SELECT"),
            _wrk_row("list overdue cases, first page (50)", svc_overdue, base_select, "ratio to the bare PK SELECT"),
            _wrk_row("compliance report (by kind)", svc_compliance, base_select, "ratio to the bare PK SELECT"),
            _wrk_row(
                f"coordinator's web queue page ({queue_path})", svc_queue, base_select, "ratio to the bare PK SELECT"
            ),
            _wrk_row(
                "create a referral, two service processes (5 clients each)",
                two_processes,
                svc_referral,
                "ratio to one process",
            ),
        ]
        figures = dict(
            command=command,
            started=started,
            finished=datetime.now(UTC),
            machine=machine,
            gen=gen,
            rows=rows,
            micros=micros,
            single={"compliance": single_compliance, "overdue": single_overdue, "queue": single_queue},
            queue_path=queue_path,
            passes=passes,
            rss={"service": svc_rss, "baseline": base_rss},
            wrk={
                "health": wrk_health,
                "insert": base_insert,
                "select": base_select,
                "referral": svc_referral,
                "read": svc_read,
                "two_processes": two_processes,
            },
            seconds=seconds,
        )
        # The run's figures, kept so that the report's text can be revised and written again from the same run
        # (`--report-only`) without measuring again.
        results_file = work / "results.pickle"
        results_file.write_bytes(pickle.dumps(figures))
        results_file.chmod(0o600)
        write_report(args.output, **figures)
        print(f"bench: wrote {args.output}", flush=True)
    finally:
        for server in servers:
            server.stop()
        if not keep:
            time.sleep(0.5)
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def generate_user_id(database_url: str, username: str) -> str:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": username})
    engine.dispose()
    return str(value)


if __name__ == "__main__":
    main()
