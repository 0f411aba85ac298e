"""Pure conversions between rules, alerts, their events and the table rows that hold them.

Kept apart from the SQL so the mapping can be read (and changed) in one place: small structured values
(spans, field evidence, account-list members) are msgspec JSON text, times are integer microseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Row

from watchfloor.domain.alerts import Alert, AlertAction, AlertDraft, AlertEvent, AlertStatus, Disposition
from watchfloor.domain.rules import AccountList, Rule, RuleDraft, RuleVersion, VolumeSpec
from watchfloor.store.rows import from_micros, to_micros

AnyRow = Row[*tuple[Any, ...]]

_encoder = msgspec.json.Encoder()
_spans = msgspec.json.Decoder(tuple[tuple[int, int], ...])
_strings = msgspec.json.Decoder(tuple[str, ...])


def time_of(micros: int) -> datetime:
    """A NOT NULL microsecond column as an aware UTC datetime."""
    value = from_micros(micros)
    assert value is not None
    return value


def to_json(value: object) -> str:
    return _encoder.encode(value).decode()


# -- rules ------------------------------------------------------------------------------------------


def version_values(
    rule_id: int, version: int, draft: RuleDraft, *, author: str, at_us: int
) -> dict[str, Any]:
    """The ``rule_versions`` row for one version written from an analyst's draft."""
    return {
        "rule_id": rule_id,
        "version": version,
        "name": draft.name,
        "query": draft.query,
        "severity": draft.severity,
        "description": draft.description,
        "volume_threshold": draft.volume.threshold if draft.volume else None,
        "volume_window_minutes": draft.volume.window_minutes if draft.volume else None,
        "basis_id": draft.basis_id,
        "author": author,
        "created_us": at_us,
        "change_note": draft.change_note,
        "justification": draft.justification,
        "sensitive_terms": to_json(draft.sensitive_terms) if draft.sensitive_terms else None,
        "approved_by": None,
        "approved_us": None,
    }


def version_from_row(row: AnyRow) -> RuleVersion:
    volume = None
    if row.volume_threshold is not None:
        volume = VolumeSpec(threshold=row.volume_threshold, window_minutes=row.volume_window_minutes)
    return RuleVersion(
        rule_id=int(row.rule_id),
        version=row.version,
        name=row.name,
        query=row.query,
        severity=row.severity,
        author=row.author,
        created_at=time_of(row.created_us),
        description=row.description,
        volume=volume,
        basis_id=row.basis_id,
        change_note=row.change_note,
        justification=row.justification,
        sensitive_terms=_strings.decode(row.sensitive_terms) if row.sensitive_terms else (),
        approved_by=row.approved_by,
        approved_at=from_micros(row.approved_us),
    )


def rule_from_row(row: AnyRow) -> Rule:
    """A rule from a row of ``rules`` (columns labelled ``rule_*``) joined to its current version."""
    return Rule(
        id=int(row.rule_id),
        owner=row.rule_owner,
        status=row.rule_status,
        created_at=time_of(row.rule_created_us),
        updated_at=time_of(row.rule_updated_us),
        current=version_from_row(row),
    )


def account_list_values(account_list: AccountList) -> dict[str, Any]:
    return {
        "name": account_list.name,
        "members": to_json(account_list.members),
        "owner": account_list.owner,
        "description": account_list.description,
        "updated_us": to_micros(account_list.updated_at),
    }


def account_list_from_row(row: AnyRow) -> AccountList:
    return AccountList(
        name=row.name,
        members=_strings.decode(row.members),
        owner=row.owner,
        updated_at=time_of(row.updated_us),
        description=row.description,
    )


# -- alerts -----------------------------------------------------------------------------------------


def alert_values(draft: AlertDraft, *, post_count: int) -> dict[str, Any]:
    """The ``alerts`` row for a newly raised alert (status open, nobody holding it)."""
    created_us = to_micros(draft.created_at)
    return {
        "kind": draft.kind,
        "rule_id": draft.rule_id,
        "rule_version": draft.rule_version,
        "severity": draft.severity,
        "status": "open",
        "created_us": created_us,
        "deadline_us": to_micros(draft.deadline),
        "updated_us": created_us,
        "post_id": draft.post_id,
        "cluster_id": draft.cluster_id,
        "post_count": post_count,
        "spans": to_json(draft.spans),
        "fields": to_json(draft.fields),
        "window_start_us": to_micros(draft.window_start) if draft.window_start else None,
        "window_end_us": to_micros(draft.window_end) if draft.window_end else None,
    }


def alert_from_row(row: AnyRow) -> Alert:
    return Alert(
        id=int(row.id),
        kind=row.kind,
        rule_id=int(row.rule_id),
        rule_version=row.rule_version,
        severity=row.severity,
        status=row.status,
        created_at=time_of(row.created_us),
        deadline=time_of(row.deadline_us),
        updated_at=time_of(row.updated_us),
        post_id=row.post_id,
        cluster_id=row.cluster_id,
        post_count=int(row.post_count),
        spans=_spans.decode(row.spans),
        fields=_strings.decode(row.fields),
        assignee=row.assignee,
        disposition=row.disposition,
        breached_at=from_micros(row.breached_us),
        window_start=from_micros(row.window_start_us),
        window_end=from_micros(row.window_end_us),
    )


def event_values(
    alert_id: int,
    *,
    at_us: int,
    actor: str,
    action: AlertAction,
    from_status: AlertStatus | None = None,
    to_status: AlertStatus | None = None,
    disposition: Disposition | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """An ``alert_events`` row; every key is always present so rows can be inserted as one batch."""
    return {
        "alert_id": alert_id,
        "at_us": at_us,
        "actor": actor,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "disposition": disposition,
        "note": note,
    }


def event_from_row(row: AnyRow) -> AlertEvent:
    return AlertEvent(
        alert_id=int(row.alert_id),
        at=time_of(row.at_us),
        actor=row.actor,
        action=row.action,
        from_status=row.from_status,
        to_status=row.to_status,
        disposition=row.disposition,
        note=row.note,
    )
