"""Running the console under uvicorn with several worker processes.

uvicorn's multi-process supervisor binds the listening socket itself, with the protocol left at 0;
accepted connections inherit it, and asyncio turns on ``TCP_NODELAY`` only for sockets that say
``IPPROTO_TCP``. Nagle's algorithm then holds the last small segment of every response on a kept-alive
connection until the browser's delayed ACK: about 40 ms on Linux for every page after the first
(uvicorn issue #3149; measured here: a static file 2.7 ms with one process, 44 ms with two). The
listener is re-declared as TCP on the same file descriptor, so every connection gets ``TCP_NODELAY``.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


class TcpListenerConfig(uvicorn.Config):
    """uvicorn's settings, with a listener whose connections get ``TCP_NODELAY`` (see above)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def run_workers(app: str, *, workers: int, host: str, port: int) -> None:
    """Serve the app factory ``app`` ("module:function") from ``workers`` processes on one port."""
    config = TcpListenerConfig(
        app, factory=True, workers=workers, host=host, port=port, log_level="warning", proxy_headers=False
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
