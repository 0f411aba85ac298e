"""What the rest of watchfloor may ask of a store, whatever database is behind it.

Services open one transaction per use case with :meth:`Store.transaction` and do everything (writes
and the audit event) through the :class:`StoreTx` it yields, so a use case commits or fails
whole. Two adapters implement these ports (SQLite and PostgreSQL) and pass one contract suite.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from watchfloor.domain.alerts import (
    Alert,
    AlertAction,
    AlertDraft,
    AlertEvent,
    AlertStatus,
    Disposition,
    HandoverNote,
)
from watchfloor.domain.audit import AuditDraft, AuditEvent, Checkpoint
from watchfloor.domain.casework import (
    CaseLink,
    CaseNote,
    CaseTask,
    CustodyAction,
    CustodyEvent,
    EvidenceItem,
    EvidencePart,
    NoteKind,
)
from watchfloor.domain.identity import Role, Session, SessionKind, User
from watchfloor.domain.media import (
    Enrichment,
    ImageList,
    ImageListItem,
    MediaFrame,
    MediaObject,
    MediaState,
    PostMedia,
    RegionHash,
)
from watchfloor.domain.oversight import (
    Case,
    CaseStatus,
    Dissemination,
    DisseminationItem,
    DisseminationKind,
    DisseminationStatus,
    HoldKind,
    LegalBasis,
    LegalHold,
    RetentionCounts,
    Watch,
    WatchStatus,
)
from watchfloor.domain.post import Deletion, Location, Post, Prepared, Quarantined
from watchfloor.domain.rules import AccountList, Rule, RuleDraft, RuleStatus, RuleVersion
from watchfloor.domain.sources import Source, SourceStatus
from watchfloor.query.ast import Query

SortOrder = Literal["newest", "oldest", "relevance"]
AccountLists = Mapping[str, frozenset[str]]  # account list name -> folded handles and ids


class StoredPost(msgspec.Struct, frozen=True, kw_only=True):
    """A post as the store holds it, with its store id and near-duplicate cluster."""

    id: int
    post: Post
    cluster_id: int | None
    deleted_at: datetime | None = None


class WriteResult(msgspec.Struct, kw_only=True):
    """What one write did: new posts, posts already stored, deletions and quarantined records."""

    inserted: int = 0
    duplicates: int = 0
    deletions: int = 0
    quarantined: int = 0
    inserted_ids: list[int] = msgspec.field(default_factory=list)
    # Aligned with inserted_ids: the natural key and near-duplicate cluster of each new post.
    inserted_keys: list[tuple[str, str]] = msgspec.field(default_factory=list)
    inserted_clusters: list[int | None] = msgspec.field(default_factory=list)


class QuarantineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A record that could not be imported, with where it was and why."""

    id: int
    import_id: int | None
    format: str
    location: Location
    reason: str
    field: str | None
    raw: bytes
    quarantined_at: datetime


class ImportRun(msgspec.Struct, kw_only=True):
    """One run of `watchfloor import` over one file, with its counts."""

    id: int
    source: str
    format: str
    started_at: datetime
    finished_at: datetime | None = None
    records: int = 0
    inserted: int = 0
    duplicates: int = 0
    deletions: int = 0
    skipped: int = 0
    quarantined: int = 0


class Facet(msgspec.Struct, frozen=True):
    value: str
    count: int


class StoreStats(msgspec.Struct, kw_only=True):
    """Counts an analyst or operator wants at a glance."""

    posts: int
    deleted: int
    clusters_with_duplicates: int
    quarantined: int
    imports: int
    earliest: datetime | None
    latest: datetime | None
    platforms: list[Facet]
    languages: list[Facet]
    top_hashtags: list[Facet]
    top_domains: list[Facet]


class AlertFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which alerts to list; ``None`` means any. Results are sorted by deadline, soonest first."""

    statuses: tuple[AlertStatus, ...] | None = None
    severities: tuple[str, ...] | None = None
    rule_id: int | None = None
    assignee: str | None = None
    platform: str | None = None
    lang: str | None = None
    deadline_before: datetime | None = None
    created_since: datetime | None = None


class AlertWrite(msgspec.Struct, kw_only=True):
    """What writing a batch of alert drafts did."""

    raised: list[int] = msgspec.field(default_factory=list)  # ids of new alerts
    grouped: int = 0  # drafts folded into an existing alert of the same rule and cluster
    unchanged: int = 0  # drafts already recorded (same rule and post): idempotent replays
    withheld: int = 0  # matches no authority covers: basis ended, or a named account unwatched


class PostsTx(Protocol):
    """Posts, imports, quarantine and search."""

    def start_import(self, *, source: str, format: str, at: datetime) -> int: ...

    def finish_import(self, run: ImportRun, *, at: datetime) -> None: ...

    def write_posts(self, prepared: Sequence[Prepared], *, import_id: int | None) -> WriteResult: ...

    def write_deletions(self, deletions: Sequence[Deletion], *, seen_at: datetime) -> int: ...

    def write_quarantine(
        self, entries: Sequence[Quarantined], *, import_id: int | None, at: datetime
    ) -> int: ...

    def search(
        self,
        query: Query,
        *,
        limit: int,
        sort: SortOrder = "newest",
        offset: int = 0,
        lists: AccountLists | None = None,
    ) -> list[StoredPost]: ...

    def iter_search(
        self, query: Query, *, sort: SortOrder = "newest", lists: AccountLists | None = None
    ) -> Iterator[StoredPost]: ...

    def count(self, query: Query, *, lists: AccountLists | None = None) -> int: ...

    def get_posts(self, ids: Sequence[int]) -> list[StoredPost]: ...

    def get_raw(self, post_id: int) -> tuple[str, bytes] | None: ...

    def stats(self, *, top: int = 10) -> StoreStats: ...

    def list_quarantine(self, *, limit: int, import_id: int | None = None) -> list[QuarantineEntry]: ...

    def list_imports(self, *, limit: int) -> list[ImportRun]: ...


class RulesTx(Protocol):
    """Rules, their versions and account lists."""

    def create_rule(self, draft: RuleDraft, *, owner: str, at: datetime) -> Rule: ...

    def add_rule_version(self, rule_id: int, draft: RuleDraft, *, author: str, at: datetime) -> Rule: ...

    def set_rule_status(self, rule_id: int, status: RuleStatus, *, at: datetime) -> Rule | None: ...

    def approve_rule_version(self, rule_id: int, version: int, *, by: str, at: datetime) -> Rule | None:
        """Record a second person's approval of the current version (sensitive terms); pending -> active."""
        ...

    def get_rule(self, rule_id: int) -> Rule | None: ...

    def list_rules(self, *, status: RuleStatus | None = None) -> list[Rule]: ...

    def rule_history(self, rule_id: int) -> list[RuleVersion]: ...

    def rules_revision(self) -> int:
        """A number that changes whenever any rule or account list changes (matchers recompile on it)."""
        ...

    def put_account_list(self, account_list: AccountList) -> None: ...

    def account_lists(self) -> list[AccountList]: ...


