"""Shared test fixtures: paths to captured payloads, a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchfloor.domain.clock import FrozenClock

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    """The folder of captured payloads (each subfolder has a README with source and licence)."""
    return FIXTURES


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_templates() -> object:
    """Drop the migrated PostgreSQL template database once the session is over."""
    from tests.services import drop_templates

    yield
    drop_templates()
