"""This instance as its peers know it: its public identity line, and the rotation of its instance keys."""

from __future__ import annotations

from app.config import Settings
from app.security.instance_identity import InstanceIdentity
from app.security.keyfile import KeyRing, MissingInstanceKeysError, retire_instance_keys, rotate_instance_keys
from app.services import audit
from app.services.context import ServiceContext
from app.services.errors import Conflict, NotFound


class InstanceNotConfigured(Conflict):
    """This instance has no identity for its peers yet (settings or instance keys missing)."""


def local_identity(settings: Settings, keyring: KeyRing) -> InstanceIdentity:
    """This instance's identity: the settings that name it and the public half of its active instance keys."""
    name, country, url = settings.instance_name, settings.instance_country, settings.public_url
    if name is None or country is None or url is None:
        missing = [
            variable
            for variable, value in (
                ("NRM_INSTANCE_NAME", name),
                ("NRM_INSTANCE_COUNTRY", country),
                ("NRM_PUBLIC_URL", url),
            )
            if value is None
        ]
        raise InstanceNotConfigured(f"set {', '.join(missing)} to give this instance an identity for its peers")
    try:
        keys = keyring.active_instance_keys
    except MissingInstanceKeysError as error:
        raise InstanceNotConfigured(str(error)) from None
    return InstanceIdentity(
        name=name,
        country=country,
        url=url,
        signing_key=keys.signing_public_key,
        encryption_key=keys.encryption_public_key,
    )


def rotate_keys(ctx: ServiceContext) -> str:
    """A new active generation of instance keys (the old ones kept until retired), audited; its id."""
    ring = rotate_instance_keys(ctx.settings.key_file)
    ctx.reload_keys()
    key_id = ring.active_instance_keys.key_id
    audit.record(ctx, audit.SYSTEM_ACTOR, "instance.keys_rotated", details={"instance_key_id": key_id})
    return key_id


def retire_keys(ctx: ServiceContext, key_id: str) -> None:
    """Destroy an old generation of instance keys: what peers sealed to it no longer opens here. Audited."""
    ring = ctx.keyring
    if key_id not in ring.instance_key_ids:
        raise NotFound("no such instance keys")
    if key_id == ring.active_instance_key_id:
        raise Conflict("the active instance keys cannot be retired; rotate first")
    retire_instance_keys(ctx.settings.key_file, key_id)
    ctx.reload_keys()
    audit.record(ctx, audit.SYSTEM_ACTOR, "instance.keys_retired", details={"instance_key_id": key_id})
