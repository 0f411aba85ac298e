"""A loopback media server (threads, random port) serving real small images and videos, and hostile routes.

Good files: ``/red.png``, ``/blue.jpg``, ``/green.png``, ``/clip.mp4`` (when ffmpeg made one): bytes
generated at test time with Pillow and ``ffmpeg -f lavfi``. Hostile and faulty routes:

* ``/big-declared`` — a Content-Length of 500 MB (refused before reading);
* ``/big-chunked`` — a JPEG that never ends, chunked, no Content-Length (cut at the limit);
* ``/html-as-jpeg`` — an HTML page labelled image/jpeg;  ``/svg`` — an SVG image;
* ``/gzip.png`` — a PNG sent gzip-compressed;  ``/empty`` — 200 with no body;
* ``/redirect?to=URL`` — 302 to URL;  ``/loop-a`` <-> ``/loop-b`` — a redirect loop;
* ``/drip`` — a JPEG's bytes one every ``drip_seconds`` (slowloris body);
  ``/drip-headers`` — the status line and headers dripped the same way;
* ``/flaky`` — HTTP 500 for the first ``flaky_failures`` requests, then ``red.png``;
  ``/always-500``; ``/busy`` — 429 with Retry-After: 600; ``/gone`` — 404; ``/gone410`` — 410.

Every request is recorded (path and Host header) so tests can say what was, and was not, fetched.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image

HTML = b"<!DOCTYPE html><html><head><title>Not Found</title></head><body>nothing here</body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'


def image_bytes(colour: str, fmt: str, size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def make_mp4() -> bytes | None:
    """A one-second 64x48 test-pattern MP4, or None when ffmpeg is not installed."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "clip.mp4"
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=1:size=64x48:rate=5",
                "-pix_fmt",
                "yuv420p",
                "-y",
                str(target),
            ],
            check=True,
            timeout=60,
        )
        return target.read_bytes()


class MediaServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, mp4: bytes | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, tuple[str, bytes]] = {
            "/red.png": ("image/png", image_bytes("red", "PNG")),
            "/green.png": ("image/png", image_bytes("green", "PNG")),
            "/blue.jpg": ("image/jpeg", image_bytes("blue", "JPEG")),
        }
        if mp4 is not None:
            self.files["/clip.mp4"] = ("video/mp4", mp4)
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.flaky_failures = 1
        self.drip_seconds = 0.2
        self.lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def start(self) -> MediaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: MediaServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with self.server.lock:
            self.server.requests.append((path, self.headers.get("Host", "")))
            hits = sum(1 for p, _ in self.server.requests if p == path)
        with contextlib.suppress(
            BrokenPipeError, ConnectionResetError
        ):  # the fetcher hung up: often the point
            self._route(path, query, hits)

    def _route(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        files = self.server.files
        if path in files:
            content_type, body = files[path]
            self._send(200, body, content_type)
        elif path == "/flaky":
            if hits <= self.server.flaky_failures:
                self._send(500, b"try later", "text/plain")
            else:
                self._send(200, files["/red.png"][1], "image/png")
        elif path == "/always-500":
            self._send(500, b"broken", "text/plain")
        elif path == "/busy":
            self._send(429, b"slow down", "text/plain", Retry_After="600")
        elif path == "/gone":
            self._send(404, b"not found", "text/plain")
        elif path == "/gone410":
            self._send(410, b"gone", "text/plain")
        elif path == "/html-as-jpeg":
            self._send(200, HTML, "image/jpeg")
        elif path == "/svg":
            self._send(200, SVG, "image/svg+xml")
        elif path == "/empty":
            self._send(200, b"", "image/png")
        elif path == "/gzip.png":
            self._send(200, gzip.compress(files["/red.png"][1]), "image/png", Content_Encoding="gzip")
        elif path == "/redirect":
            self._redirect(query["to"][0])
        elif path == "/loop-a":
            self._redirect("/loop-b")
        elif path == "/loop-b":
            self._redirect("/loop-a")
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(500_000_000))
            self.end_headers()
            self.wfile.write(files["/blue.jpg"][1])
        elif path == "/big-chunked":
            self._endless()
        elif path == "/drip":
            self._drip_body()
        elif path == "/drip-headers":
            self._drip_headers()
        else:
            self._send(404, b"no such route", "text/plain")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"\xff\xd8\xff\xe0" + b"\x00" * 65_532
        for _ in range(2_000):  # 128 MB at most, should the client never hang up
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")

    def _drip_body(self) -> None:
        body = self.server.files["/blue.jpg"][1]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(self.server.drip_seconds)

    def _drip_headers(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n" + b"X-Padding: " + b"a" * 4000 + b"\r\n\r\n"
        for byte in head:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(self.server.drip_seconds)
        self.close_connection = True
