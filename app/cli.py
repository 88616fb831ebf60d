"""The `nrm` command line. It calls the same service functions as the API."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from app.clock import SystemClock
from app.config import SettingsError, get_settings
from app.security.keyfile import KeyFileError
from app.services.context import ServiceContext
from app.services.errors import ServiceError
from app.services.keyfile_guard import DatabaseNotMigrated
from app.workflow.policy import Policy

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="National referral mechanism service.")
admin_cli = typer.Typer(no_args_is_help=True, help="Operator accounts.")
demo_cli = typer.Typer(no_args_is_help=True, help="Demo data (never in production).")
policy_cli = typer.Typer(no_args_is_help=True, help="Jurisdiction policies.")
cli.add_typer(admin_cli, name="admin")
cli.add_typer(demo_cli, name="demo")
keys_cli = typer.Typer(no_args_is_help=True, help="Key-encryption keys and case keys.")
audit_cli = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
cli.add_typer(policy_cli, name="policy")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(audit_cli, name="audit")
stats_cli = typer.Typer(no_args_is_help=True, help="Anonymous statistics.")
cli.add_typer(stats_cli, name="stats")
guidance_cli = typer.Typer(no_args_is_help=True, help="First-steps guidance, routing tables and indicators.")
cli.add_typer(guidance_cli, name="guidance")
instance_cli = typer.Typer(no_args_is_help=True, help="This instance's identity for cross-border transfers.")
cli.add_typer(instance_cli, name="instance")
peers_cli = typer.Typer(no_args_is_help=True, help="Peer instances this one exchanges cases with.")
cli.add_typer(peers_cli, name="peers")

OPERATOR_ORGANISATION = "Opérateur du MNR"


def _context() -> ServiceContext:
    """The service context; a missing or foreign key file (or an unsafe one) stops the command with its reason."""
    try:
        return ServiceContext.build(get_settings(), SystemClock())
    except (KeyFileError, DatabaseNotMigrated) as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


@cli.command()
def migrate() -> None:
    """Bring the database to the latest schema."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the latest schema")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API and the web UI."""
    import uvicorn

    # Fail fast, naming the variable, before uvicorn starts: bad settings, or a key file that is missing or is not
    # the one the database was written with.
    _context().close()
    # proxy_headers=False: uvicorn would otherwise take the client address from X-Forwarded-For sent by any local
    # peer; the service reads that header itself, from NRM_TRUSTED_PROXIES only (app/security/client_address.py).
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=False,
    )


@admin_cli.command("create")
def admin_create(
    username: str,
    organisation: Annotated[str, typer.Option(help="the operator's organisation")] = OPERATOR_ORGANISATION,
) -> None:
    """Create an admin account (password from NRM_ADMIN_PASSWORD, else prompted)."""
    from app.services import accounts

    password = os.environ.get("NRM_ADMIN_PASSWORD") or getpass.getpass("password for the new admin: ")
    ctx = _context()
    try:
        existing = {o.name: o for o in accounts.list_organisations(ctx)}
        org = existing.get(organisation) or accounts.create_organisation(ctx, organisation, "coordination")
        user = accounts.create_user(ctx, username, password, org.id, ["admin"])
    except ServiceError as error:
        _fail(_describe(error))
    finally:
        ctx.close()
    typer.echo(f"admin {user.username} created")


@demo_cli.command("seed")
def demo_seed(
    accounts_file: Annotated[Path | None, typer.Option(help="also write the accounts to this 0600 file")] = None,
) -> None:
    """Create the demo organisations and one account per role, and print them."""
    from app.services import demo

    ctx = _context()
    try:
        created = demo.seed(ctx, accounts_file)
    except ServiceError as error:
        _fail(_describe(error))
    finally:
        ctx.close()
    typer.echo(demo.format_accounts(created))


@demo_cli.command("is-empty", hidden=True)
def demo_is_empty() -> None:
    """Exit 0 when the database holds no account (used by `make run`)."""
    from app.services import demo

    ctx = _context()
    try:
        empty = demo.database_is_empty(ctx)
    finally:
        ctx.close()
    raise typer.Exit(code=0 if empty else 1)


@policy_cli.command("show")
def policy_show(name: Annotated[str | None, typer.Argument(help="policy name or file")] = None) -> None:
    """Print a jurisdiction policy (the one in force by default)."""
    from app.workflow.policy import PolicyError, load_policy, render_policy

    try:
        typer.echo(render_policy(load_policy(name or get_settings().policy)))
    except PolicyError as error:
        _fail(str(error))


@policy_cli.command("validate")
def policy_validate(path: Path) -> None:
    """Check a policy file; name the key and the problem if it is invalid."""
    from app.workflow.policy import PolicyError, released_policy, reused_version, validate_policy_file

    try:
        policy = validate_policy_file(path)
    except PolicyError as error:
        _fail(str(error))
    shipped = released_policy(policy.name, policy.version)
    problem = reused_version(policy, None if shipped is None else shipped.digest)
    if problem is None:
        problem = _recorded_version_problem(policy)
    if problem is not None:
        _fail(f"{path}: {problem}")
    typer.echo(f"{path}: valid policy {policy.name!r} version {policy.version}")


def _recorded_version_problem(policy: Policy) -> str | None:
    """The versions cases were referred under, in the configured database (when there is one)."""
    from app.services.case_policy import recorded_version_problem

    try:
        return recorded_version_problem(get_settings().database_url, policy)
    except (SettingsError, ServiceError) as error:
        typer.echo(f"note: not checked against the database ({type(error).__name__})", err=True)
        return None


@guidance_cli.command("validate")
def guidance_validate(path: Path) -> None:
    """Check a guidance file (<folder>/<language>.toml), a routing table (routing.toml) or the indicator
    catalogue (indicators.toml); name the key and the problem if it is invalid."""
    from app.workflow.datafiles import ContentError
    from app.workflow.first_steps import validate_guidance_file
    from app.workflow.indicators import indicators_of, validate_catalogue_file
    from app.workflow.routing import validate_routing_file

    try:
        if path.name == "routing.toml":
            table = validate_routing_file(path, path.parent.name)
            summary = f"routing table of {table.policy!r}, version {table.version}, {len(table.contacts)} contacts"
        elif path.name == "indicators.toml":
            summary = f"indicator catalogue, {len(indicators_of(validate_catalogue_file(path)))} indicators"
        else:
            content = validate_guidance_file(path, path.parent.name, path.stem)
            summary = f"guidance of {content.policy!r} in {content.language.value}, version {content.version}"
    except (ContentError, ValueError) as error:
        _fail(str(error))
    typer.echo(f"{path}: valid {summary}")


@guidance_cli.command("contacts")
def guidance_contacts(
    policy: Annotated[str, typer.Argument(help="policy name (fr, uk, uk-2019, coe, be)")],
    region: Annotated[str | None, typer.Option(help="ISO 3166-2 region, e.g. FR-75 or GB-SCT")] = None,
    child: Annotated[
        bool, typer.Option("--child/--adult", help="a child (the default: presumption of minority)")
    ] = True,
    form: Annotated[list[str] | None, typer.Option(help="a form of exploitation (repeatable)")] = None,
    language: Annotated[str, typer.Option(help="fr or en")] = "fr",
) -> None:
    """Print whom to contact, as the routing table of a policy answers."""
    from app.workflow.datafiles import ContentError
    from app.workflow.routing import contacts_for

    try:
        contacts = contacts_for(policy, region, child, form or [], language)
    except (ContentError, ValueError) as error:
        _fail(str(error))
    for contact in contacts:
        typer.echo(f"{contact.kind.value:<18}{contact.phone or '-':<16}{contact.name}")


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="make one pass and exit")] = False,
    interval: Annotated[int, typer.Option(help="seconds between passes")] = 300,
) -> None:
    """Run the scheduled jobs: close lapsed windows, erase personal data when due, deliver transfer packages
    and receipts to peers (retrying with backoff while a peer is unreachable), and raise deadline alerts,
    mailed through NRM_SMTP_URL when it is set."""
    import time

    from app.services import scheduler
    from app.services.mail import mailer_from
    from app.web.alert_mail import MailSender

    ctx = _context()
    mailer = mailer_from(ctx.settings)
    sender = MailSender(ctx, mailer) if mailer else None
    if sender is None:
        typer.echo("NRM_SMTP_URL is not set: deadline alerts are shown in the web application only")
    try:
        while True:
            typer.echo(str(scheduler.run_pass(ctx, alert_sender=sender)))
            if once:
                return
            time.sleep(interval)
    finally:
        ctx.close()


@keys_cli.command("ensure")
def keys_ensure() -> None:
    """Create the key file (mode 0600) for an empty database, or check the existing one against the database."""
    ctx = _context()
    try:
        active = ctx.keyring.active_kek_id
    finally:
        ctx.close()
    typer.echo(f"key file ready and matching the database; active key-encryption key {active}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Add a new key-encryption key and re-wrap every wrapped key under it (the data are not touched)."""
    from app.services import keys
    from app.services.wrapped_keys import describe_counts

    ctx = _context()
    try:
        report = keys.rotate(ctx)
    finally:
        ctx.close()
    rewrapped = describe_counts(report.rewrapped_by_table)
    typer.echo(f"active key-encryption key {report.active_kek_id}; re-wrapped {rewrapped}")
    typer.echo("older keys stay in the key file until `nrm keys retire KEK_ID` (after the backup window)")


