"""Every store test runs against SQLite and against PostgreSQL (the contract suite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import scratch_postgres_database
from watchfloor.store.engine import SqlStore, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        opened = open_store(str(tmp_path / "test.db"))
        yield opened
        opened.close()
        return
    with scratch_postgres_database() as url:
        opened = open_store(url)
        yield opened
        opened.close()


@pytest.fixture
def pg_store() -> Iterator[SqlStore]:
    """A migrated PostgreSQL store only (tests of what SQLite does not have: partitions, write races)."""
    with scratch_postgres_database() as url:
        opened = open_store(url)
        try:
            yield opened
        finally:
            opened.close()
