"""Table definitions (SQLAlchemy Core) shared by the SQLite and PostgreSQL adapters.

Times are stored as BIGINT microseconds since the Unix epoch, UTC, in both databases: one type that
sorts, compares and partitions the same everywhere (decision record docs/decisions/0002-time-as-int.md).
The migrations in ``store/migrations`` create exactly these tables; a contract test checks that the
migrated database and this metadata agree.

Rules, alerts and their history (from migration 0002) follow at the end: small JSON values (matched
spans, field evidence, account-list members) are msgspec JSON text; everything an alert query filters
or sorts on is a real column.

The audit log (migration 0003) is append-only: one row per event, keyed by its dense sequence number,
holding the canonical leaf bytes and their RFC 9162 leaf hash; ``actor``, ``action`` and ``at_us``
repeat what the leaf says so the log can be listed and filtered without decoding every leaf (the
verifier checks that they agree). Signed checkpoints keep the tree's right-edge frontier beside the note.

The full-text index is dialect-specific and lives beside the adapters: a contentless FTS5 table
``posts_fts`` in SQLite, a ``search_tsv`` tsvector column with a GIN index in PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# BigInteger autoincrement maps to INTEGER PRIMARY KEY (the rowid) on SQLite and an identity on PostgreSQL.
_Id = BigInteger().with_variant(Integer(), "sqlite")

posts = Table(
    "posts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("native_id", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("collected_us", BigInteger, nullable=False),
    Column("author_key", Text),  # casefolded handle without '@', for from:
    Column("author_id", Text),
    Column("has_media", Boolean, nullable=False),
    Column("has_links", Boolean, nullable=False),
    Column("has_geo", Boolean, nullable=False),
    Column("is_reply", Boolean, nullable=False),
    Column("is_repost", Boolean, nullable=False),
    Column("is_quote", Boolean, nullable=False),
    Column("urls_cf", Text),  # casefolded URLs, newline-separated, for url: substring filters
    Column("content_key", BigInteger),  # first 8 bytes of the pipeline's content hash, signed
    Column("cluster_id", BigInteger),
    Column("raw_digest", LargeBinary),
    Column("import_id", BigInteger),
    Column("deleted_us", BigInteger),
    Column("doc", LargeBinary, nullable=False),  # the full normalised Post as JSON (msgspec)
    UniqueConstraint("platform", "native_id", name="uq_posts_natural_key"),
)
Index("ix_posts_created", posts.c.created_us)
# PostgreSQL only (migration 0009): posts is partitioned by collection month there, so the natural key
# is kept unique here instead (store.postgres.partitions says why).
postgres_metadata = MetaData()  # tables only the PostgreSQL store has (made by its migrations)
post_keys = Table(
    "post_keys",
    postgres_metadata,
    Column("platform", String(32), primary_key=True),
    Column("native_id", Text, primary_key=True),
    Column("post_id", BigInteger, nullable=False, index=True),
)
Index("ix_posts_author_key", posts.c.author_key)
Index("ix_posts_author_id", posts.c.author_id)
Index("ix_posts_content_key", posts.c.content_key)
Index("ix_posts_cluster", posts.c.cluster_id)

# Exact-match selectors for fields: hashtag, mention, domain (every host suffix down to the
# registrable domain), lang (primary subtag). One row per (post, kind, value).
post_terms = Table(
    "post_terms",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("post_id", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)
Index("ix_post_terms_post", post_terms.c.post_id)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("digest", LargeBinary, primary_key=True),  # SHA-256 of payload
    Column("format", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

dedup_bands = Table(
    "dedup_bands",
    metadata,
    Column("band_key", BigInteger, primary_key=True, autoincrement=False),
    Column("cluster_id", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

deletions = Table(
    "deletions",
    metadata,
    Column("platform", String(32), primary_key=True),
    Column("native_id", Text, primary_key=True),
    Column("deleted_us", BigInteger),
    Column("seen_us", BigInteger, nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("format", String(64), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger),
    Column("records", BigInteger, nullable=False, default=0),
    Column("inserted", BigInteger, nullable=False, default=0),
    Column("duplicates", BigInteger, nullable=False, default=0),
    Column("deletions", BigInteger, nullable=False, default=0),
    Column("skipped", BigInteger, nullable=False, default=0),
    Column("quarantined", BigInteger, nullable=False, default=0),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("import_id", BigInteger),
    Column("format", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("line", BigInteger),
    Column("item_index", BigInteger),
    Column("field", Text),
    Column("reason", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("quarantined_us", BigInteger, nullable=False),
    # Hash of (format, source, line, index, reason, payload): re-importing a file adds no second entry.
    Column("entry_key", LargeBinary, nullable=False),
    UniqueConstraint("entry_key", name="uq_quarantine_entry"),
)
Index("ix_quarantine_import", quarantine.c.import_id)

# -- rules and account lists (0002) -------------------------------------------------------------------

rules = Table(
    "rules",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("owner", Text, nullable=False),
    Column("status", String(16), nullable=False),  # RuleStatus
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("current_version", Integer, nullable=False),
)

rule_versions = Table(
    "rule_versions",
    metadata,
    Column("rule_id", BigInteger, primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("description", Text),
    Column("volume_threshold", Integer),  # both set for a volume rule, both NULL otherwise
    Column("volume_window_minutes", Integer),
    Column("basis_id", BigInteger),
    Column("author", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("change_note", Text),
    # Rule linter (0004): the sensitive terms found, the author's justification, the second approval.
    Column("justification", Text),
    Column("sensitive_terms", Text),  # JSON array; NULL when the linter found none
    Column("approved_by", Text),
    Column("approved_us", BigInteger),
    ForeignKeyConstraint(["rule_id"], ["rules.id"], name="fk_rule_versions_rule"),
)

# One counter row per key; "rules_revision" changes with every rule or account-list change.
store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

account_lists = Table(
    "account_lists",
    metadata,
    Column("name", Text, primary_key=True),
    Column("members", Text, nullable=False),  # JSON array of folded handles / ids
    Column("owner", Text, nullable=False),
    Column("description", Text),
    Column("updated_us", BigInteger, nullable=False),
)

# -- alerts (0002) ------------------------------------------------------------------------------------

alerts = Table(
    "alerts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # AlertKind
    Column("rule_id", BigInteger, nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # AlertStatus
    Column("created_us", BigInteger, nullable=False),
    Column("deadline_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("post_id", BigInteger),  # no foreign key: retention may remove the post, the alert stays
    Column("cluster_id", BigInteger),
    Column("post_count", BigInteger, nullable=False),
    Column("spans", Text, nullable=False),  # JSON [[start, end], ...]
    Column("fields", Text, nullable=False),  # JSON ["lang:en", ...]
    Column("assignee", Text),
    Column("disposition", String(32)),
    Column("breached_us", BigInteger),
    Column("window_start_us", BigInteger),  # burst alerts only
    Column("window_end_us", BigInteger),
    # Provenance: the exact rule version that fired must exist.
    ForeignKeyConstraint(
        ["rule_id", "rule_version"],
        ["rule_versions.rule_id", "rule_versions.version"],
        name="fk_alerts_rule_version",
    ),
    # One burst alert per (rule, window): replaying a volume window raises nothing new. NULLs (post
    # alerts) never collide, in SQLite and PostgreSQL alike.
    UniqueConstraint("rule_id", "window_start_us", name="uq_alerts_burst_window"),
)
Index("ix_alerts_queue", alerts.c.status, alerts.c.deadline_us)
Index("ix_alerts_group", alerts.c.rule_id, alerts.c.cluster_id)

# Which posts an alert covers. (rule, post) is unique: a post re-imported or re-matched by the same rule
# is recorded once, which is what makes writing alerts idempotent.
alert_posts = Table(
    "alert_posts",
    metadata,
    Column("alert_id", BigInteger, primary_key=True, autoincrement=False),
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("rule_id", BigInteger, nullable=False),
    ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_posts_alert"),
    UniqueConstraint("rule_id", "post_id", name="uq_alert_posts_rule_post"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),  # AlertAction
    Column("from_status", String(16)),
    Column("to_status", String(16)),
    Column("disposition", String(32)),
    Column("note", Text),
    ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_events_alert"),
)
Index("ix_alert_events_alert", alert_events.c.alert_id)
Index("ix_alert_events_at", alert_events.c.at_us)

# Matches of volume rules, counted per time window to decide when a burst alert is due.
rule_hits = Table(
    "rule_hits",
    metadata,
    Column("rule_id", BigInteger, primary_key=True, autoincrement=False),
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("post_us", BigInteger, nullable=False),
    ForeignKeyConstraint(["rule_id"], ["rules.id"], name="fk_rule_hits_rule"),
    sqlite_with_rowid=False,
)
Index("ix_rule_hits_time", rule_hits.c.rule_id, rule_hits.c.post_us)

handover_notes = Table(
    "handover_notes",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("author", Text, nullable=False),
    Column("body", Text, nullable=False),
)
Index("ix_handover_notes_at", handover_notes.c.at_us)

# -- audit log (0003) ---------------------------------------------------------------------------------

audit_events = Table(
    "audit_events",
    metadata,
    # The leaf index, dense from 0; the rowid itself on SQLite (cheap max(seq)).
    Column("seq", _Id, primary_key=True, autoincrement=False),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("leaf", LargeBinary, nullable=False),  # canonical JSON, printable ASCII (domain/audit.py)
    Column("leaf_hash", LargeBinary, nullable=False),  # SHA-256(0x00 || leaf)
)
Index("ix_audit_events_actor", audit_events.c.actor, audit_events.c.seq)
Index("ix_audit_events_action", audit_events.c.action, audit_events.c.seq)
Index("ix_audit_events_at", audit_events.c.at_us)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary, nullable=False),
    Column("frontier", LargeBinary, nullable=False),  # right-edge subtree hashes, 32 bytes each
    Column("note", Text, nullable=False),  # the signed C2SP checkpoint
    Column("signed_us", BigInteger, nullable=False),
)

# -- accountability (0004) ----------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("display_name", Text),
    Column("roles", Text, nullable=False),  # comma-separated, sorted (domain/identity.py ROLES)
    Column("password_hash", Text),  # argon2id PHC string; NULL until a password is set
    Column("totp_secret", Text),  # base32; NULL until enrolled
    Column("disabled", Boolean, nullable=False),
    Column("demo", Boolean, nullable=False),  # created by `watchfloor demo`: labelled everywhere
    Column("created_us", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("name", name="uq_users_name"),
)

# Failed log-ons, per account name (known or not) and per source, for throttling.
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
)
Index("ix_auth_failures_name", auth_failures.c.name, auth_failures.c.at_us)
Index("ix_auth_failures_source", auth_failures.c.source, auth_failures.c.at_us)

# Console sessions and API tokens: only the SHA-256 of the token is stored.
sessions = Table(
    "sessions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("token_hash", LargeBinary, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # "session" | "api"
    Column("label", Text),
    Column("created_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),  # absolute expiry
    Column("revoked_us", BigInteger),
    ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user"),
    UniqueConstraint("token_hash", name="uq_sessions_token"),
)
Index("ix_sessions_user", sessions.c.user_id)

legal_bases = Table(
    "legal_bases",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("authority", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("necessity", Text, nullable=False),  # necessity and proportionality note
    Column("owner", Text, nullable=False),
    Column("review_us", BigInteger),
    Column("expires_us", BigInteger),
    Column("created_us", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("retired_us", BigInteger),
    Column("retired_by", Text),
    Column("retired_reason", Text),
)

# Named-account watch authorisations (the central register).
watches = Table(
    "watches",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("subject", Text, nullable=False),  # folded handle (query/fields.py fold_handle)
    Column("platform", String(32)),  # NULL: the handle on any platform
    Column("basis_id", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),  # necessity, proportionality, collateral intrusion
    Column("requester", Text, nullable=False),
    Column("requested_us", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # WatchStatus as stored (expiry is computed)
    Column("days", Integer, nullable=False),  # requested duration
    Column("approver", Text),
    Column("decided_us", BigInteger),
    Column("decision_note", Text),
    Column("starts_us", BigInteger),
    Column("expires_us", BigInteger),
    Column("renewal_of", BigInteger),
    Column("cancelled_by", Text),
    Column("cancelled_us", BigInteger),
    ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_watches_basis"),
)
Index("ix_watches_subject", watches.c.subject, watches.c.status)

# One row per (analyst, account, session) look at an account's posts, for the repeated-viewing rule.
account_views = Table(
    "account_views",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("actor", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("session_key", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
)
Index("ix_account_views", account_views.c.actor, account_views.c.subject, account_views.c.at_us)

cases = Table(
    "cases",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("basis_id", BigInteger, nullable=False),
    Column("owner", Text, nullable=False),
    Column("status", String(16), nullable=False),  # "open" | "closed"
    Column("opened_us", BigInteger, nullable=False),
    Column("closed_us", BigInteger),
    Column("summary", Text),
    Column("due_us", BigInteger),  # the case's deadline (migration 0005)
    ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_cases_basis"),
)

case_alerts = Table(
    "case_alerts",
    metadata,
    Column("case_id", BigInteger, primary_key=True, autoincrement=False),
    Column("alert_id", BigInteger, primary_key=True, autoincrement=False),
    Column("added_by", Text, nullable=False),
    Column("added_us", BigInteger, nullable=False),
    ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_alerts_case"),
)
Index("ix_case_alerts_alert", case_alerts.c.alert_id)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # "case" | "alert" | "post"
    Column("object_id", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("placed_by", Text, nullable=False),
    Column("placed_us", BigInteger, nullable=False),
    Column("released_by", Text),
    Column("released_us", BigInteger),
)
Index("ix_legal_holds_object", legal_holds.c.kind, legal_holds.c.object_id)

# Exports and reports awaiting, granted or refused a second person's review; bound to a content hash.
disseminations = Table(
    "disseminations",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # "export" | "report"
    Column("title", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("basis_id", BigInteger, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("spec", Text, nullable=False),  # JSON: what to produce (query, format, sort, case id)
    Column("content_sha256", Text, nullable=False),  # of the exact bytes reviewed
    Column("item_count", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # "pending" | "approved" | "rejected" | "released"
    Column("created_us", BigInteger, nullable=False),
    Column("reviewer", Text),
    Column("decided_us", BigInteger),
    Column("decision_note", Text),
    Column("released_us", BigInteger),
    Column("manifest", Text),  # JSON: the manifest the release handed out (migration 0005)
    ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_disseminations_basis"),
)

# The exact bytes under review, kept until released or rejected (then deleted; the hash stays).
dissemination_blobs = Table(
    "dissemination_blobs",
    metadata,
    Column("dissemination_id", BigInteger, primary_key=True, autoincrement=False),
    Column("content", LargeBinary, nullable=False),
    ForeignKeyConstraint(
        ["dissemination_id"], ["disseminations.id"], name="fk_dissemination_blobs_dissemination"
    ),
)

# Casework (migration 0005): tasks, typed notes, manual account links, write-once evidence and custody.
case_tasks = Table(
    "case_tasks",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("done", Boolean, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("done_by", Text),
    Column("done_us", BigInteger),
    ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_tasks_case"),
)
Index("ix_case_tasks_case", case_tasks.c.case_id)

case_notes = Table(
    "case_notes",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # "fact" | "assessment"
    Column("body", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_notes_case"),
)
Index("ix_case_notes_case", case_notes.c.case_id)

# An account linked to a case by hand, with the analyst's reason; never made automatically.
case_links = Table(
    "case_links",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("platform", Text),
    Column("handle", Text, nullable=False),  # folded
    Column("reason", Text, nullable=False),
    Column("linked_by", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_links_case"),
)
Index("ix_case_links_case", case_links.c.case_id)

# Content-addressed, write-once bytes of evidence parts: inserting an existing hash changes nothing.
evidence_blobs = Table(
    "evidence_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True, autoincrement=False),
    Column("content", LargeBinary, nullable=False),
)

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("post_id", BigInteger, nullable=False),  # no foreign key: the evidence outlives the post
    Column("platform", Text, nullable=False),
    Column("native_id", Text, nullable=False),
    Column("url", Text),
    Column("captured_us", BigInteger, nullable=False),
    Column("captured_by", Text, nullable=False),
    Column("basis_id", BigInteger, nullable=False),
    Column("tool_version", Text, nullable=False),
    ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_evidence_items_case"),
)
Index("ix_evidence_items_case", evidence_items.c.case_id)

evidence_parts = Table(
    "evidence_parts",
    metadata,
    Column("evidence_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, primary_key=True),  # "raw.json", "snapshot.html", later media files
    Column("media_type", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    ForeignKeyConstraint(["evidence_id"], ["evidence_items.id"], name="fk_evidence_parts_item"),
    ForeignKeyConstraint(["sha256"], ["evidence_blobs.sha256"], name="fk_evidence_parts_blob"),
)
Index("ix_evidence_parts_sha256", evidence_parts.c.sha256)

# The chain of custody: captured, viewed, exported (in a report), released, deleted.
custody_events = Table(
    "custody_events",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("evidence_id", BigInteger, nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("note", Text),
    ForeignKeyConstraint(["evidence_id"], ["evidence_items.id"], name="fk_custody_events_item"),
)
Index("ix_custody_events_item", custody_events.c.evidence_id, custody_events.c.id)

# Live sources (migration 0006): a feed or stream the runner collects, with the cursor committed in the
# same transaction as the posts read before it, and the counters `sources status` shows.
sources = Table(
    "sources",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("config", Text, nullable=False),  # JSON object: url, every, ... (no secrets)
    Column("basis_id", BigInteger, nullable=False),  # collection runs under a legal basis in force
    Column("cursor", Text),  # opaque to everyone but the connector; None before the first batch
    Column("status", String(16), nullable=False),  # active | paused | failed
    Column("last_success_us", BigInteger),
    Column("last_error", Text),
    Column("error_count", BigInteger, nullable=False),
    Column("posts_total", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("name", name="uq_sources_name"),
    ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_sources_basis"),
)

# Ids of purged posts (migration 0007). SQLite gives posts time-ordered ids (created_us * 1000 + slot);
# without this a post stored later in the same microsecond could take a purged post's id, and the audit
# log's "post:<id>" would then name the wrong post. Ids only: nothing about the post is kept.
retired_post_ids = Table(
    "retired_post_ids",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

# Media (migration 0007). A post's fetchable media references become ``post_media`` queue entries when
# the post is stored; the fetcher moves each to fetched/failed/refused. Fetched files are stored once,
# content-addressed by SHA-256 (bytes on disk in the media directory, what was read from them here).
# Known-image lists hold hashes that rules match with imagehash:~name. No EXIF GPS, no faces (DESIGN.md).
media_objects = Table(
    "media_objects",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", Text, nullable=False),  # sniffed from the bytes
    Column("width", Integer),
    Column("height", Integer),
    Column("duration_ms", BigInteger),
    Column("phash", String(16)),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
    Column("ocr_text", Text),
    Column("ocr_status", String(16), nullable=False),
    Column("camera", Text),  # JSON CameraInfo, or NULL
    Column("stored_us", BigInteger, nullable=False),
    Column("enriched_us", BigInteger),
    Column("region_hashes", Text),  # JSON [RegionHash] (migration 0008), or NULL
    Column("notes", Text),  # JSON [str]: what the enricher could not do (migration 0008), or NULL
)
Index("ix_media_objects_phash", media_objects.c.phash)

post_media = Table(
    "post_media",
    metadata,
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | fetched | failed | refused
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_us", BigInteger),
    Column("last_error", Text),
    Column("sha256", String(64)),
    Column("updated_us", BigInteger, nullable=False),
    Column("facts_us", BigInteger),  # when the post's image facts were applied after this entry finished
    ForeignKeyConstraint(["sha256"], ["media_objects.sha256"], name="fk_post_media_object"),
)
Index("ix_post_media_due", post_media.c.state, post_media.c.next_attempt_us)
_AWAITING_FACTS = text("facts_us IS NULL AND state <> 'pending'")
Index(
    "ix_post_media_awaiting_facts",
    post_media.c.post_id,
    sqlite_where=_AWAITING_FACTS,
    postgresql_where=_AWAITING_FACTS,
)
Index("ix_post_media_sha256", post_media.c.sha256)
# "Was this URL fetched already?" (each URL is fetched once). A hash index on PostgreSQL: URLs can be longer
# than a B-tree entry may be; SQLite has no such limit.
Index("ix_post_media_url", post_media.c.url, postgresql_using="hash")

media_frames = Table(
    "media_frames",
    metadata,
    Column("video_sha256", String(64), primary_key=True),
    Column("frame_no", Integer, primary_key=True, autoincrement=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("frame_sha256", String(64), nullable=False),
    ForeignKeyConstraint(["video_sha256"], ["media_objects.sha256"], name="fk_media_frames_video"),
    ForeignKeyConstraint(["frame_sha256"], ["media_objects.sha256"], name="fk_media_frames_frame"),
)

image_lists = Table(
    "image_lists",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("basis_id", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("name", name="uq_image_lists_name"),
    ForeignKeyConstraint(["basis_id"], ["legal_bases.id"], name="fk_image_lists_basis"),
)

image_list_items = Table(
    "image_list_items",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("list_id", BigInteger, nullable=False),
    Column("phash", String(16)),
    Column("pdq", String(64)),
    Column("sha256", String(64)),
    Column("label", Text),
    Column("added_by", Text, nullable=False),
    Column("added_us", BigInteger, nullable=False),
    Column("region_hashes", Text),  # JSON [RegionHash] of an uploaded file (migration 0008), or NULL
    ForeignKeyConstraint(["list_id"], ["image_lists.id"], name="fk_image_list_items_list"),
)
Index("ix_image_list_items_list", image_list_items.c.list_id)
