"""Download one media file a post references: GET only, SSRF-safe, size- and type-limited while streaming.

A media URL comes from a post, so from anyone: it may point at the floor's own network (a database
port, a router, the cloud metadata service at 169.254.169.254), redirect there, or be a server built to
hurt the fetcher (an endless body, a body that drips one byte a second, HTML labelled as a JPEG). So:

* only ``http`` and ``https`` URLs are fetched, and redirects are followed by hand, each hop checked
  like the first, at most ``max_redirects`` of them, never in a loop;
* the host name is resolved here and the fetch is refused if ANY address it resolves to is loopback,
  private, link-local, multicast, reserved, unspecified, carrier-grade NAT (100.64/10) or a cloud
  metadata address (IPv4 embedded in IPv6 is checked as IPv4). The connection then goes to the address
  that was checked (the check sits in the socket layer, :class:`_PinnedBackend`), so DNS rebinding
  cannot swap it; the Host header, TLS SNI and certificate verification still use the name;
* the body is streamed and dropped as soon as it passes the limit (a Content-Length over the limit is
  refused before reading; one under it is not trusted); its type is sniffed from the first bytes and
  refused outside the allowed set, whatever Content-Type says; compressed transfer is not accepted;
* every socket read is bounded by the read timeout AND by the fetch's overall deadline, so a server
  dripping bytes (slowloris), in the headers or the body, is cut off when the deadline passes.

Errors: a policy refusal raises :class:`MediaRefused` (a Permanent) saying what and why; network
trouble, timeouts, 5xx and 429 raise Transient (with ``retry_after``); 404, 410 and other final
answers raise Permanent. No proxy from the environment is used (it would defeat the address check).
A :class:`MediaFetcher` is for one thread at a time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore2
import httpx2

from watchfloor.connectors.live.http import USER_AGENT, retry_after_seconds
from watchfloor.connectors.media.addresses import Resolver, address_problem, system_resolver
from watchfloor.connectors.media.sniff import SNIFF_BYTES, sniff_media_type
from watchfloor.domain.errors import Permanent, Transient

__all__ = [
    "DEFAULT_ALLOWED_TYPES",
    "FetchLimits",
    "FetchedMedia",
    "MediaFetcher",
    "MediaRefused",
    "Resolver",
    "address_problem",
]

MB = 1_000_000
DEFAULT_ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/avif",
        "video/mp4",
        "video/quicktime",
        "video/webm",
        "video/x-matroska",
        "video/3gpp",
    }
)  # no SVG (it can carry scripts), no HTML, no archives
# Said in the refusal of a type that looks like it should be allowed. HEIC: the enricher cannot decode
# it (Pillow has no HEIF decoder here), so it is refused from its first bytes, not after the download.
_WHY_NOT = {
    "image/heic": ": HEIC/HEIF photos cannot be decoded here",
    "image/svg+xml": ": it can carry scripts",
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class MediaRefused(Permanent):
    """Policy forbids fetching this URL or keeping this file (private address, too large, wrong type)."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What one fetch may do: sizes, types, time and redirects (built from Settings by the service)."""

    max_image_bytes: int = 20 * MB
    max_video_bytes: int = 100 * MB
    allowed_types: frozenset[str] = DEFAULT_ALLOWED_TYPES
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # longest wait for any one read
    deadline: float = 60.0  # the whole fetch, every redirect and the body included (slowloris)
    max_redirects: int = 5
    allow_loopback: bool = False  # tests serve media on 127.0.0.1; never in production
    allowed_networks: tuple[str, ...] = ()  # explicit exceptions, e.g. an internal mirror "10.8.0.0/24"

    def cap_for(self, kind: str) -> int:
        """The size limit before the type is known: a video's for videos and GIFs, else an image's."""
        return self.max_video_bytes if kind in ("video", "gif") else self.max_image_bytes


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    """One downloaded file and what is known about it."""

    data: bytes = field(repr=False)
    sha256: str
    size: int
    media_type: str  # sniffed from the bytes
    final_url: str  # after redirects


