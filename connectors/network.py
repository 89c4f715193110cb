"""Where a connector may connect: public addresses only, checked after DNS resolution, on every request.

A connector's URLs come from configuration that an HTTP caller can supply (the connection test), so a
pull must not become a way into the app's own network: loopback, private (RFC 1918, IPv6 ULA),
link-local (the cloud metadata endpoint 169.254.169.254 among them), CGNAT (100.64.0.0/10) and the other
reserved ranges are refused before any connection is made. Every request is checked, token calls and
next links included (redirects are never followed). Loopback is allowed only under the test setting
(CONNECTORS_ALLOW_LOOPBACK_HTTP, for the HR emulators); private ranges under
CONNECTORS_ALLOW_PRIVATE_NETWORKS, for an HR system reached through a virtual network.

The check resolves the name, then httpx resolves it again to connect: a name that changes its answer in
between (DNS rebinding) is not caught here; network rules in Azure (no outbound route to private ranges
unless configured) are the second line.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


class BlockedAddress(httpx.TransportError):
    """The request's host resolves to an address a connector may not reach; nothing was sent."""


@dataclass(frozen=True)
class NetworkPolicy:
    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, address: Address) -> str | None:
        """Why ``address`` may not be reached, or None when it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address in _METADATA:
            return "a cloud metadata address"
        if address.is_loopback:
            return None if self.allow_loopback else "a loopback address"
        if address.is_link_local:
            return "a link-local address"
        if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
            return None if self.allow_private else "a shared (CGNAT) address"
        if address.is_private and not address.is_global:
            return None if self.allow_private else "a private address"
        if address.is_multicast or address.is_unspecified or address.is_reserved or not address.is_global:
            return "a reserved address"
        return None


def system_resolver(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class GuardedTransport(httpx.BaseTransport):
    """Checks every request's host against the policy, then hands the request to ``inner``."""

    def __init__(
        self, inner: httpx.BaseTransport, policy: NetworkPolicy, *, resolve: Resolver = system_resolver
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._resolve = resolve

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.check(request.url)
        return self._inner.handle_request(request)

    def check(self, url: httpx.URL) -> None:
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            literal: Address | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self._resolve(host, port)]
            except OSError:
                return  # no answer: the connection attempt fails on its own, with nothing reached
        for address in addresses:
            reason = self._policy.refusal(address)
            if reason is not None:
                raise BlockedAddress(f"{host} resolves to {reason}: refused (nothing was sent)")

    def close(self) -> None:
        self._inner.close()