class AlertsTx(Protocol):
    """The alert queue: raising, listing, transitions, breaches, volume-rule hits, handover notes."""

    def write_alerts(self, drafts: Sequence[AlertDraft], *, actor: str) -> AlertWrite:
        """Raise alerts; a draft for a (rule, cluster) with an active alert is grouped into it instead."""
        ...

    def record_rule_hits(self, hits: Sequence[tuple[int, int, datetime]]) -> None:
        """Remember (rule_id, post_id, post time) matches of volume rules, for window counts."""
        ...

    def count_rule_hits(self, rule_id: int, *, since: datetime, until: datetime) -> int: ...

    def last_burst_end(self, rule_id: int) -> datetime | None: ...

    def get_alert(self, alert_id: int) -> Alert | None: ...

    def alert_posts(self, alert_id: int, *, limit: int = 100) -> list[int]: ...

    def list_alerts(self, where: AlertFilter, *, limit: int = 100) -> list[Alert]: ...

    def transition_alert(
        self,
        alert_id: int,
        *,
        allowed_from: tuple[AlertStatus, ...],
        to_status: AlertStatus,
        action: AlertAction,
        actor: str,
        at: datetime,
        assignee: str | None = None,
        disposition: Disposition | None = None,
        note: str | None = None,
        require_assignee: str | None = None,
    ) -> Alert | None:
        """Move an alert between states atomically; ``None`` if it is not in ``allowed_from`` (or not held
        by ``require_assignee``), so two analysts can never both hold a claim."""
        ...

    def alert_events(self, alert_id: int) -> list[AlertEvent]: ...

    def events_since(
        self, since: datetime, *, actions: tuple[AlertAction, ...] | None = None
    ) -> list[AlertEvent]: ...

    def mark_breaches(self, *, now: datetime, actor: str) -> list[Alert]:
        """Record once, for every active alert past its deadline, that it breached; return those alerts."""
        ...

    def add_handover_note(self, *, author: str, text: str, at: datetime) -> HandoverNote: ...

    def handover_notes(self, *, since: datetime) -> list[HandoverNote]: ...


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One audit row exactly as stored, for verification: the leaf bytes and the hash stored beside them."""

    seq: int
    at_us: int  # raw microseconds: the verifier compares the columns with the leaf, not with our parsing
    actor: str
    action: str
    leaf: bytes
    leaf_hash: bytes


class AuditTx(Protocol):
    """The append-only audit log and its signed checkpoints."""

    def append_audit(self, draft: AuditDraft) -> AuditEvent:
        """Append one event as the next leaf (sequence numbers are dense from 0) and return it.

        On PostgreSQL this takes a transaction-scoped lock that serialises every auditing writer until
        it commits, so appends are totally ordered: call it last in a transaction.
        """
        ...

    def audit_size(self) -> int:
        """How many events the log holds (the next sequence number)."""
        ...

    def audit_leaves(self, start: int, end: int) -> list[AuditRecord]:
        """Stored rows with ``start <= seq < end``, in sequence order (callers page through big ranges)."""
        ...

    def audit_events(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[AuditEvent]:
        """Events, newest first, optionally by one actor, of one action, or older than ``before``."""
        ...

    def latest_checkpoint(self) -> Checkpoint | None: ...

    def checkpoint_at(self, size: int) -> Checkpoint | None: ...

    def checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint, smallest first."""
        ...

    def save_checkpoint(self, checkpoint: Checkpoint) -> None: ...


class IdentityTx(Protocol):
    """Users, failed log-ons, sessions and API tokens (store/identity_sql.py)."""

    def create_user(
        self,
        *,
        name: str,
        roles: frozenset[Role],
        created_by: str,
        at: datetime,
        display_name: str | None = None,
        demo: bool = False,
    ) -> User: ...

    def get_user(self, name: str) -> User | None: ...

    def get_user_by_id(self, user_id: int) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def count_users(self) -> int: ...

    def update_user(
        self,
        name: str,
        *,
        at: datetime,
        roles: frozenset[Role] | None = None,
        disabled: bool | None = None,
        display_name: str | None = None,
    ) -> User | None: ...

    def set_credentials(
        self,
        name: str,
        *,
        at: datetime,
        password_hash: str | None = None,
        totp_secret: str | None = None,
        clear_totp: bool = False,
    ) -> None: ...

    def user_credentials(self, name: str) -> tuple[User, str | None, str | None] | None:
        """The user, their password hash and TOTP secret: for authentication only."""
        ...

    def add_auth_failure(self, *, name: str, source: str, at: datetime) -> None: ...

    def count_auth_failures(self, *, name: str, source: str, since: datetime) -> tuple[int, int]:
        """Failed sign-ins after ``since``: ``(for this account name, from this source)``."""
        ...

    def prune_auth_failures(self, *, name: str, source: str, before: datetime) -> None: ...

    def create_session(
        self,
        *,
        token_hash: bytes,
        user_id: int,
        kind: SessionKind,
        at: datetime,
        expires_at: datetime,
        label: str | None = None,
    ) -> Session: ...

    def get_session(self, session_id: int) -> Session | None: ...

    def session_by_token(self, token_hash: bytes) -> Session | None: ...

    def touch_session(self, session_id: int, *, at: datetime) -> None: ...

    def revoke_session(self, session_id: int, *, at: datetime) -> bool: ...

    def revoke_user_sessions(self, user_id: int, *, at: datetime, kind: SessionKind | None = None) -> int: ...

    def list_sessions(self, user_id: int, *, kind: SessionKind) -> list[Session]: ...

    def session_labels_since(self, user_id: int, *, kind: SessionKind, since: datetime) -> list[str]: ...


