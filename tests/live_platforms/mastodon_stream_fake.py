"""A loopback fake Mastodon instance with its streaming WebSocket, replaying the CC0 hashtag timeline.

REST (``/api/v2/instance``, public, hashtag and list timelines) is the fake of ``conftest.py``; the
streaming server is a separate ``websockets`` server on its own port, advertised as
``configuration.urls.streaming`` the way real instances advertise their streaming host. ``post(n)``
makes the next n statuses appear on the REST timeline and sends each as an ``update`` frame to every
connection subscribed to the hashtag, as an instance does; while no client is connected they appear
on REST only. Both bind 127.0.0.1 on free ports in threads of the test process.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import ThreadingHTTPServer

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.sync.server import Server, ServerConnection, serve

from tests.live_platforms.conftest import MASTODON_TIMELINE, FakeMastodon, Reply, Request, _handler_for

TOKEN = "user-token-read-statuses"  # a made-up test token
TAG = "flood"


@dataclass
class StreamClient:
    """One streaming connection: its handshake's Authorization and the subscribe messages it sent."""

    ws: ServerConnection
    authorization: str | None
    subscriptions: list[dict[str, object]] = field(default_factory=list)

    def wants(self, stream: list[str]) -> bool:
        for sub in self.subscriptions:
            if sub.get("stream") == stream[0] and (
                len(stream) == 1 or stream[1] in (sub.get("tag"), sub.get("list"))
            ):
                return True
        return False


@dataclass
class FakeMastodonStreaming(FakeMastodon):
    """FakeMastodon plus ``/api/v2/instance``, list timelines and the streaming WebSocket."""

    ws_url: str = ""
    clients: list[StreamClient] = field(default_factory=list)
    on_timeline: Callable[[], None] | None = None  # run (once) when the next timeline request arrives
    error_frame: bytes | None = None  # sent instead of any stream after a subscribe (a refusal)
    dropped: int = 0  # the first ``dropped`` clients were cut off by drop(): they get no more frames
    changed: threading.Condition = field(default_factory=threading.Condition)

    def respond(self, path: str, params: dict[str, str], authorization: str | None) -> Reply:
        if path == "/api/v2/instance":
            self.requests.append(Request(path=path, params=params, authorization=authorization))
            if self.token is not None and authorization != f"Bearer {self.token}":
                return Reply(401, b'{"error":"The access token is invalid"}')
            body = {"domain": "mastodon.example", "configuration": {"urls": {"streaming": self.ws_url}}}
            return Reply(200, orjson.dumps(body))
        if path.startswith("/api/v1/timelines/") and self.on_timeline is not None:
            hook, self.on_timeline = self.on_timeline, None
            hook()
        if path.startswith("/api/v1/timelines/list/"):  # one timeline of statuses serves every list here
            reply = super().respond("/api/v1/timelines/public", params, authorization)
            self.requests[-1].path = path
            return reply
        return super().respond(path, params, authorization)

    # --- streaming ---------------------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        if not request.path.startswith("/api/v1/streaming"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, '{"error":"Missing access token"}\n')
        return None

    def handler(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        client = StreamClient(ws=ws, authorization=request.headers.get("Authorization"))
        with self.changed:
            self.clients.append(client)
            self.changed.notify_all()
        try:
            for message in ws:
                subscription = orjson.loads(message)
                assert isinstance(subscription, dict)
                with self.changed:
                    client.subscriptions.append(subscription)
                    self.changed.notify_all()
                if self.error_frame is not None:
                    ws.send(self.error_frame.decode(), text=True)
        except ConnectionClosed:
            pass

    def wait_subscribed(self, connections: int, streams: int = 1, timeout: float = 5.0) -> StreamClient:
        """Wait until ``connections`` clients connected and the last one sent ``streams`` subscribes."""
        with self.changed:
            ready = self.changed.wait_for(
                lambda: (
                    len(self.clients) >= connections
                    and len(self.clients[connections - 1].subscriptions) >= streams
                ),
                timeout=timeout,
            )
        assert ready, f"no subscribed connection #{connections}"
        return self.clients[connections - 1]

    def post(self, count: int) -> list[dict[str, object]]:
        """Make ``count`` more statuses visible and stream each to the clients subscribed to the tag."""
        new = self.statuses[self.visible : self.visible + count]
        for status in new:
            self.visible += 1
            frame = {"stream": ["hashtag", TAG], "event": "update", "payload": orjson.dumps(status).decode()}
            self.send(orjson.dumps(frame), stream=["hashtag", TAG])
        return new

    def send(self, frame: bytes, *, stream: list[str] | None = None) -> None:
        """Send one raw frame to every open connection (subscribed to ``stream`` when given)."""
        for client in self.clients[self.dropped :]:
            if stream is not None and not client.wants(stream):
                continue
            with contextlib.suppress(ConnectionClosed):
                client.ws.send(frame.decode(errors="replace"), text=True)

    def drop(self) -> None:
        """Break every open connection abruptly (a network failure, not a polite close)."""
        for client in list(self.clients):
            with contextlib.suppress(OSError):
                client.ws.socket.shutdown(socket.SHUT_RDWR)
        self.dropped = len(self.clients)


@pytest.fixture
def streaming() -> Iterator[FakeMastodonStreaming]:
    """The fake instance and its streaming server; 5 of the 12 CC0 statuses visible, a token required."""
    statuses = list(reversed(orjson.loads(MASTODON_TIMELINE.read_bytes())))
    fake = FakeMastodonStreaming(statuses=statuses, visible=5, token=TOKEN)
    rest = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{rest.server_address[1]}"
    ws_server: Server = serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request)
    fake.ws_url = f"ws://127.0.0.1:{ws_server.socket.getsockname()[1]}"
    threads = [
        threading.Thread(target=rest.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True),
        threading.Thread(target=ws_server.serve_forever, daemon=True),
    ]
    for thread in threads:
        thread.start()
    yield fake
    ws_server.shutdown()
    rest.shutdown()
    rest.server_close()
    for thread in threads:
        thread.join(timeout=5)
