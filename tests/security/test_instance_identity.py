"""The identity line: round trips, a known answer for the line and the fingerprint, strict parsing with an
error that names the field and never echoes the input, and `nrm instance show`."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli import cli
from app.config import SettingsError, get_settings, load_settings
from app.security.instance_identity import (
    IdentityError,
    InstanceIdentity,
    normalise_base_url,
    normalise_name,
    parse_identity_line,
)
from app.security.keyfile import ensure_key_file, load_key_file
from tests.security.test_keyfile import write_version_1

# Fixed public keys for the known answers: a valid X25519 public key (of the scalar 0x01...01) and 32 bytes
# for Ed25519 (any 32 bytes are accepted as a signing key here; the signature check is what uses them).
SIGN = bytes(range(32))
ENCRYPT = X25519PrivateKey.from_private_bytes(bytes([1] * 32)).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
NAME = "Mécanisme national d'orientation (démo)"
URL = "https://nrm.example.org/focal"


def identity(**changes: object) -> InstanceIdentity:
    parts: dict[str, object] = {
        "name": NAME,
        "country": "FR",
        "url": URL,
        "signing_key": SIGN,
        "encryption_key": ENCRYPT,
    }
    parts.update(changes)
    return InstanceIdentity(**parts)  # type: ignore[arg-type]


def b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


def expected_fingerprint(name: str, country: str, url: str, sign: bytes, encrypt: bytes) -> str:
    """The fingerprint as docs/transfers.md defines it, computed independently of the module."""
    canonical = b"nrm-instance-fingerprint/v1"
    for part in (name.encode(), country.encode(), url.encode(), sign, encrypt):
        canonical += len(part).to_bytes(4, "big") + part
    digits = str(int.from_bytes(hashlib.sha256(canonical).digest()[:20], "big") % 10**40).zfill(40)
    return "-".join(digits[i : i + 5] for i in range(0, 40, 5))


def test_known_answer_line_and_fingerprint() -> None:
    ident = identity()
    fingerprint = expected_fingerprint(NAME, "FR", URL, SIGN, ENCRYPT)
    assert ident.fingerprint == fingerprint
    # Pinned: a change to the canonical bytes or the digit rendering changes every fingerprint already
    # compared between operators, which must be a deliberate, versioned change.
    assert fingerprint == "77050-19012-81756-25631-62513-66510-72834-82336"
    assert ident.to_line() == (
        "nrm-instance/1 name=M%C3%A9canisme%20national%20d%27orientation%20%28d%C3%A9mo%29 country=FR "
        f"url=https://nrm.example.org/focal sign=ed25519:{b64url(SIGN)} encrypt=x25519:{b64url(ENCRYPT)} "
        f"fingerprint={fingerprint}"
    )
    assert str(ident) == ident.to_line()
    assert parse_identity_line(ident.to_line()) == ident


@pytest.mark.parametrize(
    "change",
    [
        {"name": NAME + " bis"},
        {"country": "BE"},
        {"url": "https://nrm.example.org/other"},
        {"signing_key": bytes(reversed(SIGN))},
        {"encryption_key": X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)},
    ],
)
def test_every_part_is_covered_by_the_fingerprint(change: dict[str, object]) -> None:
    assert identity(**change).fingerprint != identity().fingerprint


names = st.text(min_size=1, max_size=100).filter(lambda s: _valid_name(s))


def _valid_name(text: str) -> bool:
    try:
        return normalise_name(text) == text
    except IdentityError:
        return False


@given(name=names, country=st.from_regex(r"[A-Z]{2}", fullmatch=True))
@settings(max_examples=150, deadline=None)
def test_round_trip_of_any_valid_name(name: str, country: str) -> None:
    ident = identity(name=name, country=country)
    line = ident.to_line()
    assert "\n" not in line and line.isascii() and len(line.split(" ")) == 7
    assert parse_identity_line(line) == ident
    assert parse_identity_line(f"  {line}\n") == ident  # a copy with a newline is fine


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_garbage_is_refused_with_an_identity_error_only(text: str) -> None:
    with pytest.raises(IdentityError):
        parse_identity_line(text)


@given(st.integers(min_value=0, max_value=400), st.characters())
@settings(max_examples=300, deadline=None)
def test_a_changed_character_anywhere_is_refused(position: int, char: str) -> None:
    line = identity().to_line()
    position %= len(line)
    if line[position] == char:
        return
    altered = line[:position] + char + line[position + 1 :]
    try:
        parsed = parse_identity_line(altered)
    except IdentityError:
        return
    # The only edits that parse are invisible ones (a space added at either end of the line).
    assert parsed == identity() and altered.strip() == line


def line_with(**fields: str) -> str:
    ident = identity()
    parts = {
        "name": "M%C3%A9canisme%20national%20d%27orientation%20%28d%C3%A9mo%29",
        "country": "FR",
        "url": URL,
        "sign": f"ed25519:{b64url(SIGN)}",
        "encrypt": f"x25519:{b64url(ENCRYPT)}",
        "fingerprint": ident.fingerprint,
    }
    parts.update(fields)
    return "nrm-instance/1 " + " ".join(f"{k}={v}" for k, v in parts.items())


LOW_ORDER = bytes(32)  # the X25519 point 0: every shared secret with it is zero
SECRET_LOOKING = base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("", "must start with"),
        ("nrm-instance/2 " + line_with()[15:], "must start with"),
        (line_with().replace(" country=FR", ""), "exactly the fields"),
        (line_with() + " extra=1", "exactly the fields"),
        (line_with().replace(" ", "  ", 1), "exactly the fields"),
        (line_with().replace(" ", "\t", 1), "must start with"),
        (line_with(country="fr"), "upper case"),
        (line_with(country="FRA"), "alpha-2"),
        (line_with(url=URL + "/"), "canonical form"),
        (line_with(url=URL.replace("nrm", "NRM")), "canonical form"),
        (line_with(url="http://nrm.example.org"), "https"),
        (line_with(url="https://user@nrm.example.org"), "user name"),
        (line_with(url="https://nrm.example.org/?q=1"), "query"),
        (line_with(sign="ed25519:" + b64url(SIGN[:31])), "signing key is not 32 bytes"),
        (line_with(sign="rsa:" + b64url(SIGN)), "signing key must start with"),
        # The last base64url character carries 2 spare bits; a non-zero spare bit is another spelling.
        (line_with(sign="ed25519:" + b64url(SIGN)[:-1] + "x"), "signing key is not 32 bytes"),
        (line_with(encrypt="x25519:" + b64url(LOW_ORDER)), "not a usable X25519"),
        (line_with(encrypt="x25519:" + SECRET_LOOKING), "encryption key"),
        (line_with(name="%41lpha"), "canonical percent-encoding"),
        (line_with(name="%FF"), "percent-encoded UTF-8"),
        (line_with(name="e%CC%81"), "NFC"),  # e + combining acute: the NFC form is é
        (line_with(name="a%E2%80%AEb"), "control or invisible"),  # a right-to-left override
        (line_with(name=""), "empty"),
        (line_with(name="Mécanisme"), "ASCII"),
        (line_with(fingerprint="12345-12345"), "40 digits"),
        ("x" * 3000, "too long"),
    ],
)
def test_a_bad_line_is_refused_naming_the_problem(line: str, problem: str) -> None:
    with pytest.raises(IdentityError, match=problem) as caught:
        parse_identity_line(line)
    message = str(caught.value)
    for value in ("nrm.example.org", b64url(SIGN), b64url(ENCRYPT), SECRET_LOOKING, "xxxx"):
        assert value not in message


def test_a_fingerprint_that_does_not_match_is_refused() -> None:
    digits = identity().fingerprint
    other = ("1" if digits[0] != "1" else "2") + digits[1:]
    with pytest.raises(IdentityError, match="altered or mistyped"):
        parse_identity_line(line_with(fingerprint=other))


def test_keys_swapped_between_fields_are_refused() -> None:
    # The encryption key must be the one in the encrypt field: a line whose keys were swapped has another
    # fingerprint (and its "encryption key" here is not even a usable X25519 key).
    swapped = line_with(sign=f"ed25519:{b64url(ENCRYPT)}", encrypt=f"x25519:{b64url(SIGN)}")
    with pytest.raises(IdentityError):
        parse_identity_line(swapped)


def test_not_text_is_refused() -> None:
    with pytest.raises(IdentityError, match="text"):
        parse_identity_line(b"nrm-instance/1")  # type: ignore[arg-type]


def test_matches_fingerprint_as_an_operator_types_it() -> None:
    ident = identity()
    spoken = ident.fingerprint.replace("-", " ")
    assert ident.matches_fingerprint(spoken)
    assert ident.matches_fingerprint(ident.fingerprint.replace("-", ""))
    assert not ident.matches_fingerprint(spoken[:-1] + ("0" if spoken[-1] != "0" else "1"))
    assert not ident.matches_fingerprint("")


@pytest.mark.parametrize(
    ("given_url", "canonical"),
    [
        ("https://NRM.Example.org/", "https://nrm.example.org"),
        ("HTTPS://nrm.example.org:8443/focal/point/", "https://nrm.example.org:8443/focal/point"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://localhost:8001/", "http://localhost:8001"),
        ("http://[::1]:8001", "http://[::1]:8001"),
        (" https://nrm.example.org ", "https://nrm.example.org"),
    ],
)
def test_base_url_normalisation(given_url: str, canonical: str) -> None:
    assert normalise_base_url(given_url) == canonical


@pytest.mark.parametrize(
    "bad_url",
    [
        "nrm.example.org",
        "ftp://nrm.example.org",
        "http://nrm.example.org",
        "http://10.0.0.1",
        "https://",
        "https://nrm.example.org#top",
        "https://a:b@nrm.example.org",
        "https://nrm.example.org/a b",
        "https://nrm.example.org/%2e%2e",
        "https://nrm.example.org:99999",
        "https://nrm.éxample.org",
        "https://" + "a" * 300 + ".org",
    ],
)
def test_base_url_refusals(bad_url: str) -> None:
    with pytest.raises(IdentityError):
        normalise_base_url(bad_url)


# --- settings and the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("public_url", "http://nrm.example.org"),
        ("instance_country", "France"),
        ("instance_name", "x" * 101),
    ],
)
def test_settings_refuse_a_bad_identity_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"NRM_{variable.upper()}"):
        load_settings(**{variable: value})


def test_settings_normalise_and_treat_blank_as_unset() -> None:
    settings = load_settings(instance_name=" Demo ", instance_country="fr", public_url="https://A.example/")
    assert (settings.instance_name, settings.instance_country, settings.public_url) == (
        "Demo",
        "FR",
        "https://a.example",
    )
    assert load_settings(public_url="", instance_name="  ").public_url is None


@pytest.fixture
def instance_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    key_file = tmp_path / "keys" / "nrm.keys"
    monkeypatch.setenv("NRM_KEY_FILE", str(key_file))
    monkeypatch.setenv("NRM_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("NRM_INSTANCE_NAME", "Focal point (demo)")
    monkeypatch.setenv("NRM_INSTANCE_COUNTRY", "be")
    monkeypatch.setenv("NRM_PUBLIC_URL", "http://127.0.0.1:8765/")
    get_settings.cache_clear()
    yield key_file
    get_settings.cache_clear()


def test_instance_show_prints_the_line_of_the_active_keys(instance_env: Path) -> None:
    ring = ensure_key_file(instance_env)
    result = CliRunner().invoke(cli, ["instance", "show"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1
    shown = parse_identity_line(lines[0])
    keys = ring.active_instance_keys
    assert shown.signing_key == keys.signing_public_key and shown.encryption_key == keys.encryption_public_key
    assert (shown.name, shown.country, shown.url) == ("Focal point (demo)", "BE", "http://127.0.0.1:8765")


def test_instance_show_never_creates_a_key_file(instance_env: Path) -> None:
    result = CliRunner().invoke(cli, ["instance", "show"])
    assert result.exit_code == 1
    assert "does not exist" in result.output and "NRM_KEY_FILE" in result.output
    assert not instance_env.exists()


def test_instance_show_on_a_version_1_key_file_says_to_run_keys_ensure(instance_env: Path) -> None:
    write_version_1(instance_env)
    result = CliRunner().invoke(cli, ["instance", "show"])
    assert result.exit_code == 1 and "nrm keys ensure" in result.output
    assert not load_key_file(instance_env).has_instance_keys  # show only reads


def test_instance_show_names_the_missing_settings(instance_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_key_file(instance_env)
    monkeypatch.delenv("NRM_INSTANCE_NAME")
    monkeypatch.delenv("NRM_PUBLIC_URL")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["instance", "show"])
    assert result.exit_code == 1
    assert "NRM_INSTANCE_NAME" in result.output and "NRM_PUBLIC_URL" in result.output
    assert "NRM_INSTANCE_COUNTRY" not in result.output