class OversightTx(Protocol):
    """Legal bases, named-account watches and account views (store/oversight_sql.py)."""

    def create_basis(
        self,
        *,
        title: str,
        authority: str,
        purpose: str,
        necessity: str,
        owner: str,
        review_at: datetime | None,
        expires_at: datetime | None,
        created_by: str,
        at: datetime,
    ) -> LegalBasis: ...

    def get_basis(self, basis_id: int) -> LegalBasis | None: ...

    def list_bases(self) -> list[LegalBasis]: ...

    def retire_basis(self, basis_id: int, *, by: str, reason: str, at: datetime) -> LegalBasis | None:
        """Mark a basis retired (idempotent: an already retired basis keeps its first retirement)."""
        ...

    def create_watch(
        self,
        *,
        subject: str,
        platform: str | None,
        basis_id: int,
        reason: str,
        requester: str,
        days: int,
        renewal_of: int | None,
        at: datetime,
    ) -> Watch:
        """Store a new watch request (status ``requested``)."""
        ...

    def get_watch(self, watch_id: int) -> Watch | None: ...

    def list_watches(self, *, subject: str | None = None, approved_only: bool = False) -> list[Watch]:
        """Watches, oldest first; ``approved_only`` for those stored as approved (expiry is computed)."""
        ...

    def decide_watch(
        self,
        watch_id: int,
        *,
        status: WatchStatus,
        approver: str,
        note: str | None,
        at: datetime,
        starts_at: datetime | None,
        expires_at: datetime | None,
    ) -> Watch | None:
        """Approve or deny a watch still ``requested``; None if it was not (someone decided first)."""
        ...

    def cancel_watch(self, watch_id: int, *, by: str, at: datetime) -> Watch | None:
        """Cancel a requested or approved watch; None if it was neither."""
        ...

    def record_account_view(self, *, actor: str, subject: str, session_key: str, at: datetime) -> None:
        """Note that ``actor`` looked at ``subject``'s posts in session ``session_key``."""
        ...

    def account_view_sessions(self, *, actor: str, subject: str, since: datetime) -> frozenset[str]:
        """The distinct sessions in which ``actor`` looked at ``subject``'s posts since ``since``."""
        ...

    def count_account_views(self) -> int: ...


