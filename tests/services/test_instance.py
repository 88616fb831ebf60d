"""This instance's identity and the rotation of its instance keys through the service: audited, the old keys
kept until retired, the KEKs and every case untouched; `local_identity` names what is missing."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.security.instance_identity import parse_identity_line
from app.security.keyfile import load_key_file
from app.services import audit, instance
from app.services.context import ServiceContext
from app.services.errors import Conflict, NotFound


def test_rotate_and_retire_instance_keys_are_audited_and_keep_everything_else(ctx: ServiceContext) -> None:
    before = ctx.keyring
    old_id = before.active_instance_keys.key_id
    with pytest.raises(Conflict):
        instance.retire_keys(ctx, old_id)  # the active keys cannot be retired
    with pytest.raises(NotFound):
        instance.retire_keys(ctx, "inst-2020-01-01-0000")

    new_id = instance.rotate_keys(ctx)
    assert new_id != old_id and ctx.keyring.active_instance_key_id == new_id
    assert ctx.keyring.instance_key_ids == (old_id, new_id)
    assert ctx.keyring.kek_ids == before.kek_ids and ctx.keyring.audit_hmac_key == before.audit_hmac_key

    instance.retire_keys(ctx, old_id)
    assert load_key_file(ctx.settings.key_file).instance_key_ids == (new_id,)
    entries = audit.list_entries(ctx, case_id=None, after=None, limit=100)
    assert [(e.action, e.details) for e in entries][-2:] == [
        ("instance.keys_rotated", {"instance_key_id": new_id}),
        ("instance.keys_retired", {"instance_key_id": old_id}),
    ]
    assert audit.verify(ctx).valid


def test_local_identity_uses_the_active_keys_and_names_missing_settings(ctx: ServiceContext) -> None:
    with pytest.raises(
        instance.InstanceNotConfigured, match=r"NRM_INSTANCE_NAME.*NRM_INSTANCE_COUNTRY.*NRM_PUBLIC_URL"
    ):
        instance.local_identity(ctx.settings, ctx.keyring)
    settings = load_settings(
        database_url=ctx.settings.database_url,
        key_file=ctx.settings.key_file,
        instance_name="Test focal point",
        instance_country="LU",
        public_url="https://nrm.example.lu",
    )
    identity = instance.local_identity(settings, ctx.keyring)
    assert identity.signing_key == ctx.keyring.active_instance_keys.signing_public_key
    assert parse_identity_line(identity.to_line()) == identity
    instance.rotate_keys(ctx)
    assert instance.local_identity(settings, ctx.keyring).encryption_key == (
        ctx.keyring.active_instance_keys.encryption_public_key
    )
    assert instance.local_identity(settings, ctx.keyring).fingerprint != identity.fingerprint
