"""Users, their roles, and what a session or API token is: the subjects of every permission decision."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from watchfloor.domain.errors import InputError

Role = Literal["analyst", "supervisor", "reviewer", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("analyst", "supervisor", "reviewer", "auditor", "admin")
ROLE_HELP: dict[Role, str] = {
    "analyst": "searches, triages alerts, writes rules, opens cases, requests watches and exports",
    "supervisor": "everything an analyst does, plus approving watches and sensitive rules, legal bases",
    "reviewer": "approves or refuses exports and reports written by someone else",
    "auditor": "reads the audit log, verifies it, and produces transparency and accuracy reports",
    "admin": "manages users, roles, retention and legal holds",
}

SessionKind = Literal["session", "api"]


def as_roles(values: str | list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[Role]:
    """Roles from ``"analyst,reviewer"`` or a list; unknown names are an error listing the valid ones."""
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else [v.strip() for v in values]
    roles: set[Role] = set()
    for item in filter(None, items):
        if item not in ROLES:
            raise InputError(f"unknown role {item!r}: roles are {', '.join(ROLES)}")
        roles.add(item)
    return frozenset(roles)


class User(msgspec.Struct, frozen=True, kw_only=True):
    """An account. The password hash and TOTP secret never leave the store layer in this struct."""

    id: int
    name: str
    display_name: str | None = None
    roles: frozenset[Role] = frozenset()
    disabled: bool = False
    demo: bool = False  # created by `watchfloor demo`, labelled as such wherever users are listed
    has_password: bool = False
    has_totp: bool = False
    created_at: datetime
    created_by: str


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A console session or an API token (only the token's SHA-256 is stored)."""

    id: int
    user_id: int
    kind: SessionKind
    label: str | None = None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
