"""In SQL: users, failed log-ons, sessions and API tokens (IdentityTx); a mixin of SqlTx.

Password hashes and TOTP secrets are read only through :meth:`IdentitySql.user_credentials`, so no
other query hands them out by accident; :class:`~watchfloor.domain.identity.User` never carries them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from watchfloor.domain.identity import Role, Session, SessionKind, User, as_roles
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import from_micros, instant, to_micros
from watchfloor.store.schema import auth_failures, sessions, users

_USER_COLUMNS = [c for c in users.c if c.name not in ("password_hash", "totp_secret")]


def _roles_text(roles: frozenset[Role] | frozenset[str]) -> str:
    return ",".join(sorted(roles))


def _user(row: Any) -> User:
    return User(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        roles=as_roles(row.roles),
        disabled=bool(row.disabled),
        demo=bool(row.demo),
        has_password=bool(row.has_password),
        has_totp=bool(row.has_totp),
        created_at=instant(row.created_us),
        created_by=row.created_by,
    )


_SELECT_USER = select(
    *_USER_COLUMNS,
    users.c.password_hash.is_not(None).label("has_password"),
    users.c.totp_secret.is_not(None).label("has_totp"),
)


class IdentitySql:
    """SqlTx mixin: users, failed log-ons, sessions and API tokens."""

    conn: Connection
    dialect: Dialect

    # -- users -----------------------------------------------------------------------------------

    def create_user(
        self,
        *,
        name: str,
        roles: frozenset[Role],
        created_by: str,
        at: datetime,
        display_name: str | None = None,
        demo: bool = False,
    ) -> User:
        at_us = to_micros(at)
        self.conn.execute(
            users.insert().values(
                name=name,
                display_name=display_name,
                roles=_roles_text(roles),
                disabled=False,
                demo=demo,
                created_us=at_us,
                created_by=created_by,
                updated_us=at_us,
            )
        )
        user = self.get_user(name)
        assert user is not None
        return user

    def get_user(self, name: str) -> User | None:
        row = self.conn.execute(_SELECT_USER.where(users.c.name == name)).first()
        return None if row is None else _user(row)

    def get_user_by_id(self, user_id: int) -> User | None:
        row = self.conn.execute(_SELECT_USER.where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        return [_user(r) for r in self.conn.execute(_SELECT_USER.order_by(users.c.name))]

    def count_users(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(users)).scalar_one())

    def update_user(
        self,
        name: str,
        *,
        at: datetime,
        roles: frozenset[Role] | None = None,
        disabled: bool | None = None,
        display_name: str | None = None,
    ) -> User | None:
        values: dict[str, Any] = {"updated_us": to_micros(at)}
        if roles is not None:
            values["roles"] = _roles_text(roles)
        if disabled is not None:
            values["disabled"] = disabled
        if display_name is not None:
            values["display_name"] = display_name
        self.conn.execute(update(users).where(users.c.name == name).values(values))
        return self.get_user(name)

    def set_credentials(
        self,
        name: str,
        *,
        at: datetime,
        password_hash: str | None = None,
        totp_secret: str | None = None,
        clear_totp: bool = False,
    ) -> None:
        """Store a new password hash and/or TOTP secret (``clear_totp`` removes the secret)."""
        values: dict[str, Any] = {"updated_us": to_micros(at)}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if totp_secret is not None:
            values["totp_secret"] = totp_secret
        if clear_totp:
            values["totp_secret"] = None
        self.conn.execute(update(users).where(users.c.name == name).values(values))

    def user_credentials(self, name: str) -> tuple[User, str | None, str | None] | None:
        """The user, their password hash and TOTP secret: for authentication only."""
        stmt = select(*_SELECT_USER.selected_columns, users.c.password_hash, users.c.totp_secret)
        row = self.conn.execute(stmt.where(users.c.name == name)).first()
        return None if row is None else (_user(row), row.password_hash, row.totp_secret)

    # -- failed log-ons (throttling) -----------------------------------------------------------------

    def add_auth_failure(self, *, name: str, source: str, at: datetime) -> None:
        """Remember one failed sign-in for ``name`` from ``source``."""
        self.conn.execute(auth_failures.insert().values(name=name, source=source, at_us=to_micros(at)))

    def count_auth_failures(self, *, name: str, source: str, since: datetime) -> tuple[int, int]:
        """Failed sign-ins after ``since``: ``(for this account name, from this source)``."""
        since_us = to_micros(since)
        by_name = select(func.count()).where(auth_failures.c.name == name, auth_failures.c.at_us > since_us)
        by_source = select(func.count()).where(
            auth_failures.c.source == source, auth_failures.c.at_us > since_us
        )
        return int(self.conn.execute(by_name).scalar_one()), int(self.conn.execute(by_source).scalar_one())

    def prune_auth_failures(self, *, name: str, source: str, before: datetime) -> None:
        """Forget failures of ``name`` and from ``source`` older than ``before`` (out of every window)."""
        before_us = to_micros(before)
        self.conn.execute(
            delete(auth_failures).where(auth_failures.c.name == name, auth_failures.c.at_us < before_us)
        )
        self.conn.execute(
            delete(auth_failures).where(auth_failures.c.source == source, auth_failures.c.at_us < before_us)
        )

    # -- sessions and API tokens -------------------------------------------------------------------

    def create_session(
        self,
        *,
        token_hash: bytes,
        user_id: int,
        kind: SessionKind,
        at: datetime,
        expires_at: datetime,
        label: str | None = None,
    ) -> Session:
        """Store a new session or API token by the SHA-256 of its token (the token itself never)."""
        at_us = to_micros(at)
        session_id = self.conn.execute(
            sessions.insert()
            .values(
                token_hash=token_hash,
                user_id=user_id,
                kind=kind,
                label=label,
                created_us=at_us,
                last_seen_us=at_us,
                expires_us=to_micros(expires_at),
            )
            .returning(sessions.c.id)
        ).scalar_one()
        found = self.get_session(int(session_id))
        assert found is not None
        return found

    def get_session(self, session_id: int) -> Session | None:
        row = self.conn.execute(select(sessions).where(sessions.c.id == session_id)).first()
        return None if row is None else _session(row)

    def session_by_token(self, token_hash: bytes) -> Session | None:
        """The session or API token whose token hashes to ``token_hash`` (revoked and expired too)."""
        row = self.conn.execute(select(sessions).where(sessions.c.token_hash == token_hash)).first()
        return None if row is None else _session(row)

    def touch_session(self, session_id: int, *, at: datetime) -> None:
        """Note that the session was used at ``at`` (its idle timeout counts from here)."""
        self.conn.execute(
            update(sessions).where(sessions.c.id == session_id).values(last_seen_us=to_micros(at))
        )

    def revoke_session(self, session_id: int, *, at: datetime) -> bool:
        """End one session or token; False if it was already revoked (or does not exist)."""
        done = self.conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.revoked_us.is_(None))
            .values(revoked_us=to_micros(at))
        )
        return bool(done.rowcount)

    def revoke_user_sessions(self, user_id: int, *, at: datetime, kind: SessionKind | None = None) -> int:
        """End every live session (and API token, unless ``kind`` narrows it) of a user; how many."""
        stmt = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_us.is_(None))
        if kind is not None:
            stmt = stmt.where(sessions.c.kind == kind)
        return int(self.conn.execute(stmt.values(revoked_us=to_micros(at))).rowcount)

    def list_sessions(self, user_id: int, *, kind: SessionKind) -> list[Session]:
        """A user's sessions or API tokens, newest first (without any secret: none is stored)."""
        stmt = select(sessions).where(sessions.c.user_id == user_id, sessions.c.kind == kind)
        return [_session(r) for r in self.conn.execute(stmt.order_by(sessions.c.id.desc()))]

    def session_labels_since(self, user_id: int, *, kind: SessionKind, since: datetime) -> list[str]:
        """Labels of a user's sessions of ``kind`` created since ``since`` (the TOTP step record)."""
        stmt = select(sessions.c.label).where(
            sessions.c.user_id == user_id,
            sessions.c.kind == kind,
            sessions.c.created_us >= to_micros(since),
            sessions.c.label.is_not(None),
        )
        return [str(label) for label in self.conn.execute(stmt).scalars()]


def _session(row: Any) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        label=row.label,
        created_at=instant(row.created_us),
        last_seen_at=instant(row.last_seen_us),
        expires_at=instant(row.expires_us),
        revoked_at=from_micros(row.revoked_us),
    )
