"""A loopback fake feed server (one thread) that replays recorded feeds and injects faults on demand.

Routes: ``/rss2.xml``, ``/atom.xml``, ``/feed.json`` (the fixtures in tests/fixtures/rss, each with an
ETag, answered 304 when the client sends it back) and ``/paged?page=N`` (a forward-paged Atom feed of
``paged_total`` generated entries, ``PAGE`` per page, for the kill test). ``server.fail(path, fault)``
makes the next request to ``path`` fail once: ``"429"`` (Retry-After: 7), ``"500"``, ``"slow"``
(answers after ``slow_seconds``), ``"malformed"`` (an HTML error page instead of the feed).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rss"
PAGE = 500  # entries per page of /paged
_TYPES = {".xml": "application/xml", ".json": "application/feed+json"}


def paged_entry_text(i: int) -> str:
    """The text of generated entry ``i``: every 97th mentions a flood (the kill test's rule matches it)."""
    return f"flood warning number {i}" if i % 97 == 0 else f"quiet update number {i}"


def paged_document(page: int, total: int, base: str) -> bytes:
    first, last = page * PAGE, min(total, (page + 1) * PAGE)
    entries = "".join(
        f"<entry><id>urn:fake:{i}</id><title>item {i}</title><updated>2026-11-30T10:00:00Z</updated>"
        f"<content>{paged_entry_text(i)}</content></entry>"
        for i in range(first, last)
    )
    following = f'<link rel="next" href="{base}/paged?page={page + 1}"/>' if last < total else ""
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Paged</title>'
        f"<id>urn:fake</id><updated>2026-11-30T10:00:00Z</updated>{following}{entries}</feed>"
    ).encode()


class FakeFeeds(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.slow_seconds = 1.5
        self.paged_total = 0
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def fail(self, path: str, fault: str) -> None:
        with self.lock:
            self.faults[path] = fault


class _Handler(BaseHTTPRequestHandler):
    server: FakeFeeds

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.server.lock:
            self.server.requests.append((self.path, dict(self.headers.items())))
            fault = self.server.faults.pop(parts.path, None)
        if fault == "429":
            return self._send(429, b"slow down", {"Retry-After": "7"})
        if fault == "500":
            return self._send(500, b"oops")
        if fault == "slow":
            time.sleep(self.server.slow_seconds)
        if fault == "malformed":
            return self._send(200, b"<html><body><h1>Maintenance", {"Content-Type": "text/html"})
        if parts.path == "/paged":
            page = int(parse_qs(parts.query).get("page", ["0"])[0])
            body = paged_document(page, self.server.paged_total, self.server.base)
            return self._send(200, body, {"Content-Type": "application/atom+xml"})
        file = FIXTURES / parts.path.lstrip("/")
        if not parts.path.lstrip("/") or not file.is_file():
            return self._send(404, b"not found")
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, headers={"ETag": etag})
        headers = {"Content-Type": _TYPES.get(file.suffix, "application/octet-stream"), "ETag": etag}
        headers["Last-Modified"] = "Mon, 30 Nov 2026 11:00:00 GMT"
        return self._send(200, body, headers)


@pytest.fixture
def feeds() -> Iterator[FakeFeeds]:
    server = FakeFeeds()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


from tests.services_layer.conftest import ctx  # noqa: E402, F401  (the service context on both stores)
