"""A loopback fake of Telegram's channel web preview (``/s/<channel>``), serving the golden page's blocks.

The golden page (tests/fixtures/telegram_web/channel_page.html, constructed from the public t.me/s
markup) is split into its shell and its message blocks; the fake answers ``/s/<channel>`` with the
newest ``page_size`` visible blocks, ``?after=N`` with the oldest visible blocks after message N and
``?before=N`` with the newest before it, each inside the same shell, as t.me does. It binds 127.0.0.1
on a free port in a thread of the test process; nothing touches the internet.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.live_platforms.conftest import Reply

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram_web"
GOLDEN = FIXTURES / "channel_page.html"
CHANNEL = "floodwatch_demo"
CHANNEL_ID = "1234567890"
_HISTORY = '<section class="tgme_channel_history js-message_history">'
_WRAP = '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
_POST = re.compile(r'data-post="[^/"]+/(\d+)"')


def split_golden() -> tuple[str, list[str], str]:
    """The golden page as (shell before the blocks, the blocks oldest first, shell after them)."""
    page = GOLDEN.read_text(encoding="utf-8")
    head, _, rest = page.partition(_HISTORY)
    history, _, tail = rest.rpartition("</section>")
    first = history.index(_WRAP)
    blocks = [_WRAP + b.rstrip() for b in history[first:].split(_WRAP) if b.strip()]
    return head + _HISTORY + "\n", blocks, "\n</section>" + tail


def block_id(block: str) -> int:
    found = _POST.search(block)
    assert found is not None
    return int(found.group(1))


@dataclass
class FakeTelegramWeb:
    """``GET /s/<channel>`` pages of the golden blocks; faults first, one per request.

    ``visible`` blocks (the oldest N) are served; ``publish(n)`` makes n more appear. ``delay``
    seconds before each answer (slow responses); a fault with status 0 closes the connection
    unanswered (a disconnect). Any other channel is redirected to ``/<channel>``, as t.me does for a
    channel without a public preview.
    """

    head: str
    blocks: list[str]
    tail: str
    visible: int = 0
    page_size: int = 20
    faults: list[Reply] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0
    url: str = ""

    def publish(self, count: int) -> None:
        self.visible = min(len(self.blocks), self.visible + count)

    def respond(self, path: str, params: dict[str, str]) -> Reply:
        self.requests.append(params)
        if self.delay:
            time.sleep(self.delay)
        if self.faults:
            return self.faults.pop(0)
        if path != f"/s/{CHANNEL}":
            return Reply(302, b"", {"Location": f"https://t.me{path.removeprefix('/s')}"})
        shown = self.blocks[: self.visible]
        if "after" in params:
            shown = [b for b in shown if block_id(b) > int(params["after"])][: self.page_size]
        elif "before" in params:
            shown = [b for b in shown if block_id(b) < int(params["before"])][-self.page_size :]
        else:
            shown = shown[-self.page_size :]
        return Reply(200, self.page(shown), {"Content-Type": "text/html; charset=utf-8"})

    def page(self, blocks: list[str]) -> bytes:
        more = ""
        if blocks:
            first = block_id(blocks[0])
            more = (
                f'<div class="tme_messages_more js-messages_more_wrap"><a href="/s/{CHANNEL}?before={first}" '
                f'class="tme_messages_more js-messages_more" data-before="{first}"></a></div>\n'
            )
        return (self.head + more + "\n".join(blocks) + self.tail).encode()


def _handler_for(fake: FakeTelegramWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            reply = fake.respond(parts.path, params)
            if reply.status == 0:  # a disconnect: the connection closes before any answer
                self.close_connection = True
                return
            self.send_response(reply.status)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up waiting
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def telegram() -> Iterator[FakeTelegramWeb]:
    """A fake t.me on 127.0.0.1 serving the golden channel; 8 of its 13 blocks visible at the start."""
    head, blocks, tail = split_golden()
    fake = FakeTelegramWeb(head=head, blocks=blocks, tail=tail, visible=8)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
