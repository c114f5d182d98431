"""The client's address, the same for sign-in throttling, rate limits and logs.

Behind reverse proxies the peer address is the proxy's. `X-Forwarded-For` is believed only
when the peer is one of `FENGHUO_TRUSTED_PROXIES`, and then read from the right, skipping
trusted proxies: the first address a trusted proxy received the request from is the client.
The left end of the header is whatever the client chose to send, so it is never taken as is.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(settings.FENGHUO_TRUSTED_PROXIES))
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    for address in reversed(forwarded):
        if not _trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return peer  # a malformed entry: nothing left of it can be believed
    return forwarded[0] if forwarded else peer
