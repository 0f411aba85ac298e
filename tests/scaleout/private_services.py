"""A NATS server and a PostgreSQL cluster of one test's own, which the test may stop and start again.

The restart tests must not stop the machine's shared servers (other tests use them at the same
time), so they start private ones on free ports: ``nats-server -js`` with its own storage directory
(the stream survives a restart on disk) and a PostgreSQL cluster made by ``initdb`` in a temporary
directory (``pg_ctl stop -m immediate`` is a crash: the restart runs crash recovery). PostgreSQL
refuses to run as root, so as root the cluster belongs to the ``postgres`` user and every command runs
through ``runuser``. When a program is missing the test is skipped, or fails in CI
(WATCHFLOOR_REQUIRE_SERVICES=1), as for the shared services (tests/services.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.net import free_port
from tests.services import REQUIRED

NATS_SERVER = "/usr/sbin/nats-server"


def missing(what: str) -> None:
    """Skip the test (fail it in CI, where the services are required) because ``what`` is missing."""
    message = f"{what} is not installed: the restart tests need a private one"
    if REQUIRED:
        pytest.fail(f"{message}, and WATCHFLOOR_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


def wait_for_port(port: int, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port} after {timeout} s"
            time.sleep(0.05)


class PrivateNats:
    """``nats-server -js`` on a free port, storing in ``store``; :meth:`stop` and :meth:`start` again."""

    def __init__(self, store: Path, log: Path) -> None:
        self.store, self.log, self.port = store, log, free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
                stdout=out,
                stderr=out,
            )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Shut the server down (SIGTERM); its stream stays on disk for the next :meth:`start`."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None


@contextmanager
def private_nats(root: Path) -> Iterator[PrivateNats]:
    if not Path(NATS_SERVER).is_file():
        missing(NATS_SERVER)
    root.mkdir(parents=True, exist_ok=True)
    server = PrivateNats(root / "jetstream", root / "nats-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest, else whatever is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PrivatePostgres:
    """A PostgreSQL cluster in ``root`` on a free port; :meth:`stop` (fast or immediate) and start again."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.root, self.bin, self.port = root, bin_dir, free_port()
        self.data, self.log = root / "data", root / "postgres.log"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, cwd="/", check=False)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout!r}\n{done.stderr!r}"

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown; ``immediate``: as if it crashed (recovery runs at the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        missing("PostgreSQL's initdb")
        raise AssertionError  # unreachable: skip/fail raise
    # Not under pytest's tmp_path: that is private to root, and the cluster must belong to postgres.
    root = Path(tempfile.mkdtemp(prefix="wf-restart-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PrivatePostgres(root, bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            if (server.data / "postmaster.pid").exists():
                server.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)