class _AddressRefused(Exception):
    def __init__(self, ip: str, why: str) -> None:
        super().__init__(f"{ip}, {why}")
        self.ip, self.why = ip, why


class _DeadlineStream(httpcore2.NetworkStream):
    """A socket stream whose every read and write also stops at the fetch's overall deadline."""

    def __init__(self, inner: httpcore2.NetworkStream, deadline: Callable[[], float | None]) -> None:
        self._inner, self._deadline = inner, deadline

    def _bound(self, timeout: float | None) -> float | None:
        deadline = self._deadline()
        if deadline is None:
            return timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore2.ReadTimeout("the fetch's overall deadline passed")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._bound(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._bound(timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore2.NetworkBackend):
    """Resolves each host once, refuses it if any address is off-limits, connects to a checked address."""

    def __init__(self, fetcher: MediaFetcher) -> None:
        self._fetcher = fetcher
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        addresses = self._fetcher.checked_addresses(host, port)
        deadline = self._fetcher.deadline_at
        failure: Exception | None = None
        for address in addresses:  # every one was checked; connect to the first that answers
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise httpcore2.ConnectTimeout("the fetch's overall deadline passed")
                timeout = remaining if timeout is None else min(timeout, remaining)
            try:
                stream = self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, lambda: self._fetcher.deadline_at)
        raise failure or httpcore2.ConnectError(f"{host} resolves to no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        raise _AddressRefused(path, "a local socket")


class _PinnedTransport(httpx2.HTTPTransport):
    def __init__(self, backend: _PinnedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx2's transport takes no network backend, so its connection pool is replaced by one that
        # uses ours (the same construction HTTPTransport does, plus ``network_backend``).
        self._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_connections=4, keepalive_expiry=30.0
        )


def _mb(size: int) -> str:
    if size < MB:
        return f"{size:,} bytes"
    return f"{size / MB:,.1f} MB" if size % MB else f"{size // MB:,} MB"


class MediaFetcher:
    """Fetch media files under :class:`FetchLimits` (see the module docstring for every rule)."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        self._resolve = resolver or system_resolver
        self._allowed = tuple(ipaddress.ip_network(n, strict=False) for n in self.limits.allowed_networks)
        self.deadline_at: float | None = None  # time.monotonic() at which the current fetch gives up
        limits = self.limits
        self._client = httpx2.Client(
            transport=_PinnedTransport(_PinnedBackend(self), ssl_context or httpx2.create_ssl_context()),
            timeout=httpx2.Timeout(
                connect=limits.connect_timeout, read=limits.read_timeout, write=limits.read_timeout, pool=5.0
            ),
            follow_redirects=False,
            trust_env=False,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "image/*, video/*;q=0.9, */*;q=0.1",
                "Accept-Encoding": "identity",
            },
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MediaFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def checked_addresses(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to, all of them allowed; else :class:`_AddressRefused`."""
        try:
            addresses = list(self._resolve(host, port))
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from None
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            why = address_problem(ip, allow_loopback=self.limits.allow_loopback, allowed=self._allowed)
            if why is not None:
                raise _AddressRefused(str(ip), why)
        return addresses

    def fetch(self, url: str, kind: str) -> FetchedMedia:
        """Download ``url`` (a MediaRef of ``kind``) within the limits; MediaRefused, Transient, Permanent."""
        self.deadline_at = time.monotonic() + self.limits.deadline
        try:
            return self._follow(url, kind)
        finally:
            self.deadline_at = None
            self._client.cookies.clear()  # nothing one server set travels to the next fetch

    def _follow(self, url: str, kind: str) -> FetchedMedia:
        current = self._parse(url, url)
        seen = {str(current)}
        for _ in range(self.limits.max_redirects + 1):
            where = str(current) if str(current) == url else f"{current} (redirected from {url})"
            try:
                with self._client.stream("GET", current) as response:
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            raise Permanent(f"{where}: HTTP {response.status_code} without a Location")
                        current = self._parse(str(current.join(location)), url)
                        if str(current) in seen:
                            raise Permanent(f"{url}: redirect loop (back to {current})")
                        seen.add(str(current))
                        continue
                    _check_status(response, where)
                    return self._read(response, kind, where, str(current))
            except _AddressRefused as exc:
                raise MediaRefused(f"refused: {where} resolves to {exc.ip}, {exc.why}") from None
            except httpx2.TimeoutException as exc:
                if self.deadline_at is not None and time.monotonic() >= self.deadline_at:
                    limit = self.limits.deadline
                    raise Transient(f"{where}: took longer than the {limit:g} s a fetch may take") from None
                raise Transient(f"{where}: timed out ({exc or type(exc).__name__})") from None
            except httpx2.TransportError as exc:
                raise Transient(f"{where}: connection failed ({exc or type(exc).__name__})") from None
        raise Permanent(f"{url}: more than {self.limits.max_redirects} redirects")

    def _parse(self, text: str, original: str) -> httpx2.URL:
        try:
            parsed = httpx2.URL(text)
        except (httpx2.InvalidURL, ValueError, TypeError) as exc:
            raise MediaRefused(f"refused: {text!r} is not a valid URL ({exc})") from None
        hop = "" if text == original else f" (redirected from {original})"
        if parsed.scheme not in ("http", "https"):
            raise MediaRefused(f"refused: {text}{hop} is not an http(s) URL")
        if not parsed.host:
            raise MediaRefused(f"refused: {text}{hop} has no host")
        return parsed

    def _read(self, response: httpx2.Response, kind: str, where: str, final_url: str) -> FetchedMedia:
        limits = self.limits
        cap = limits.cap_for(kind)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise MediaRefused(
                f"refused: {where} is {_mb(int(declared))} (Content-Length), over the {_mb(cap)} limit"
            )
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise MediaRefused(f"refused: {where} was sent {encoding}-compressed (only identity is accepted)")
        claimed = response.headers.get("Content-Type", "none")
        body = bytearray()
        media_type: str | None = None
        for chunk in response.iter_raw():
            body += chunk
            if media_type is None and len(body) >= SNIFF_BYTES:
                media_type, cap = self._check_type(bytes(body[:SNIFF_BYTES]), cap, where, claimed)
            if len(body) > cap:
                raise MediaRefused(f"refused: {where} is larger than the {_mb(cap)} limit")
            if self.deadline_at is not None and time.monotonic() >= self.deadline_at:
                raise httpx2.ReadTimeout("the fetch's overall deadline passed")
        if not body:
            raise Permanent(f"{where}: the server sent an empty body")
        if media_type is None:
            media_type, cap = self._check_type(bytes(body), cap, where, claimed)
            if len(body) > cap:
                raise MediaRefused(f"refused: {where} is larger than the {_mb(cap)} limit")
        data = bytes(body)
        return FetchedMedia(
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            media_type=media_type,
            final_url=final_url,
        )

    def _check_type(self, head: bytes, cap: int, where: str, claimed: str) -> tuple[str, int]:
        media_type = sniff_media_type(head)
        if media_type is None:
            raise MediaRefused(
                f"refused: {where} is not a recognised image or video (the server said {claimed})"
            )
        if media_type not in self.limits.allowed_types:
            why = _WHY_NOT.get(media_type, "")
            raise MediaRefused(
                f"refused: {where} is {media_type}, not an allowed media type{why} "
                f"(the server said {claimed})"
            )
        if media_type.startswith("image/"):
            cap = min(cap, self.limits.max_image_bytes)
        return media_type, cap


def _check_status(response: httpx2.Response, where: str) -> None:
    status = response.status_code
    if status == 200:
        return
    if status in (408, 425, 429) or status >= 500:
        raise Transient(f"{where}: HTTP {status}", retry_after=retry_after_seconds(response))
    raise Permanent(f"{where}: HTTP {status} {response.reason_phrase}".rstrip())
