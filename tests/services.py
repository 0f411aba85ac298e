"""Access to the external services tests may use (PostgreSQL, NATS).

When a service is unreachable its tests are skipped on a developer's machine, but fail in CI, where
``.ci/run`` sets WATCHFLOOR_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pytest

PG_URL = os.environ.get("WATCHFLOOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("WATCHFLOOR_TEST_NATS_URL", "nats://127.0.0.1:4222")
REQUIRED = os.environ.get("WATCHFLOOR_REQUIRE_SERVICES") == "1"
_BASE = PG_URL.rsplit("/", 1)[0]
_template: str | None = None  # a migrated database new test databases are copied from (per process)


def _unavailable(what: str, why: object) -> None:
    message = f"{what} is not reachable ({why})"
    if REQUIRED:
        pytest.fail(f"{message}, and WATCHFLOOR_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
        raise  # unreachable: skip/fail raise


def _migrated_template(admin: psycopg.Connection) -> str:
    """Create (once per test process) a database at the newest schema to copy test databases from."""
    global _template
    if _template is None:
        from watchfloor.store.engine import open_store

        name = f"wf_template_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        open_store(f"{_BASE}/{name}").close()
        _template = name
    return _template


@contextmanager
def scratch_postgres_database(*, migrated: bool = True) -> Iterator[str]:
    """Create a PostgreSQL database for one test (a copy of a migrated template) and drop it afterwards."""
    admin = _admin()
    name = f"wf_test_{uuid.uuid4().hex[:12]}"
    with admin:
        template = f' TEMPLATE "{_migrated_template(admin)}"' if migrated else ""
        admin.execute(f'CREATE DATABASE "{name}"{template}')
        try:
            yield f"{_BASE}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_templates() -> None:
    """Remove this process's template database (called at the end of the session)."""
    global _template
    if _template is not None:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
        _template = None


def nats_url() -> str:
    """The test NATS server's URL, once it answers (skip, or fail in CI, when it does not)."""
    parts = urlsplit(NATS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=3):
            pass
    except OSError as exc:
        _unavailable("NATS", exc)
    return NATS_URL


@contextmanager
def scratch_nats_stream() -> Iterator[dict[str, str]]:
    """Bus settings (``bus_url``, ``bus_stream``, ``bus_subject``, ``bus_consumer``) naming a stream of
    one test's own, which is removed afterwards with its consumer and the workers' liveness bucket."""
    from watchfloor.bus.nats import NatsBus

    token = uuid.uuid4().hex[:12]
    settings = {
        "bus_url": nats_url(),
        "bus_stream": f"WFTEST_{token}",
        "bus_subject": f"wftest.{token}",
        "bus_consumer": "workers",
    }
    try:
        yield settings
    finally:
        bus = NatsBus(settings["bus_url"], stream=settings["bus_stream"], subject="-", duplicate_window=1)
        try:
            bus.delete_stream()
        finally:
            bus.close()
