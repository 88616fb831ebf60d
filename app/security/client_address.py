"""The client's address, for the login throttle and the logs: forwarding headers only from trusted proxies.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only when the peer that connected
is one of `NRM_TRUSTED_PROXIES` (none by default). Then the list is read from the right, past every trusted
proxy, and the first address that is not one is the client; anything to its left was written by the client and
is ignored. A malformed entry stops the walk at the last hop that could be vouched for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The address to attribute a request to. `forwarded_for`: every X-Forwarded-For header value, in order."""
    if not peer:
        return "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return address
        if not _trusted(address, trusted):
            return address
    return address