class CaseworkTx(Protocol):
    """Cases, legal holds, dissemination reviews and retention purges (store/casework_sql.py)."""

    def create_case(self, *, title: str, basis_id: int, owner: str, at: datetime) -> Case: ...

    def get_case(self, case_id: int) -> Case | None: ...

    def list_cases(self, *, status: CaseStatus | None = None) -> list[Case]: ...

    def case_alert_ids(self, case_id: int) -> list[int]: ...

    def add_case_alert(self, case_id: int, alert_id: int, *, by: str, at: datetime) -> bool:
        """Link an alert to a case; False if it was already linked."""
        ...

    def close_case(self, case_id: int, *, at: datetime, summary: str | None) -> Case | None:
        """Close an open case; ``None`` if it is not open."""
        ...

    def set_case_due(self, case_id: int, *, due: datetime | None) -> Case | None:
        """Set (or clear) an open case's deadline; ``None`` if the case is not open."""
        ...

    def add_case_task(self, case_id: int, *, text: str, by: str, at: datetime) -> CaseTask: ...

    def get_case_task(self, task_id: int) -> CaseTask | None: ...

    def complete_case_task(self, task_id: int, *, by: str, at: datetime) -> CaseTask | None:
        """Mark an open task done; ``None`` if it is already done."""
        ...

    def case_tasks(self, case_id: int) -> list[CaseTask]: ...

    def add_case_note(
        self, case_id: int, *, kind: NoteKind, body: str, author: str, at: datetime
    ) -> CaseNote: ...

    def case_notes(self, case_id: int) -> list[CaseNote]: ...

    def add_case_link(
        self, case_id: int, *, platform: str | None, handle: str, reason: str, by: str, at: datetime
    ) -> CaseLink: ...

    def case_links(self, case_id: int) -> list[CaseLink]: ...

    def put_evidence_blob(self, sha256: str, content: bytes) -> bool:
        """Store bytes under their hash; False (nothing changes) if the hash is already stored."""
        ...

    def evidence_blob(self, sha256: str) -> bytes | None: ...

    def create_evidence(
        self,
        *,
        case_id: int,
        post_id: int,
        platform: str,
        native_id: str,
        url: str | None,
        captured_at: datetime,
        captured_by: str,
        basis_id: int,
        tool_version: str,
        parts: Sequence[EvidencePart],
    ) -> EvidenceItem: ...

    def get_evidence(self, evidence_id: int) -> EvidenceItem | None: ...

    def case_evidence(self, case_id: int) -> list[EvidenceItem]: ...

    def add_custody_events(
        self,
        evidence_ids: Sequence[int],
        *,
        action: CustodyAction,
        actor: str,
        at: datetime,
        note: str | None,
    ) -> None:
        """Append one custody event per evidence item."""
        ...

    def custody_events(self, evidence_ids: Sequence[int]) -> list[CustodyEvent]: ...

    def place_hold(
        self, *, kind: HoldKind, object_id: int, reason: str, by: str, at: datetime
    ) -> LegalHold: ...

    def get_hold(self, hold_id: int) -> LegalHold | None: ...

    def list_holds(self, *, active_only: bool = True) -> list[LegalHold]: ...

    def release_hold(self, hold_id: int, *, by: str, at: datetime) -> LegalHold | None:
        """Release an active hold; ``None`` if it is not active."""
        ...

    def create_dissemination(
        self,
        *,
        kind: DisseminationKind,
        title: str,
        author: str,
        basis_id: int,
        recipient: str,
        spec: dict[str, str | int | None],
        content: bytes,
        content_sha256: str,
        items: list[DisseminationItem],
        at: datetime,
    ) -> Dissemination: ...

    def get_dissemination(self, dissemination_id: int) -> Dissemination | None: ...

    def list_disseminations(
        self, *, status: DisseminationStatus | None = None, limit: int = 100
    ) -> list[Dissemination]: ...

    def dissemination_content(self, dissemination_id: int) -> bytes | None: ...

    def dissemination_items(self, dissemination_id: int) -> list[DisseminationItem]: ...

    def decide_dissemination(
        self,
        dissemination_id: int,
        *,
        status: DisseminationStatus,
        reviewer: str,
        note: str | None,
        content_sha256: str | None,
        at: datetime,
    ) -> Dissemination | None:
        """Decide a pending review (of exactly ``content_sha256``, if given); ``None`` if it is not
        pending or its content hash differs."""
        ...

    def mark_released(self, dissemination_id: int, *, at: datetime) -> Dissemination | None:
        """Mark an approved review released; ``None`` if it is not approved."""
        ...

    def drop_dissemination_content(self, dissemination_id: int) -> None: ...

    def set_dissemination_manifest(self, dissemination_id: int, manifest: str) -> None:
        """Keep the manifest a release handed out."""
        ...

    def dissemination_manifest(self, dissemination_id: int) -> str | None: ...

    def purge_expired(
        self,
        *,
        unmatched_before: datetime,
        alerts_before: datetime,
        cases_closed_before: datetime,
        dry_run: bool = False,
    ) -> RetentionCounts:
        """Delete expired cases, alerts and posts not under legal hold (a dry run rolls back)."""
        ...

    def maintain_partitions(self, *, empty_before: datetime) -> list[str]:
        """PostgreSQL: create the coming months' post partitions and drop the empty ones wholly before
        ``empty_before``; returns the names dropped. SQLite (not partitioned): nothing. Call in a
        transaction of its own: it locks the posts table until that commits."""
        ...


class DailyRoot(msgspec.Struct, frozen=True, kw_only=True):
    """The last audit checkpoint signed on one UTC day: its tree size and root hash."""

    day: datetime  # 00:00 UTC of the day
    size: int
    root: bytes


class AccuracyCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many alerts of one rule are in one status/disposition, by the language and platform of the
    post that fired them (``None``: the post was purged, or has no language tag)."""

    rule_id: int
    status: str
    disposition: str | None
    lang: str | None
    platform: str | None
    count: int


class ReportsTx(Protocol):
    """Aggregate counts for the transparency report and the accuracy card (store/reports_sql.py)."""

    def transparency_counts(self, *, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
        """One count per metric key for ``[start, end)`` (docs/transparency-and-accuracy.md)."""
        ...

    def alert_outcomes(self, *, start: datetime, end: datetime) -> dict[str, int]:
        """Alerts raised in the period by disposition, or by status if they have none."""
        ...

    def rules_in_force(self, *, at: datetime) -> dict[str, int]:
        """Rules in force at ``at``, by severity."""
        ...

    def audit_events_between(
        self, *, start: datetime, end: datetime, actions: Sequence[str]
    ) -> Iterator[AuditEvent]: ...

    def daily_roots(self, *, start: datetime, end: datetime) -> list[DailyRoot]: ...

    def accuracy_counts(self, *, start: datetime | None, end: datetime | None) -> list[AccuracyCount]: ...


# -- the console's search and rules pages (store/search_console_sql.py) ------------------------------


class SearchFacets(msgspec.Struct, frozen=True, kw_only=True):
    """Facets of a search's matches, counted over the newest ``scanned`` of them (at most the cap)."""

    scanned: int
    platforms: list[Facet]
    languages: list[Facet]
    hashtags: list[Facet]
    domains: list[Facet]
    accounts: list[Facet]  # folded handle, or platform id when the post has no handle
    per_day: list[tuple[datetime, int]]  # 00:00 UTC of each day with matches, oldest first


class RuleOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """How many of one rule's alerts are in one status and disposition."""

    rule_id: int
    status: str
    disposition: str | None
    count: int


class SearchConsoleTx(Protocol):
    """Aggregates for the console's search and rules pages (store/search_console_sql.py)."""

    def search_facets(self, query: Query, *, cap: int, top: int) -> SearchFacets:
        """Facets and per-day counts of the newest ``cap`` posts matching ``query`` (``top`` per facet)."""
        ...

    def rule_alert_counts(self, *, since: datetime) -> dict[int, int]:
        """Alerts raised at or after ``since``, per rule id (rules without any are absent)."""
        ...

    def rule_outcomes(self) -> list[RuleOutcome]:
        """Every alert counted by rule, status and disposition."""
        ...


# -- the console's live queue, post context and dashboard (store/console_sql.py) -----------------------


class ConsoleTx(Protocol):
    """Reads for the live queue, a post's context and the dashboard (store/console_sql.py)."""

    def latest_alert_id(self) -> int:
        """The highest alert id, 0 when there are none."""
        ...

    def alerts_after(self, after_id: int, where: AlertFilter, *, limit: int) -> list[Alert]:
        """Alerts above ``after_id`` matching ``where``, oldest id first (the live queue's poll)."""
        ...

    def cluster_alerts(
        self, cluster_ids: Sequence[int], *, statuses: tuple[AlertStatus, ...]
    ) -> dict[int, list[int]]:
        """Alert ids in ``statuses`` per near-duplicate cluster, any rule."""
        ...

    def posts_by_keys(self, keys: Sequence[tuple[str, str]]) -> list[StoredPost]: ...

    def reply_posts(self, platform: str, native_id: str, *, limit: int) -> list[StoredPost]:
        """Stored replies to a post, direct or anywhere in its thread, oldest first."""
        ...

    def cluster_posts(self, cluster_id: int, *, exclude: int, limit: int) -> list[StoredPost]: ...

    def account_posts(
        self, platform: str, *, author_key: str | None, author_id: str | None, exclude: int, limit: int
    ) -> list[StoredPost]: ...

    def alert_volume(
        self, *, since: datetime, until: datetime, bucket_seconds: int
    ) -> list[tuple[int, int, int]]:
        """``(bucket, rule_id, count)`` of alerts raised in the window."""
        ...

    def post_volume(
        self, *, since: datetime, until: datetime, bucket_seconds: int, by: Literal["platform", "lang"]
    ) -> list[tuple[int, str, int]]:
        """``(bucket, platform or language, count)`` of posts collected in the window."""
        ...


class SourcesTx(Protocol):
    """Live sources and their committed cursors (``store/sources_sql.py``)."""

    def create_source(
        self, *, name: str, kind: str, config: dict[str, Any], basis_id: int, created_by: str, at: datetime
    ) -> Source: ...

    def get_source(self, source_id: int) -> Source | None: ...

    def source_named(self, name: str) -> Source | None: ...

    def list_sources(self) -> list[Source]: ...

    def set_source_status(
        self, source_id: int, status: SourceStatus, *, at: datetime, error: str | None = None
    ) -> None: ...

    def record_source_error(self, source_id: int, error: str, *, at: datetime) -> None: ...

    def advance_source(self, source_id: int, *, cursor: str | None, posts: int, at: datetime) -> None: ...

    def delete_source(self, source_id: int) -> bool: ...


