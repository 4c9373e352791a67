"""Where a webhook may connect, and how long an attempt may take.

A webhook's URL is the admin's, but the server is the one connecting: left open, the delivery log
reports whether 127.0.0.1:6379 or 169.254.169.254 answers, an internal port scanner. So a webhook
reaches public addresses only (`ipaddress`'s is_global, and not multicast), unless the setting
TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS names networks it may reach as well. The URL is checked when it
is saved, and its name resolved and checked again on every attempt; the attempt then connects to
the very address that was checked (never resolving twice), so a name that changes its answer
(DNS rebinding) cannot slip through. Every form of address the system's resolver takes
(2130706433, 0x7f000001, 127.1, [::ffff:127.0.0.1]) is resolved before it is judged.

An attempt has one deadline for everything (resolving, connecting, TLS, sending, the answer's
headers, at most ANSWER_BYTES of its body): each read and write waits at most what is left of it,
so a receiver sending a byte every few seconds is cut off at the deadline like a silent one.
"""

import ipaddress
import socket
import time
from collections.abc import Iterable
from typing import NamedTuple

import httpcore

from server.settings import SettingsError

ANSWER_BYTES = 64 * 1024  # of a receiver's answer only the status matters; a little of the body is read, never more
class Refused(Exception):
    """A target a webhook may not reach; the message says which address and why."""


class Network(NamedTuple):
    """One entry of TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS: a network, and the one port allowed there (None: any)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None = None


def networks(text: str) -> tuple[Network, ...]:
    """The entries of the setting, separated by commas: a network in CIDR (10.1.0.0/16) or one
    address and port (127.0.0.1:8123, [::1]:8123). SettingsError names a bad one."""
    found = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        address, port = entry, None
        if entry.startswith("[") and "]:" in entry or entry.count(":") == 1:
            address, _, digits = entry.rpartition(":")
            address = address.strip("[]")
            port = int(digits) if digits.isdigit() and 0 < int(digits) < 65536 else -1
        try:
            if port == -1:
                raise ValueError(entry)
            found.append(Network(ipaddress.ip_network(address, strict=False), port))
        except ValueError:
            raise SettingsError(f"TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS: {entry!r} is not a network; expected CIDR such as 127.0.0.0/8 or fd00::/8, "
                                "or an address and port such as 127.0.0.1:8123") from None
    return tuple(found)


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    for name in ("loopback", "unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return "non-public"


def problem(address: str, allow: Iterable[Network], port: int | None = None) -> str | None:
    """What kind of address `address` (an IP) is when a webhook may not connect to it ("loopback"), or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) says nothing of the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip in a.network and a.port in (None, port) for a in allow if a.network.version == ip.version):
        return None
    if ip.is_global and not ip.is_multicast:
        return None
    return _kind(ip)


def resolve(host: str, port: int, allow: Iterable[Network]) -> list[str]:
    """Every address `host` resolves to, each checked; Refused when any may not be reached.
    socket.gaierror when the name does not resolve."""
    allow = tuple(allow)
    addresses = list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))
    for address in addresses:
        if (kind := problem(address, allow, port)) is not None:
            kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
            said = f"{address} is {kind}" if address == host.strip("[]") else f"{host} resolves to {address}, {kind}"
            raise Refused(f"{said}: webhooks go only to public addresses unless TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS allows its network")
    return addresses


class Deadline:
    """One attempt's deadline, on the monotonic clock."""

    def __init__(self, seconds: float):
        self.seconds, self.at = seconds, time.monotonic() + seconds

    def left(self, timeout: float | None = None) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout(f"the attempt took longer than its {self.seconds:g} s")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most what is left of the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline):
        self.inner, self.deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.deadline.left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None) -> "httpcore.NetworkStream":
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, self.deadline.left(timeout)), self.deadline)

    def get_extra_info(self, info: str):
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, connected only to checked addresses, under one deadline. TLS still
    checks the certificate against the URL's name (httpcore hands the name, not the address, to it)."""

    def __init__(self, allow: Iterable[Network], deadline: Deadline):
        self.allow, self.deadline, self.inner = tuple(allow), deadline, httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options=None) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, self.allow)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc.strerror or exc}") from None
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self.inner.connect_tcp(address, port, self.deadline.left(timeout), local_address, socket_options)
                return _Stream(stream, self.deadline)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, *args, **kwargs):
        raise Refused("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
