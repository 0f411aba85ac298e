"""Test actors with roles, and a legal basis to work under: what every service call now needs."""

from __future__ import annotations

from watchfloor.domain.actor import Actor
from watchfloor.services.context import ServiceContext

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
BO = Actor(name="bo", roles=frozenset({"analyst"}))
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
RITA = Actor(name="rita", roles=frozenset({"reviewer"}))
AUDITOR = Actor(name="auditor", roles=frozenset({"auditor"}))
ADMIN = Actor(name="root", roles=frozenset({"admin"}))
BASIS = 1  # the first basis a fresh store gets (see make_basis)


def make_basis(ctx: ServiceContext, *, title: str = "Flood response monitoring") -> int:
    """Create a legal basis in force (straight through the store: this is set-up, not the test)."""
    with ctx.store.transaction() as tx:
        basis = tx.create_basis(
            title=title,
            authority="Civil Contingencies Act 2004 s.2 (test)",
            purpose="Find people asking for rescue during floods",
            necessity="Public posts only; no individuals are targeted",
            owner="sam",
            review_at=None,
            expires_at=None,
            created_by="sam",
            at=ctx.clock.now(),
        )
    return basis.id
