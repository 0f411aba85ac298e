"""`watchfloor serve --workers 2`: two server processes on one port and one SQLite store.

Each process has its own writer queue, so the processes meet at SQLite's write lock; every page view
must still record exactly one audit event and the log must still verify.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

from tests.net import free_port
from tests.web.conftest import PASSWORD, make_web
from watchfloor.domain.actor import Actor
from watchfloor.services.audit import verify_log
from watchfloor.web.server import TcpListenerConfig

AUDREY = Actor(name="audrey", roles=frozenset({"auditor"}))


def _serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), "serve"]
    return subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1].decode()
        try:
            if httpx2.get(f"{base}/login", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.2)
    raise AssertionError("the console did not start")


def test_two_workers_serve_pages_and_record_one_event_each(tmp_path: Path) -> None:
    web = make_web(tmp_path)
    db = Path(web.ctx.settings.database_url)
    with web.ctx.store.transaction() as tx:
        before = tx.audit_size()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(db, port)
    try:
        _wait_until_up(base, server)
        clients = [httpx2.Client(base_url=base, follow_redirects=False, timeout=30.0) for _ in range(4)]
        for client in clients:
            assert client.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 303
        for _ in range(5):
            for client in clients:
                assert client.get("/").status_code == 200
        for client in clients:
            client.close()
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()
    with web.ctx.store.transaction() as tx:
        actions = [e.action for e in tx.audit_events(limit=1000) if e.seq >= before]
    assert actions.count("alerts.list") == 20  # one per queue page
    assert actions.count("auth.login") == 4
    assert verify_log(web.ctx, actor=AUDREY).ok
    web.ctx.store.close()


def test_the_workers_listener_gives_every_connection_tcp_nodelay() -> None:
    """Without TCP_NODELAY each small response on a kept-alive connection waits ~40 ms for the client's
    delayed ACK (uvicorn issue #3149): asyncio sets it only on sockets that say IPPROTO_TCP."""
    config = TcpListenerConfig("watchfloor.web.app:create_app", factory=True, host="127.0.0.1", port=0)
    listener = config.bind_socket()
    assert listener.proto == socket.IPPROTO_TCP

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, timeout=10)
        finally:
            writer.close()
            server.close()

    # In a thread of its own: another test in the session may leave an event loop set on this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, accepted_nodelay()).result(timeout=30) == 1