class ImagesTx(Protocol):
    """Known-image lists and the image facts media enrichment adds to posts (``store/image_sql.py``)."""

    def create_image_list(
        self, *, name: str, description: str, basis_id: int, created_by: str, at: datetime
    ) -> ImageList: ...

    def image_list_named(self, name: str) -> ImageList | None: ...

    def list_image_lists(self) -> list[ImageList]: ...

    def add_image_list_item(
        self,
        list_id: int,
        *,
        phash: str | None,
        pdq: str | None,
        sha256: str | None,
        label: str | None,
        added_by: str,
        at: datetime,
        regions: tuple[RegionHash, ...] = (),
    ) -> ImageListItem: ...

    def image_list_items(self, list_id: int) -> list[ImageListItem]: ...

    def remove_image_list_item(self, list_id: int, item_id: int) -> None: ...

    def image_list_hashes(self) -> dict[str, frozenset[str]]:
        """``"~name" -> {"pdq:<hex>", "phash:<hex>"}`` for every list (the matcher's view)."""
        ...

    def set_post_image_facts(
        self, post_id: int, *, image_text: str | None, image_hashes: tuple[str, ...]
    ) -> bool: ...


class MediaCounts(msgspec.Struct, frozen=True, kw_only=True):
    """The media queue and store at a glance (for `watchfloor media status`)."""

    by_state: dict[str, int]  # queue entries per state: pending, fetched, failed, refused
    retrying: int  # pending entries that failed at least once
    objects: int  # stored files
    object_bytes: int
    frames: int  # video keyframes


class MediaTx(Protocol):
    """The media fetch queue, stored media objects and video keyframes (``store/media_sql.py``)."""

    def claim_due_media(self, *, now: datetime, limit: int, lease_until: datetime) -> list[PostMedia]:
        """Take up to ``limit`` due pending entries, oldest first, leased until ``lease_until``."""
        ...

    def set_media_outcome(
        self,
        post_id: int,
        position: int,
        *,
        state: MediaState,
        attempts: int,
        at: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        sha256: str | None = None,
    ) -> bool:
        """Record where an entry stands after an attempt; False if the entry is gone (its post purged)."""
        ...

    def media_entry_exists(self, post_id: int, position: int) -> bool: ...

    def fetched_sha_for_url(self, url: str) -> str | None:
        """The stored file of an entry already fetched from exactly this URL, if any."""
        ...

    def media_for_posts(
        self, post_ids: Sequence[int]
    ) -> dict[int, list[tuple[PostMedia, MediaObject | None]]]: ...

    def media_for_post(self, post_id: int) -> list[tuple[PostMedia, MediaObject | None]]: ...

    def posts_with_pending_media(self, post_ids: Sequence[int]) -> set[int]: ...

    def posts_awaiting_image_facts(self, *, limit: int) -> list[int]:
        """Posts whose media have all finished but whose image facts were not applied yet."""
        ...

    def mark_image_facts_applied(self, post_ids: Sequence[int], *, at: datetime) -> None:
        """Record that these posts' finished media had their facts written and were matched again."""
        ...

    def media_counts(self) -> MediaCounts: ...

    def recent_media_failures(self, *, limit: int) -> list[PostMedia]: ...

    def get_media_object(self, sha256: str) -> MediaObject | None: ...

    def put_media_object(self, obj: MediaObject) -> bool:
        """Store an object's row; False (nothing changes) if its hash is stored already."""
        ...

    def set_media_enrichment(self, sha256: str, enrichment: Enrichment, *, at: datetime) -> bool: ...

    def put_media_frames(self, frames: Sequence[MediaFrame]) -> None: ...

    def frames_of(self, video_sha256: str) -> list[MediaFrame]: ...


class StoreTx(
    PostsTx,
    RulesTx,
    AlertsTx,
    AuditTx,
    IdentityTx,
    OversightTx,
    CaseworkTx,
    ReportsTx,
    SearchConsoleTx,
    ConsoleTx,
    SourcesTx,
    ImagesTx,
    MediaTx,
    Protocol,
):
    """Everything a service can do inside one transaction."""


class Store(Protocol):
    """A database holding watchfloor's data."""

    url: str
    dialect: str  # "sqlite" or "postgresql"

    def transaction(self) -> AbstractContextManager[StoreTx]: ...

    def snapshot(self) -> AbstractContextManager[StoreTx]:
        """A read-only transaction that takes no write lock (for frequent cheap reads)."""
        ...

    def prefer_prompt_writes(self) -> None:
        """This process's writes are short and people wait for them (the console): take the write
        lock as soon as it is free rather than in back-off steps."""
        ...

    def post_indexes_deferred(self, expected_posts: int) -> AbstractContextManager[bool]:
        """A bulk import of about ``expected_posts``: where it pays, go without the posts' query-only
        indexes for the block and rebuild them at its end; yields whether it did."""
        ...

    def close(self) -> None: ...
