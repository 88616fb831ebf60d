"""The public identity of an instance, as one line an operator sends to a peer and checks by voice.

Two national mechanisms that want to refer victims to each other exchange identity lines (`nrm instance show`
on each side), register each other's line (`nrm peers add`), and before that read each other's fingerprint
aloud over a channel they already trust (a telephone call between focal points who know each other, a signed
letter). The fingerprint is what makes a line copied by e-mail safe to use: whoever altered the line in
transit (to put their own keys in it) changed the fingerprint too.

Line, version 1 (one line, ASCII, fields in this order, separated by one space):

    nrm-instance/1 name=<name> country=<CC> url=<base URL> sign=ed25519:<key> encrypt=x25519:<key>
    fingerprint=<ddddd-ddddd-ddddd-ddddd-ddddd-ddddd-ddddd-ddddd>

- `name`: the instance's display name, Unicode NFC, percent-encoded as UTF-8 (`urllib.parse.quote` with no
  safe characters, upper-case hex), 1 to 100 characters, no control characters.
- `country`: ISO 3166-1 alpha-2, upper case (only the shape is checked, not the list).
- `url`: the base URL peers deliver to (`NRM_PUBLIC_URL`): `https://host[:port][/path]`, lower-case scheme
  and host, no trailing slash, no user, query or fragment; `http://` only for a loopback host (tests, demos).
- `sign`: the Ed25519 public key (signatures on packages and receipts), raw 32 bytes, base64url without
  padding (43 characters); `encrypt`: the X25519 public key (packages are sealed to it), same encoding.
- `fingerprint`: 40 decimal digits in groups of five. Digits, because two operators of different languages
  read them to each other (letters are pronounced differently in French and English). They are
  SHA-256(canonical) read as a big-endian integer of its first 20 bytes, modulo 10^40 (about 133 bits), where
  canonical = "nrm-instance-fingerprint/v1" followed by the name (UTF-8, NFC), the country, the URL, the
  signing key and the encryption key, each as a 4-byte big-endian length and the bytes. Every part of the
  line is covered: a changed name, URL or key is a changed fingerprint.

`parse_identity_line` is strict: exactly those fields, in that order, each in its canonical form, and the
fingerprint written in the line must be the one computed from the rest (a typo or a cut line is refused).
Errors (`IdentityError`) say which field is wrong, never echo what was given: an operator may paste
something else, a private key even, by mistake.

Pure: no settings, no clock, no file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

__all__ = [
    "LINE_PREFIX",
    "IdentityError",
    "InstanceIdentity",
    "normalise_base_url",
    "normalise_country",
    "normalise_name",
    "parse_identity_line",
]

LINE_PREFIX: Final = "nrm-instance/1"
PUBLIC_KEY_BYTES: Final = 32
MAX_NAME_CHARS: Final = 100
MAX_URL_CHARS: Final = 200
# Far more than a valid line (about 300 characters with a long name); a longer input is not read at all.
MAX_LINE_CHARS: Final = 2000
FINGERPRINT_DIGITS: Final = 40
_FINGERPRINT_LABEL: Final = b"nrm-instance-fingerprint/v1"
_FIELDS: Final = ("name", "country", "url", "sign", "encrypt", "fingerprint")
_SIGN_PREFIX: Final = "ed25519:"
_ENCRYPT_PREFIX: Final = "x25519:"
_COUNTRY_RE: Final = re.compile(r"[A-Z]{2}")
_PATH_RE: Final = re.compile(r"(/[A-Za-z0-9._~-]+)*")
_FINGERPRINT_RE: Final = re.compile(r"\d{5}(-\d{5}){7}")
_B64URL_KEY_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}")


class IdentityError(ValueError):
    """An identity line or one of its parts is invalid; the message names the part, never its value."""


def normalise_name(value: str) -> str:
    """The display name in NFC, without surrounding spaces; refused if empty, too long or with control chars."""
    if not isinstance(value, str):
        raise IdentityError("the instance name must be text")
    name = unicodedata.normalize("NFC", value.strip())
    if not name:
        raise IdentityError("the instance name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise IdentityError(f"the instance name is longer than {MAX_NAME_CHARS} characters")
    # Control, format, private-use and unassigned characters, and line or paragraph separators: none belongs
    # in a name shown to operators, and some (bidirectional overrides) could make two names look alike.
    if any(unicodedata.category(char)[0] == "C" or unicodedata.category(char) in {"Zl", "Zp"} for char in name):
        raise IdentityError("the instance name contains control or invisible characters")
    return name


def normalise_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code in upper case (the shape only: two letters A-Z)."""
    country = value.strip().upper() if isinstance(value, str) else ""
    if not _COUNTRY_RE.fullmatch(country):
        raise IdentityError("the country must be an ISO 3166-1 alpha-2 code, two letters such as FR")
    return country


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_base_url(value: str) -> str:
    """The canonical base URL peers deliver to: https (http only on a loopback host), no user, query or
    fragment, lower-case scheme and host, no trailing slash."""
    if not isinstance(value, str):
        raise IdentityError("the base URL must be text")
    text = value.strip()
    if not text or len(text) > MAX_URL_CHARS or not text.isascii() or any(c.isspace() for c in text):
        raise IdentityError(f"the base URL must be ASCII without spaces, at most {MAX_URL_CHARS} characters")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise IdentityError("the base URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in {"https", "http"} or not host:
        raise IdentityError("the base URL must start with https:// and name a host")
    if scheme == "http" and not _is_loopback(host):
        raise IdentityError("the base URL must use https (http is accepted only for a loopback host)")
    if parts.username is not None or parts.password is not None:
        raise IdentityError("the base URL must not hold a user name or password")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise IdentityError("the base URL must not have a query or a fragment")
    path = parts.path.rstrip("/")
    if not _PATH_RE.fullmatch(path):
        raise IdentityError("the base URL path may hold only letters, digits and . _ ~ - between slashes")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{path}"


def _check_signing_key(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != PUBLIC_KEY_BYTES:
        raise IdentityError(f"the signing key must be {PUBLIC_KEY_BYTES} bytes")
    return value


def _check_encryption_key(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != PUBLIC_KEY_BYTES:
        raise IdentityError(f"the encryption key must be {PUBLIC_KEY_BYTES} bytes")
    # A low-order point gives every sender the same all-zero shared secret: sealing to it would protect
    # nothing. One trial exchange finds out (OpenSSL refuses the zero result).
    try:
        X25519PrivateKey.generate().exchange(X25519PublicKey.from_public_bytes(value))
    except ValueError:
        raise IdentityError("the encryption key is not a usable X25519 public key") from None
    return value


def _length_prefixed(*parts: bytes) -> bytes:
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class InstanceIdentity:
    """What a peer needs to know of an instance: who it says it is, where to deliver, and its public keys.

    The constructor normalises the name, country and URL (see the `normalise_*` functions) and checks the keys
    (raw 32 bytes each). Two identities are equal when every part is.
    """

    name: str
    country: str
    url: str
    signing_key: bytes
    encryption_key: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalise_name(self.name))
        object.__setattr__(self, "country", normalise_country(self.country))
        object.__setattr__(self, "url", normalise_base_url(self.url))
        _check_signing_key(self.signing_key)
        _check_encryption_key(self.encryption_key)

    @property
    def fingerprint(self) -> str:
        """40 digits in groups of five, to be read aloud and compared out of band."""
        canonical = _FINGERPRINT_LABEL + _length_prefixed(
            self.name.encode("utf-8"),
            self.country.encode("ascii"),
            self.url.encode("ascii"),
            self.signing_key,
            self.encryption_key,
        )
        number = int.from_bytes(hashlib.sha256(canonical).digest()[:20], "big") % 10**FINGERPRINT_DIGITS
        digits = f"{number:0{FINGERPRINT_DIGITS}d}"
        return "-".join(digits[i : i + 5] for i in range(0, FINGERPRINT_DIGITS, 5))

    def matches_fingerprint(self, spoken: str) -> bool:
        """Whether a fingerprint as an operator typed it (spaces, dashes or none) is this identity's."""
        if not isinstance(spoken, str):
            return False
        typed = "".join(char for char in spoken if char not in " -\t")
        return hmac.compare_digest(typed.encode("utf-8"), self.fingerprint.replace("-", "").encode("ascii"))

    def to_line(self) -> str:
        return " ".join(
            (
                LINE_PREFIX,
                f"name={urllib.parse.quote(self.name, safe='')}",
                f"country={self.country}",
                f"url={self.url}",
                f"sign={_SIGN_PREFIX}{_b64url(self.signing_key)}",
                f"encrypt={_ENCRYPT_PREFIX}{_b64url(self.encryption_key)}",
                f"fingerprint={self.fingerprint}",
            )
        )

    __str__ = to_line


def _decode_key(text: str, prefix: str, what: str) -> bytes:
    if not text.startswith(prefix):
        raise IdentityError(f"the {what} key must start with {prefix!r}")
    encoded = text[len(prefix) :]
    key: bytes | None = None
    if _B64URL_KEY_RE.fullmatch(encoded):
        try:
            key = base64.urlsafe_b64decode(encoded + "=")
        except binascii.Error:
            key = None
    # Re-encoding must give the text back: the last character carries 2 spare bits, which must be zero.
    if key is None or len(key) != PUBLIC_KEY_BYTES or _b64url(key) != encoded:
        raise IdentityError(f"the {what} key is not {PUBLIC_KEY_BYTES} bytes in unpadded base64url")
    return key


def _decode_name(text: str) -> str:
    try:
        name = urllib.parse.unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise IdentityError("the name is not percent-encoded UTF-8") from None
    if urllib.parse.quote(name, safe="") != text:
        raise IdentityError("the name is not in its canonical percent-encoding")
    if normalise_name(name) != name:
        raise IdentityError("the name is not in its canonical form (Unicode NFC, no surrounding spaces)")
    return name


def parse_identity_line(line: str) -> InstanceIdentity:
    """The identity an identity line describes; `IdentityError` saying what is wrong otherwise.

    Surrounding white space (a trailing newline from a copy) is ignored; everything else must be exact.
    """
    if not isinstance(line, str):
        raise IdentityError("an identity line must be text")
    if len(line) > MAX_LINE_CHARS:
        raise IdentityError("this is too long to be an identity line")
    text = line.strip()
    if not text.isascii():
        raise IdentityError("an identity line is plain ASCII (the name is percent-encoded)")
    words = text.split(" ")
    if words[0] != LINE_PREFIX:
        raise IdentityError(f"not an identity line: it must start with {LINE_PREFIX!r}")
    fields = words[1:]
    names = [field.partition("=")[0] for field in fields]
    if names != list(_FIELDS) or any("=" not in field for field in fields):
        raise IdentityError(f"an identity line has exactly the fields {', '.join(_FIELDS)}, in this order")
    values = [field.partition("=")[2] for field in fields]
    name_text, country, url, sign, encrypt, fingerprint = values
    if normalise_country(country) != country:
        raise IdentityError("the country must be written in upper case")
    if normalise_base_url(url) != url:
        raise IdentityError("the base URL is not in its canonical form (lower-case host, no trailing slash)")
    if not _FINGERPRINT_RE.fullmatch(fingerprint):
        raise IdentityError("the fingerprint must be 40 digits in eight groups of five joined by '-'")
    identity = InstanceIdentity(
        name=_decode_name(name_text),
        country=country,
        url=url,
        signing_key=_decode_key(sign, _SIGN_PREFIX, "signing"),
        encryption_key=_decode_key(encrypt, _ENCRYPT_PREFIX, "encryption"),
    )
    if identity.fingerprint != fingerprint:
        raise IdentityError(
            "the fingerprint does not match the rest of the line: it was altered or mistyped; ask the peer "
            "for its line again"
        )
    return identity
