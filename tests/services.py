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


def _unavailable(what: str, why: object) -> None:
    message = f"{what} is not reachable ({why})"
    if REQUIRED:
        pytest.fail(f"{message}, and WATCHFLOOR_REQUIRE_SERVICES=1 requires it")
    pytest.skip(message)


@contextmanager
def scratch_postgres_database() -> Iterator[str]:
    """Create an empty PostgreSQL database for one test and drop it afterwards; yield its URL."""
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
        raise  # unreachable: skip/fail raise
    name = f"wf_test_{uuid.uuid4().hex[:12]}"
    base = PG_URL.rsplit("/", 1)[0]
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
