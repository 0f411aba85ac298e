"""Rules, their versions and account lists in SQL: the :class:`~watchfloor.store.ports.RulesTx` half of SqlTx.

Editing a rule never rewrites a version; it adds the next one and moves ``rules.current_version``, so
an alert's (rule, version) always names the query as it was when the alert fired. Every change also
bumps the ``rules_revision`` counter in the same transaction: matchers poll that one number to learn
that they must recompile, and it cannot move without the change (or the change without it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, select, update

from watchfloor.domain.errors import NotFound
from watchfloor.domain.rules import AccountList, Rule, RuleDraft, RuleStatus, RuleVersion
from watchfloor.store import alert_rows
from watchfloor.store.dialects import Dialect
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import account_lists, rule_versions, rules, store_meta

_REVISION_KEY = "rules_revision"


def _rules_with_current() -> Select[Any]:
    return select(
        rules.c.id.label("rule_id"),
        rules.c.owner.label("rule_owner"),
        rules.c.status.label("rule_status"),
        rules.c.created_us.label("rule_created_us"),
        rules.c.updated_us.label("rule_updated_us"),
        *(c for c in rule_versions.c if c.name != "rule_id"),
    ).join(
        rule_versions,
        and_(rule_versions.c.rule_id == rules.c.id, rule_versions.c.version == rules.c.current_version),
    )


class RulesSql:
    """Rule and account-list storage, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    def create_rule(self, draft: RuleDraft, *, owner: str, at: datetime) -> Rule:
        """Store a new rule whose version 1 is ``draft``, written by its owner: active, or pending when
        the draft keys on sensitive terms (it then waits for :meth:`approve_rule_version`)."""
        at_us = to_micros(at)
        status: RuleStatus = "pending" if draft.sensitive_terms else "active"
        inserted = self.conn.execute(
            rules.insert()
            .values(owner=owner, status=status, created_us=at_us, updated_us=at_us, current_version=1)
            .returning(rules.c.id)
        )
        rule_id = int(inserted.scalar_one())
        self.conn.execute(
            rule_versions.insert().values(
                alert_rows.version_values(rule_id, 1, draft, author=owner, at_us=at_us)
            )
        )
        self._bump_rules_revision()
        return self._rule_or_raise(rule_id)

    def add_rule_version(self, rule_id: int, draft: RuleDraft, *, author: str, at: datetime) -> Rule:
        """Make ``draft`` the rule's next version; raise :class:`NotFound` if there is no such rule.

        A version with sensitive terms makes the rule pending (it stops matching until approved); a
        version without them makes a pending rule active again; paused and active rules keep their status.
        """
        at_us = to_micros(at)
        # The increment happens inside the UPDATE, so two concurrent edits get versions n+1 and n+2
        # (PostgreSQL makes the second wait on the row and re-read it) instead of both claiming n+1.
        bumped = self.conn.execute(
            update(rules)
            .where(rules.c.id == rule_id)
            .values(current_version=rules.c.current_version + 1, updated_us=at_us)
            .returning(rules.c.current_version)
        ).scalar_one_or_none()
        if bumped is None:
            raise NotFound(f"Rule {rule_id} does not exist; list the rules to find its id.")
        values = alert_rows.version_values(rule_id, int(bumped), draft, author=author, at_us=at_us)
        self.conn.execute(rule_versions.insert().values(values))
        if draft.sensitive_terms:
            self.conn.execute(update(rules).where(rules.c.id == rule_id).values(status="pending"))
        else:
            self.conn.execute(
                update(rules)
                .where(rules.c.id == rule_id, rules.c.status == "pending")
                .values(status="active")
            )
        self._bump_rules_revision()
        return self._rule_or_raise(rule_id)

    def set_rule_status(self, rule_id: int, status: RuleStatus, *, at: datetime) -> Rule | None:
        """Pause or resume a rule; ``None`` if it does not exist. Setting the status it has is a no-op
        (no new ``updated_at``, no revision bump: matchers have nothing to recompile)."""
        changed = self.conn.execute(
            update(rules)
            .where(rules.c.id == rule_id, rules.c.status != status)
            .values(status=status, updated_us=to_micros(at))
        )
        if changed.rowcount:
            self._bump_rules_revision()
        return self.get_rule(rule_id)

    def approve_rule_version(self, rule_id: int, version: int, *, by: str, at: datetime) -> Rule | None:
        """Record ``by``'s approval of a version awaiting it and make a pending rule active; ``None`` if
        that version does not exist, is approved already, or is no longer the current one."""
        at_us = to_micros(at)
        current = select(rules.c.current_version).where(rules.c.id == rule_id).scalar_subquery()
        approved = self.conn.execute(
            update(rule_versions)
            .where(
                rule_versions.c.rule_id == rule_id,
                rule_versions.c.version == version,
                rule_versions.c.version == current,
                rule_versions.c.approved_by.is_(None),
            )
            .values(approved_by=by, approved_us=at_us)
        )
        if not approved.rowcount:
            return None
        self.conn.execute(
            update(rules)
            .where(rules.c.id == rule_id, rules.c.status == "pending")
            .values(status="active", updated_us=at_us)
        )
        self._bump_rules_revision()
        return self.get_rule(rule_id)

    def get_rule(self, rule_id: int) -> Rule | None:
        row = self.conn.execute(_rules_with_current().where(rules.c.id == rule_id)).first()
        return None if row is None else alert_rows.rule_from_row(row)

    def list_rules(self, *, status: RuleStatus | None = None) -> list[Rule]:
        """Rules with their current versions, oldest rule first."""
        stmt = _rules_with_current().order_by(rules.c.id)
        if status is not None:
            stmt = stmt.where(rules.c.status == status)
        return [alert_rows.rule_from_row(r) for r in self.conn.execute(stmt)]

    def rule_history(self, rule_id: int) -> list[RuleVersion]:
        """Every version of a rule, oldest first (empty if there is no such rule)."""
        stmt = (
            select(rule_versions).where(rule_versions.c.rule_id == rule_id).order_by(rule_versions.c.version)
        )
        return [alert_rows.version_from_row(r) for r in self.conn.execute(stmt)]

    def rules_revision(self) -> int:
        stmt = select(store_meta.c.value).where(store_meta.c.key == _REVISION_KEY)
        return int(self.conn.execute(stmt).scalar_one())

    def put_account_list(self, account_list: AccountList) -> None:
        """Create the list or replace its members, owner and description (keyed by name)."""
        values = alert_rows.account_list_values(account_list)
        stmt = self.dialect.insert(account_lists).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[account_lists.c.name],
            set_={k: v for k, v in values.items() if k != "name"},
        )
        self.conn.execute(stmt)
        self._bump_rules_revision()

    def account_lists(self) -> list[AccountList]:
        stmt = select(account_lists).order_by(account_lists.c.name)
        return [alert_rows.account_list_from_row(r) for r in self.conn.execute(stmt)]

    def _bump_rules_revision(self) -> None:
        # One counter row: on PostgreSQL concurrent rule edits queue on it until commit, which is cheap
        # (rules change a few times a day) and keeps the revision strictly increasing per change.
        self.conn.execute(
            update(store_meta).where(store_meta.c.key == _REVISION_KEY).values(value=store_meta.c.value + 1)
        )

    def _rule_or_raise(self, rule_id: int) -> Rule:
        rule = self.get_rule(rule_id)
        if rule is None:
            raise NotFound(f"Rule {rule_id} does not exist; list the rules to find its id.")
        return rule
