"""Loopback fake platform servers for the live connectors: they replay recorded payloads and inject faults.

Nothing here touches the internet: every server binds 127.0.0.1 on a free port, in a thread of the
test process, and is shut down when its test ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import pytest
from websockets.sync.server import Server, ServerConnection, serve

FIXTURES = Path(__file__).parent.parent / "fixtures"
JETSTREAM_REAL = FIXTURES / "bluesky" / "jetstream_v1.jsonl"  # 152 recorded events (MIT/Apache-2.0)
JETSTREAM_CONSTRUCTED = FIXTURES / "bluesky" / "constructed.jsonl"  # CC0 shapes the sample lacks
MASTODON_TIMELINE = FIXTURES / "mastodon_live" / "tag_flood.json"  # CC0, 12 statuses newest first


def jetstream_frames() -> list[bytes]:
    """The recorded and constructed Jetstream events, byte for byte, one frame each."""
    lines: list[bytes] = []
    for path in (JETSTREAM_REAL, JETSTREAM_CONSTRUCTED):
        lines += [line for line in path.read_bytes().splitlines() if line.strip()]
    return lines


def time_us(frame: bytes) -> int:
    value = orjson.loads(frame)["time_us"]
    assert isinstance(value, int)
    return value


@dataclass
class Connection:
    """What one client connection asked for and was sent."""

    params: dict[str, list[str]]
    sent: list[bytes] = field(default_factory=list)

    @property
    def cursor(self) -> int | None:
        values = self.params.get("cursor")
        return int(values[0]) if values else None


@dataclass
class FakeJetstream:
    """A Jetstream ``/subscribe`` replaying ``frames`` in ``time_us`` order, honouring filters and cursor.

    Faults: ``drop_after[n]`` closes connection ``n`` (0-based) abruptly after that many frames;
    ``inject`` maps a position in the replay to extra raw frames sent before it (malformed frames have
    no ``time_us`` and are sent whatever the cursor); ``delay`` seconds between frames (slow frames);
    ``floor_us`` is the oldest event kept, so an older cursor silently starts there (cursor too old).
    After the last frame the connection stays open, as a live stream with nothing new does.
    """

    frames: list[bytes]
    drop_after: dict[int, int] = field(default_factory=dict)
    inject: dict[int, list[bytes]] = field(default_factory=dict)
    delay: float = 0.0
    floor_us: int | None = None
    connections: list[Connection] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self.frames = sorted(self.frames, key=time_us)  # a replay from Jetstream's store is in time order

    def handler(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        parts = urlsplit(request.path)
        assert parts.path == "/subscribe", parts.path
        connection = Connection(params=parse_qs(parts.query))
        number = len(self.connections)
        self.connections.append(connection)
        for frame in self._replay(connection):
            if number in self.drop_after and len(connection.sent) >= self.drop_after[number]:
                ws.socket.shutdown(socket.SHUT_RDWR)  # a network failure, not a polite close
                return
            if self.delay:
                time.sleep(self.delay)
            ws.send(frame, text=True)
            connection.sent.append(frame)
        for _ in ws:  # hold the stream open until the client goes away
            pass

    def _replay(self, connection: Connection) -> Iterator[bytes]:
        collections = connection.params.get("wantedCollections", [])
        dids = set(connection.params.get("wantedDids", []))
        start = connection.cursor
        if start is not None and self.floor_us is not None:
            start = max(start, self.floor_us)
        elif self.floor_us is not None:
            start = self.floor_us
        for position, frame in enumerate(self.frames):
            yield from self.inject.get(position, [])
            event = orjson.loads(frame)
            if start is not None and event["time_us"] < start:
                continue
            if dids and event["did"] not in dids:
                continue
            if event["kind"] == "commit" and collections and not _wanted(event, collections):
                continue
            yield frame

    @property
    def sent(self) -> list[bytes]:
        return [frame for c in self.connections for frame in c.sent]


def _wanted(event: dict[str, object], collections: list[str]) -> bool:
    commit = event["commit"]
    assert isinstance(commit, dict)
    nsid = str(commit["collection"])
    return any(nsid == c or (c.endswith(".*") and nsid.startswith(c[:-1])) for c in collections)


@pytest.fixture
def jetstream() -> Iterator[FakeJetstream]:
    """A fake Jetstream on 127.0.0.1 replaying the recorded frames; tests set its faults before connecting."""
    fake = FakeJetstream(frames=jetstream_frames())
    server: Server = serve(fake.handler, "127.0.0.1", 0)
    port = server.socket.getsockname()[1]
    fake.url = f"ws://127.0.0.1:{port}/subscribe"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    thread.join(timeout=5)


# --- Mastodon ------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One injected response: status, headers, body (used once, in order, before normal service)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    path: str
    params: dict[str, str]
    authorization: str | None


@dataclass
class FakeMastodon:
    """A Mastodon timeline API: ``statuses`` paged by ``limit``/``min_id``/``since_id``/``max_id`` and Link.

    ``visible`` statuses (the oldest N) are served; ``publish(n)`` makes n more appear, as new posts do.
    ``faults`` are served first, one per request. Every response carries ``X-RateLimit-Remaining``
    (``remaining``, decremented per request) and ``X-RateLimit-Reset`` (``reset``). ``token``, when set,
    is required as a Bearer token (401 otherwise).
    """

    statuses: list[dict[str, object]]  # oldest first
    visible: int = 0
    faults: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    remaining: int = 300
    reset: str = "2026-11-30T12:05:00.000Z"
    token: str | None = None
    url: str = ""

    def publish(self, count: int) -> None:
        self.visible = min(len(self.statuses), self.visible + count)

    def respond(self, path: str, params: dict[str, str], authorization: str | None) -> Reply:
        self.requests.append(Request(path=path, params=params, authorization=authorization))
        self.remaining -= 1
        if self.faults:
            return self.faults.pop(0)
        if self.token is not None and authorization != f"Bearer {self.token}":
            return Reply(401, b'{"error":"The access token is invalid"}')
        if not path.startswith(("/api/v1/timelines/tag/", "/api/v1/timelines/public")):
            return Reply(404, b'{"error":"Record not found"}')
        page = self._page(params)
        headers = {}
        if page:
            base = self.url + path
            newest, oldest = page[0]["id"], page[-1]["id"]
            headers["Link"] = (
                f'<{base}?{urlencode({"max_id": oldest})}>; rel="next", '
                f'<{base}?{urlencode({"min_id": newest})}>; rel="prev"'
            )
        return Reply(200, orjson.dumps(page), headers)

    def _page(self, params: dict[str, str]) -> list[dict[str, object]]:
        limit = int(params.get("limit", "20"))
        shown = list(self.statuses[: self.visible])
        if "max_id" in params:
            shown = [s for s in shown if int(str(s["id"])) < int(params["max_id"])]
        if "min_id" in params:  # the statuses right after min_id, oldest of them first
            shown = [s for s in shown if int(str(s["id"])) > int(params["min_id"])][:limit]
        if "since_id" in params:
            shown = [s for s in shown if int(str(s["id"])) > int(params["since_id"])]
        return list(reversed(shown[-limit:]))  # newest first


def _handler_for(fake: FakeMastodon) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            reply = fake.respond(parts.path, params, self.headers.get("Authorization"))
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("X-RateLimit-Limit", "300")
            self.send_header("X-RateLimit-Remaining", str(max(0, fake.remaining)))
            self.send_header("X-RateLimit-Reset", fake.reset)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    """A fake Mastodon instance on 127.0.0.1 with the CC0 timeline; 5 statuses visible at the start."""
    statuses = list(reversed(orjson.loads(MASTODON_TIMELINE.read_bytes())))
    fake = FakeMastodon(statuses=statuses, visible=5)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