@keys_cli.command("retire")
def keys_retire(kek_id: str) -> None:
    """Destroy an old key-encryption key once nothing is wrapped by it (makes erasure final in backups)."""
    from app.services import keys

    ctx = _context()
    try:
        keys.retire(ctx, kek_id)
    except ServiceError as error:
        _fail(_describe(error))
    finally:
        ctx.close()
    typer.echo(f"key-encryption key {kek_id} destroyed")


@instance_cli.command("show")
def instance_show() -> None:
    """Print this instance's identity line, to send to a peer (then read the fingerprint to each other)."""
    from app.security.keyfile import KeyFileError, load_key_file
    from app.services.instance import local_identity

    settings = get_settings()
    try:
        # Read, never create: a key file is made by `nrm keys ensure` (or the first start on an empty database).
        identity = local_identity(settings, load_key_file(settings.key_file))
    except KeyFileError as error:
        _fail(f"{error} (NRM_KEY_FILE)")
    except ServiceError as error:
        _fail(_describe(error))
    typer.echo(identity.to_line())


@instance_cli.command("rotate")
def instance_rotate() -> None:
    """Add a new generation of signing and encryption keys; peers must then register the new identity line."""
    from app.services import instance

    ctx = _context()
    try:
        key_id = instance.rotate_keys(ctx)
    finally:
        ctx.close()
    typer.echo(f"active instance keys {key_id}; send the new line of `nrm instance show` to every peer")
    typer.echo("the older keys still open what peers seal to them until `nrm instance retire KEY_ID`")


