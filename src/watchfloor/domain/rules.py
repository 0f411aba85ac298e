"""Standing rules, their versions, account lists, and what a match says about why it fired.

A rule is a saved query in the house language (plus ``/regex/`` terms and ``from:@list`` account
lists) that every arriving post is matched against. Editing a rule makes a new version; alerts keep
the version that fired, so "why this alert" always shows the query as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from watchfloor.domain.errors import InputError

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
# "pending": the current version keys on sensitive terms (rules/linter.py) and awaits a second person's
# approval; a pending rule matches nothing.
RuleStatus = Literal["active", "paused", "pending"]


def as_severity(value: str) -> Severity:
    """``value`` as a Severity, or InputError naming the allowed values."""
    for severity in SEVERITIES:
        if value == severity:
            return severity
    raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, not {value!r}")


class VolumeSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A volume rule: one burst alert when at least ``threshold`` posts match within ``window_minutes``."""

    threshold: int
    window_minutes: int


class RuleDraft(msgspec.Struct, frozen=True, kw_only=True):
    """What an analyst writes when creating or editing a rule (validated by the rules service)."""

    name: str
    query: str
    severity: Severity
    description: str | None = None
    volume: VolumeSpec | None = None
    basis_id: int | None = None  # the legal basis it is kept under (required once accountability lands)
    change_note: str | None = None
    # Why a rule that keys on protest, religious, ethnic or identity terms is necessary (required then).
    justification: str | None = None
    # Set by the rules service from the linter, never typed by an analyst: the sensitive terms found.
    sensitive_terms: tuple[str, ...] = ()


class RuleVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One immutable version of a rule."""

    rule_id: int
    version: int
    name: str
    query: str
    severity: Severity
    author: str
    created_at: datetime
    description: str | None = None
    volume: VolumeSpec | None = None
    basis_id: int | None = None
    change_note: str | None = None
    justification: str | None = None
    sensitive_terms: tuple[str, ...] = ()  # what the linter found; non-empty: needs a second approval
    approved_by: str | None = None
    approved_at: datetime | None = None

    @property
    def awaits_approval(self) -> bool:
        """Whether this version keys on sensitive terms and no second person has approved it yet."""
        return bool(self.sensitive_terms) and self.approved_by is None


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """A standing rule: its current version and whether it is matching now."""

    id: int
    owner: str
    status: RuleStatus
    created_at: datetime
    updated_at: datetime
    current: RuleVersion


class AccountList(msgspec.Struct, frozen=True, kw_only=True):
    """A named set of accounts (handles or platform ids) that rules can target with ``from:@name``."""

    name: str
    members: tuple[str, ...]  # folded with query.fields.fold_handle
    owner: str
    updated_at: datetime
    description: str | None = None


class Match(msgspec.Struct, frozen=True, kw_only=True):
    """One rule matching one post, with the evidence: text spans and the field filters that held."""

    rule_id: int
    version: int
    spans: tuple[tuple[int, int], ...] = ()  # character offsets into Post.searchable_text()
    fields: tuple[str, ...] = ()  # e.g. ("lang:en", "#flood") — positive field filters that matched
