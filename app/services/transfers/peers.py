"""The peer registry: the instances this one exchanges cases with, each under a local name.

An operator registers a peer (`nrm peers add NAME LINE`) only after reading its fingerprint out of band with
the peer's operator (docs/transfers.md, "Registering a peer"); registration and removal are audited. Signing
keys are unique across peers, so a signed message names exactly one of them. Removing a peer takes effect at
once: its messages are refused (`unknown-signer`) and nothing more is delivered to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Peer
from app.security.instance_identity import IdentityError, InstanceIdentity, parse_identity_line
from app.services import audit
from app.services.context import ServiceContext
from app.services.errors import Conflict, FieldProblem, InvalidInput, NotFound

#: A local name: what operators type and what the audit log and the API show.
PEER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


@dataclass(frozen=True)
class PeerView:
    name: str
    display_name: str
    country: str
    url: str
    fingerprint: str
    registered_at: datetime


def _view(row: Peer) -> PeerView:
    return PeerView(row.name, row.display_name, row.country, row.url, row.fingerprint, row.registered_at)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not PEER_NAME.fullmatch(name):
        raise InvalidInput(
            "a peer's name is 1 to 40 lower-case letters, digits or '-'",
            [FieldProblem(("name",), "1 to 40 of a-z, 0-9 and '-', starting with a letter or digit")],
        )
    return name


def read_line(line: str) -> InstanceIdentity:
    """The identity an identity line describes, to show its fingerprint before registering it."""
    try:
        return parse_identity_line(line)
    except IdentityError as error:
        # The message names the field, never the value (the line may hold anything an operator pasted).
        raise InvalidInput(str(error), [FieldProblem(("identity_line",), str(error))]) from None


def add_peer(ctx: ServiceContext, name: str, line: str) -> PeerView:
    """Register a peer whose fingerprint was checked out of band; audited as `peer.registered`."""
    check_name(name)
    identity = read_line(line)
    keys = ctx.keyring.instance_keys.values()
    if any(k.signing_public_key == identity.signing_key for k in keys):
        raise InvalidInput(
            "this is this instance's own identity", [FieldProblem(("identity_line",), "this instance's own line")]
        )
    now = ctx.clock.now()
    try:
        with transaction(ctx.sessions) as session:
            if session.get(Peer, name) is not None:
                raise Conflict(f"a peer named {name!r} is registered already; remove it first to replace it")
            other = session.scalar(select(Peer.name).where(Peer.signing_key == identity.signing_key))
            if other is not None:
                raise Conflict(f"this identity is registered already, as {other!r}")
            row = Peer(
                name=name,
                identity_line=identity.to_line(),
                display_name=identity.name,
                country=identity.country,
                url=identity.url,
                signing_key=identity.signing_key,
                encryption_key=identity.encryption_key,
                fingerprint=identity.fingerprint,
                registered_at=now,
            )
            session.add(row)
            session.flush()
            details = {"country": identity.country, "url": identity.url, "fingerprint": row.fingerprint}
            _audit(session, ctx, "peer.registered", name, details)
            return _view(row)
    except IntegrityError:
        # Registered at the same moment by another command: the checks above, had they seen it, said so.
        raise Conflict("this peer was registered at the same time by someone else; list the peers") from None


def _audit(session: Session, ctx: ServiceContext, action: str, name: str, details: dict[str, str]) -> None:
    """An operator's change to the registry (from the command line: the system actor)."""
    time = ctx.clock.now()
    audit.append(
        session, ctx.keyring, time=time, actor=audit.SYSTEM_ACTOR, action=action, details={"peer": name, **details}
    )


def remove_peer(ctx: ServiceContext, name: str) -> None:
    """Forget a peer (its key compromised, the agreement ended): its messages are refused from now on and
    nothing more is delivered to it. Audited as `peer.removed`."""
    with transaction(ctx.sessions) as session:
        row = session.get(Peer, check_name(name))
        if row is None:
            raise NotFound("no such peer")
        fingerprint = row.fingerprint
        session.delete(row)
        _audit(session, ctx, "peer.removed", name, {"fingerprint": fingerprint})


def list_peers(ctx: ServiceContext) -> list[PeerView]:
    with read_only(ctx.read_sessions) as session:
        return [_view(row) for row in session.scalars(select(Peer).order_by(Peer.name))]


def identity_of(row: Peer) -> InstanceIdentity:
    return InstanceIdentity(row.display_name, row.country, row.url, row.signing_key, row.encryption_key)


def registered(session: Session) -> dict[str, InstanceIdentity]:
    """Every registered peer by local name, as `open_package` and `open_receipt` take them."""
    return {row.name: identity_of(row) for row in session.scalars(select(Peer))}


def find_peer(session: Session, name: str) -> Peer | None:
    return session.get(Peer, name)