@instance_cli.command("retire")
def instance_retire(key_id: str) -> None:
    """Destroy an old generation of instance keys once every peer uses the new identity line."""
    from app.services import instance

    ctx = _context()
    try:
        instance.retire_keys(ctx, key_id)
    except ServiceError as error:
        _fail(_describe(error))
    finally:
        ctx.close()
    typer.echo(f"instance keys {key_id} destroyed")


@peers_cli.command("add")
def peers_add(
    name: Annotated[str, typer.Argument(help="a local name for the peer: lower-case letters, digits, '-'")],
    identity_line: Annotated[str, typer.Argument(help="the line the peer's `nrm instance show` printed")],
    yes: Annotated[bool, typer.Option("--yes", help="the fingerprint was checked already: do not ask")] = False,
) -> None:
    """Register a peer, once its fingerprint was read out of band with its operator."""
    from app.services import transfers

    ctx = _context()
    try:
        identity = transfers.read_line(identity_line)
        typer.echo(f"peer        {identity.name} ({identity.country})")
        typer.echo(f"inbox at    {identity.url}")
        typer.echo(f"fingerprint {identity.fingerprint}")
        typer.echo(
            "Call the peer's operator on a number you already know and have them read out the fingerprint of\n"
            "their `nrm instance show`: every digit must match the one above."
        )
        if not yes and not typer.confirm("Does the fingerprint match, digit for digit?", default=False):
            _fail("not registered: the fingerprint was not confirmed")
        transfers.add_peer(ctx, name, identity_line)
    except ServiceError as error:
        _fail(_describe(error))
    finally:
        ctx.close()
    typer.echo(f"peer {name} registered")


