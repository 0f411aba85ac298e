"""Which addresses the media fetcher may connect to: only public ones (the SSRF policy, docs/media.md).

:func:`address_problem` names what is wrong with an address ("a private address") or returns ``None``;
IPv4 carried inside IPv6 (mapped, NAT64, 6to4) is judged as the IPv4 address it carries. Pure, apart
from :func:`system_resolver`, which asks the operating system's resolver.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

__all__ = ["IPAddress", "Resolver", "address_problem", "system_resolver"]

_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) -> the addresses it resolves to


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(
    ip: IPAddress,
    *,
    allow_loopback: bool = False,
    allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
) -> str | None:
    """Why the fetcher must not connect to ``ip`` ("a private address"), or ``None`` if it may."""
    if any(ip.version == net.version and ip in net for net in allowed):
        return None
    inner = _embedded_v4(ip)
    if inner is not None:
        return address_problem(inner, allow_loopback=allow_loopback, allowed=allowed)
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip in _CGNAT, "a carrier-grade NAT (shared) address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for bad, why in checks if bad), None)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
