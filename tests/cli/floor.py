"""A store seeded for CLI tests: users with roles and legal basis 1, as an admin would set them up.

Set up straight through the store (fast, and not what the tests are about); the CLI commands that do
the same (`init`, `users add`, `basis add`) have tests of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from watchfloor.domain.identity import Role
from watchfloor.store.engine import open_store

USERS: dict[str, frozenset[Role]] = {
    "root": frozenset({"admin"}),
    "ana": frozenset({"analyst"}),
    "bo": frozenset({"analyst"}),
    "li": frozenset({"analyst"}),
    "sam": frozenset({"supervisor"}),
    "rita": frozenset({"reviewer"}),
    "audrey": frozenset({"auditor"}),
    "maria": frozenset({"analyst", "auditor", "admin"}),  # a desk lead who also keeps the log
}
ENV = {"WATCHFLOOR_USER": "ana", "WATCHFLOOR_BASIS": "1"}


def seed_floor(url: str) -> None:
    """Create the users above and legal basis 1 in the store at ``url`` (once)."""
    store = open_store(url)
    now = datetime.now(UTC)
    try:
        with store.transaction() as tx:
            if tx.count_users():
                return
            for name, roles in USERS.items():
                tx.create_user(name=name, roles=roles, created_by="root", at=now)
            tx.create_basis(
                title="Flood response monitoring",
                authority="Civil Contingencies Act 2004 s.2 (test)",
                purpose="Find people asking for rescue during floods",
                necessity="Public posts only; no individuals are targeted",
                owner="sam",
                review_at=None,
                expires_at=None,
                created_by="sam",
                at=now,
            )
    finally:
        store.close()
