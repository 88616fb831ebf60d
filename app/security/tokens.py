"""Bearer tokens: short-lived signed JWTs whose id must also be live in the database.

The signature lets us refuse forged tokens cheaply; the server-side record (`AccessToken`) lets a token
stop working at logout or when its user is disabled, before it expires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "nrm"


class InvalidToken(Exception):
    """The token is malformed, forged or expired. Carries no token material."""


@dataclass(frozen=True)
class TokenClaims:
    token_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


def issue_token(signing_key: bytes, user_id: uuid.UUID, token_id: uuid.UUID, now: datetime, ttl: timedelta) -> str:
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "jti": str(token_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, signing_key, algorithm=ALGORITHM)


def read_token(signing_key: bytes, token: str, now: datetime) -> TokenClaims:
    """Check the signature and the expiry against the application clock (not the system's)."""
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "jti", "iss"]},
        )
        expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
        token_id = uuid.UUID(str(claims["jti"]))
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise InvalidToken("the token is not valid") from None
    if expires_at <= now:
        raise InvalidToken("the token has expired")
    return TokenClaims(token_id=token_id, user_id=user_id, expires_at=expires_at)
