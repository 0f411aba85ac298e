"""Access to the external services tests may use (PostgreSQL, NATS).

When a service is unreachable its tests are skipped on a developer's machine, but fail in CI, where
``.ci/run`` sets WATCHFLOOR_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_URL = os.environ.get("WATCHFLOOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
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
