"""A loopback fake of the TikTok Research API: the client-credentials token and the video query.

It serves the constructed videos of tests/fixtures/tiktok_research/videos.json (shaped after TikTok's
documented video object; no real content), filtered by the query's and/or/not conditions and the
``start_date``..``end_date`` window, paged by ``cursor`` and ``search_id``, with only the requested
``fields``. It checks what the real API checks (dates at most 30 days apart, ``max_count`` at most 100,
a live bearer token, a known search id, the daily request quota) and answers with the API's error
codes. It binds 127.0.0.1 on a free port in a thread of the test process; nothing touches the internet.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from tests.live_platforms.conftest import Reply

VIDEOS = Path(__file__).parent.parent / "fixtures" / "tiktok_research" / "videos.json"
CLIENT_KEY, CLIENT_SECRET = "approved-client-key", "approved-client-secret"


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"data": {}, "error": {"code": code, "message": message, "log_id": "20261130120000FAKE"}}
    return Reply(status, orjson.dumps(body), headers or {})


@dataclass
class Query:
    """One video query as the fake received it."""

    fields: list[str]
    body: dict[str, Any]
    authorization: str | None


@dataclass
class FakeTikTok:
    """``POST /v2/oauth/token/`` and ``POST /v2/research/video/query/`` (see the module docstring).

    ``hidden`` video ids are not indexed yet (``index(id)`` makes one appear, as late indexing does).
    ``faults`` are served first, one per query; ``fault_at[n]`` answers the n-th query. Tokens are
    "clt.token-1", "clt.token-2", ...; ``revoke()`` makes the current one answer 401.
    ``expire_searches()`` forgets every search id.
    ``daily_limit`` queries are answered per fake day; then ``daily_quota_limit_exceeded``.
    """

    videos: list[dict[str, Any]]
    hidden: set[int] = field(default_factory=set)
    omit: dict[int, set[str]] = field(default_factory=dict)  # video id -> fields left out of answers
    faults: list[Reply] = field(default_factory=list)
    fault_at: dict[int, Reply] = field(default_factory=dict)  # query number (1-based) -> its answer
    queries: list[Query] = field(default_factory=list)
    grants: list[dict[str, str]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    searches: dict[str, list[int]] = field(default_factory=dict)
    daily_limit: int = 1000
    used: int = 0
    expires_in: int = 7200
    url: str = ""

    def index(self, video_id: int) -> None:
        self.hidden.discard(video_id)

    def revoke(self) -> None:
        self.revoked.add(f"clt.token-{len(self.grants)}")

    def expire_searches(self) -> None:
        self.searches.clear()

    def token(self, form: dict[str, str]) -> Reply:
        if (form.get("client_key"), form.get("client_secret")) != (CLIENT_KEY, CLIENT_SECRET):
            body = {"error": "invalid_client", "error_description": "Client key or secret is incorrect."}
            return Reply(401, orjson.dumps(body))
        if form.get("grant_type") != "client_credentials":
            return Reply(400, orjson.dumps({"error": "invalid_grant", "error_description": "bad grant"}))
        self.grants.append(form)
        granted: dict[str, object] = {
            "access_token": f"clt.token-{len(self.grants)}",
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }
        return Reply(200, orjson.dumps(granted))

    def query(self, fields: list[str], body: dict[str, Any], authorization: str | None) -> Reply:
        self.queries.append(Query(fields=fields, body=body, authorization=authorization))
        if self.faults:
            return self.faults.pop(0)
        if len(self.queries) in self.fault_at:
            return self.fault_at.pop(len(self.queries))
        token = (authorization or "").removeprefix("Bearer ")
        if not token.startswith("clt.token-") or token in self.revoked:
            return error(
                401, "access_token_invalid", "The access token is invalid or not found in the request."
            )
        self.used += 1
        if self.used > self.daily_limit:
            return error(429, "daily_quota_limit_exceeded", "Daily quota limit exceeded.")
        try:
            start = datetime.strptime(body["start_date"], "%Y%m%d").replace(tzinfo=UTC)
            end = datetime.strptime(body["end_date"], "%Y%m%d").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return error(400, "invalid_params", "start_date and end_date are required, YYYYMMDD")
        if not 0 <= (end - start).days <= 30:
            return error(
                400, "invalid_params", "The end_date must be no more than 30 days after the start_date"
            )
        if not 1 <= int(body.get("max_count", 20)) <= 100:
            return error(400, "invalid_params", "max_count must be from 1 to 100")
        search_id = body.get("search_id")
        if search_id is not None and search_id not in self.searches:
            return error(400, "invalid_params", f"Search Id {search_id} is invalid or expired")
        if search_id is None:
            search_id = f"7{len(self.searches) + 1:018d}"
            self.searches[search_id] = [v["id"] for v in self._matching(body, start, end)]
        found = self.searches[search_id]
        cursor = int(body.get("cursor", 0))
        page_ids = found[cursor : cursor + int(body.get("max_count", 20))]
        by_id = {v["id"]: v for v in self.videos}
        page = [
            {k: v for k, v in by_id[i].items() if k in fields and k not in self.omit.get(i, ())}
            for i in page_ids
        ]
        data = {
            "videos": page,
            "cursor": cursor + len(page),
            "has_more": cursor + len(page) < len(found),
            "search_id": search_id,
        }
        return Reply(
            200, orjson.dumps({"data": data, "error": {"code": "ok", "message": "", "log_id": "FAKE"}})
        )

    def _matching(self, body: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
        query = body.get("query", {})
        found = []
        for video in self.videos:
            if video["id"] in self.hidden:
                continue
            day = datetime.fromtimestamp(video["create_time"], tz=UTC).replace(hour=0, minute=0, second=0)
            if not start <= day <= end:
                continue
            if query.get("or") and not any(_holds(c, video) for c in query["or"]):
                continue
            if not all(_holds(c, video) for c in query.get("and", [])):
                continue
            if any(_holds(c, video) for c in query.get("not", [])):
                continue
            found.append(video)
        return sorted(found, key=lambda v: v["create_time"])


def _holds(condition: dict[str, Any], video: dict[str, Any]) -> bool:
    values = [str(v).lower() for v in condition["field_values"]]
    field_name = condition["field_name"]
    if field_name == "keyword":
        return any(v in video["video_description"].lower() for v in values)
    if field_name == "hashtag_name":
        return any(v in [h.lower() for h in video["hashtag_names"]] for v in values)
    if field_name in ("username", "region_code"):
        return str(video[field_name]).lower() in values
    raise AssertionError(f"the fake does not know field {field_name}")


def _handler_for(fake: FakeTikTok) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if parts.path == "/v2/oauth/token/":
                form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                self._send(fake.token(form))
            elif parts.path == "/v2/research/video/query/":
                fields = parse_qs(parts.query).get("fields", [""])[-1].split(",")
                self._send(fake.query(fields, orjson.loads(raw), self.headers.get("Authorization")))
            else:
                self._send(error(404, "not_found", "no such endpoint"))

        def do_GET(self) -> None:
            self._send(error(405, "method_not_allowed", "the research API is POST only"))

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def tiktok() -> Iterator[FakeTikTok]:
    """A fake TikTok Research API on 127.0.0.1 serving the 17 constructed videos."""
    fake = FakeTikTok(videos=orjson.loads(VIDEOS.read_bytes()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
