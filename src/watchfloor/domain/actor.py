"""Who is acting: every service call takes one, so audit and permissions have a subject from day one."""

from __future__ import annotations

import msgspec


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """A named user (or a named system process such as the demo loader) performing an operation."""

    name: str
    roles: frozenset[str] = frozenset()
    is_system: bool = False

    @classmethod
    def system(cls, name: str) -> Actor:
        """A process acting on its own behalf (importer, demo loader), recorded under this name."""
        return cls(name=name, is_system=True)