@peers_cli.command("list")
def peers_list() -> None:
    """The registered peers: local name, country, inbox URL and fingerprint."""
    from app.services import transfers

    ctx = _context()
    try:
        for peer in transfers.list_peers(ctx):
            typer.echo(f"{peer.name:<20}{peer.country:<4}{peer.url:<40}{peer.fingerprint}  {peer.display_name}")
    finally:
        ctx.close()


@peers_cli.command("remove")
def peers_remove(name: str) -> None:
    """Forget a peer at once (its key compromised, the agreement ended): its messages are refused from now on."""
    from app.services import transfers

    ctx = _context()
    try:
        transfers.remove_peer(ctx, name)
    except ServiceError as error:
        _fail(_describe(error))
    finally:
        ctx.close()
    typer.echo(f"peer {name} removed")


@audit_cli.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(help="a head printed earlier by `nrm audit head`")] = None,
    processes: Annotated[
        int, typer.Option(help="processes verifying stretches of a long log at once (default: one per CPU)")
    ] = 0,
) -> None:
    """Check the whole chain; name the first bad entry."""
    import os

    from app.security.audit_chain import ChainHead
    from app.services import audit

    ctx = _context()
    try:
        result = audit.verify(ctx, ChainHead.parse(head) if head else None, processes=processes or os.cpu_count() or 1)
    finally:
        ctx.close()
    if result.valid:
        typer.echo(f"audit log valid: {result.entries} entries, head {result.entries}:{result.head}")
        return
    typer.echo(f"audit log INVALID: first bad entry {result.first_bad_sequence}: {result.problem}", err=True)
    raise typer.Exit(code=1)


@audit_cli.command("head")
def audit_head() -> None:
    """Print the chain head (sequence:mac), to be kept outside the database."""
    from app.services import audit

    ctx = _context()
    try:
        typer.echo(str(audit.head(ctx)))
    finally:
        ctx.close()


@stats_cli.command("export")
def stats_export(
    year: Annotated[int, typer.Option(help="calendar year, e.g. 2027")],
    output_format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
) -> None:
    """Print the year's anonymous statistics, small cells suppressed, as CSV or JSON."""
    import csv
    import json
    from dataclasses import asdict

    from app.services import audit, statistics

    if output_format not in {"csv", "json"}:
        _fail("--format must be csv or json")
    ctx = _context()
    try:
        result = statistics.year_statistics(ctx, year)
        audit.record(ctx, audit.SYSTEM_ACTOR, "statistics.exported", details={"year": year, "format": output_format})
    finally:
        ctx.close()
    if output_format == "json":
        typer.echo(json.dumps(asdict(result), indent=2))
        return
    writer = csv.writer(sys.stdout)
    writer.writerow(["dimension", "value", "count", "suppressed"])
    for table in result.tables:
        writer.writerow([table.dimension, "total", table.total, table.total_suppressed])
        for cell in table.cells:
            writer.writerow([table.dimension, cell.value, "" if cell.count is None else cell.count, cell.suppressed])
    for cross in result.cross_tables:
        # A two-way table as rows "<row dimension>_by_<column dimension>", value "<row>|<column>" ("*": a total).
        name = f"{cross.row_dimension}_by_{cross.column_dimension}"
        writer.writerow([name, "total", cross.total, cross.total_suppressed])
        lines = [(f"{c.value}|*", c.count, c.suppressed) for c in cross.row_totals]
        lines += [(f"*|{c.value}", c.count, c.suppressed) for c in cross.column_totals]
        lines += [(f"{c.row}|{c.column}", c.count, c.suppressed) for c in cross.cells]
        for value, count, suppressed in lines:
            writer.writerow([name, value, "" if count is None else count, suppressed])
    for item in result.decision_times:
        writer.writerow([f"median_days_to_{item.stage}_decision", "", item.median_days, item.suppressed])
    figure = result.interviews
    writer.writerow(["interviews_per_identified_person", "", figure.interviews_per_person, figure.suppressed])


def _describe(error: ServiceError) -> str:
    extra = getattr(error, "errors", None)
    if extra:
        return error.detail + ": " + "; ".join(f"{'.'.join(map(str, e.loc))} {e.msg}" for e in extra)
    return error.detail


def main() -> None:
    try:
        cli()
    except SettingsError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
