"""The one typed Settings object, built once from WATCHFLOOR_* environment variables and passed in.

Nothing else in watchfloor reads ``os.environ``. Command-line options override these values by
constructing Settings with explicit keyword arguments. The secrets live sources name by environment
variable reach their connectors as ``Settings.credentials`` (see :class:`Credentials`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Credentials:
    """The process environment's variables, for the secrets live sources name (``client_id_env``).

    Why not Settings fields: operators choose these names per source (``client_id_env = "REDDIT_ID"``),
    so they cannot be declared in advance. Settings snapshots the environment once, when it is built,
    and passes this to the connector registry; connectors read the variable their settings name with
    ``get`` and never touch ``os.environ``. Values are held as SecretStr and never shown by ``repr``.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {name: SecretStr(value) for name, value in values.items()}

    @classmethod
    def from_environment(cls) -> Credentials:
        """A snapshot of this process's environment variables."""
        return cls(os.environ)

    def get(self, name: str, /) -> str | None:
        """The value of the environment variable ``name``; None when it was not set."""
        value = self._values.get(name)
        return None if value is None else value.get_secret_value()

    def __repr__(self) -> str:
        return f"Credentials(<{len(self._values)} variables, values hidden>)"


class Settings(BaseSettings):
    """Everything watchfloor can be configured with."""

    model_config = SettingsConfigDict(env_prefix="WATCHFLOOR_", extra="ignore")

    # Not a field (never loaded from WATCHFLOOR_*, never serialised or shown): see Credentials.
    _credentials: Credentials = PrivateAttr(default_factory=Credentials.from_environment)

    @property
    def credentials(self) -> Credentials:
        """The runner's environment variables, snapshot when Settings was built, from which live
        connectors read the secrets their sources' settings name (``api_key_env = "YOUTUBE_API_KEY"``)."""
        return self._credentials

    database_url: str = Field(
        default="watchfloor.db",
        description=(
            "Where posts are stored: a SQLite file path (embedded mode, the default) or a "
            "postgresql://user@host/db URL (scale-out mode)."
        ),
    )
    batch_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description=(
            "Most posts per transaction during imports (see import_write_ms, which makes batches smaller "
            "on SQLite when they take long). Larger batches store posts faster into a large SQLite store "
            "(each commit rewrites the index pages its posts touched, and hash-keyed indexes are touched "
            "everywhere) but hold the writer longer: for bulk loads while nobody works in the console, "
            "`watchfloor import --bulk` uses fixed batches of 20,000 (or this, if larger)."
        ),
    )
    import_write_ms: int = Field(
        default=50,
        ge=0,
        le=60_000,
        description=(
            "On SQLite, about how long one import transaction may hold the store's single writer, in "
            "milliseconds: each batch is sized (up to batch_size posts) from how long the previous ones "
            "took, so analysts' pages, which each write an audit event, wait at most about this long "
            "behind an import however large the store has grown or however busy the machine is. 0 always "
            "writes batch_size posts. PostgreSQL has no single writer and always uses batch_size."
        ),
    )
    demo_dir: str | None = Field(
        default=None,
        description="Where `watchfloor demo` keeps its database (default: ./demo-data).",
    )
    debug: bool = Field(
        default=False,
        description="Show full tracebacks for unexpected errors (for developers; users never need it).",
    )
    sla_minutes: dict[str, int] = Field(
        default={"critical": 15, "high": 60, "medium": 240, "low": 1440},
        description=(
            "Minutes an alert of each severity may wait before its deadline is breached "
            "(JSON in the environment, e.g. WATCHFLOOR_SLA_MINUTES='{\"critical\": 10, ...}')."
        ),
    )
    shift_hours: int = Field(
        default=8,
        ge=1,
        le=24,
        description="Length of a shift: the period `watchfloor handover` looks back over.",
    )
    untouched_minutes: int = Field(
        default=30,
        ge=1,
        description="A claimed alert with no action for this long is listed as untouched at handover.",
    )
    user: str | None = Field(
        default=None,
        description="The user the CLI acts as (overridden by --as); recorded on every change.",
    )
    basis: int | None = Field(
        default=None,
        description=(
            "The legal basis (id from `watchfloor basis list`) the CLI works under: searches, rules, "
            "watches, cases and exports must name one (overridden by --basis)."
        ),
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description=(
            "Ed25519 private key that signs audit-log checkpoints: the base64 of the raw 32-byte key "
            "printed by `watchfloor audit keygen` (a PKCS#8 PEM also works). Keep it secret and out of "
            "database backups; without it no checkpoint can be signed."
        ),
    )
    audit_origin: str = Field(
        default="watchfloor.local/audit",
        description=(
            "The audit log's name: the first line of every checkpoint and the name of its key. Set a "
            "unique schema-less URL per deployment (e.g. floor.example.org/audit) so checkpoints of two "
            "deployments can never be mistaken for each other."
        ),
    )
    audit_checkpoint_file: str | None = Field(
        default=None,
        description=(
            "Where the signer keeps a copy of the newest checkpoint it signed, outside the database, so "
            "a database restored from an older backup is noticed and never signed over (default: the "
            "SQLite file's path + '.checkpoint'; PostgreSQL gets this protection only when it is set). "
            "Keep it off the media the database is backed up to."
        ),
    )
    # -- sign-in (services/auth.py, docs/accounts-and-sign-in.md) --
    auth_max_failures: int = Field(
        default=10,
        ge=1,
        description=(
            "Failed sign-ins per account name, and per source, within the failure window after which "
            "further attempts are refused without checking the password (ASVS 6.3.1)."
        ),
    )
    auth_failure_window_minutes: int = Field(
        default=15,
        ge=1,
        description="The window over which failed sign-ins are counted for throttling.",
    )
    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=30,
        description="A console session unused for this long ends (at most 30 minutes, ASVS 7.3.1).",
    )
    session_absolute_hours: int = Field(
        default=12,
        ge=1,
        le=12,
        description="A console session ends this long after sign-in, used or not (at most a 12-hour shift).",
    )
    api_token_days: int = Field(
        default=90,
        ge=1,
        le=366,
        description="How long a new API token is valid unless `tokens create --days N` says otherwise.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        # WATCHFLOOR_TOKEN is the documented name; Settings(WATCHFLOOR_TOKEN=...) in code.
        validation_alias=AliasChoices("WATCHFLOOR_TOKEN", "WATCHFLOOR_API_TOKEN"),
        description=(
            "An API token (from `watchfloor tokens create`), in WATCHFLOOR_TOKEN: when set, the CLI acts "
            "as the token's user instead of --as / WATCHFLOOR_USER, for scripts."
        ),
    )
    password_hash_memory_kib: int = Field(
        default=65536,
        ge=32,
        description=(
            "Argon2id memory cost in KiB for new password hashes (default 64 MiB, RFC 9106's second "
            "recommendation); stored hashes made with other parameters are upgraded at the next sign-in."
        ),
    )
    password_hash_time_cost: int = Field(
        default=3,
        ge=1,
        description="Argon2id passes over memory for new password hashes (see password_hash_memory_kib).",
    )
    # -- named-account watches (services/watches.py, docs/operator-guide.md) --
    watch_max_days: int = Field(
        default=90,
        ge=1,
        le=366,
        description=(
            "The longest a named-account watch may be approved for, in days; a longer request is refused "
            "(renewal, with a new approval, continues a watch)."
        ),
    )
    view_threshold_sessions: int = Field(
        default=3,
        ge=1,
        description=(
            "How many distinct sessions an analyst may look at one account's posts (a from: search) "
            "within view_window_days without a watch authorisation; the next session is refused."
        ),
    )
    view_window_days: int = Field(
        default=28,
        ge=1,
        description="The window over which view_threshold_sessions is counted, in days.",
    )
    # -- retention (services/retention.py, docs/operator-guide.md "Retention") --
    retention_unmatched_days: int = Field(
        default=30,
        ge=1,
        description="Posts no alert covers are purged this many days after they were collected.",
    )
    retention_alert_days: int = Field(
        default=180,
        ge=1,
        description="Alerts in no case are purged this many days after they were raised (with their posts).",
    )
    retention_case_days_after_close: int = Field(
        default=365,
        ge=0,
        description=(
            "Closed cases are purged this many days after closure; their alerts and posts then follow the "
            "alert and post periods. A legal hold overrides every period."
        ),
    )
    # -- media fetching (services/media.py, docs/media.md) --
    media_dir: str | None = Field(
        default=None,
        description=(
            "Where fetched photos and videos are kept, named by their SHA-256 (default: beside a SQLite "
            "database, its path + '.media/'; with PostgreSQL it must be set, e.g. /var/lib/watchfloor/media)."
        ),
    )
    media_max_image_mb: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Largest image the media fetcher downloads, in MB; a larger one is refused, not fetched.",
    )
    media_max_video_mb: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Largest video or animated GIF the media fetcher downloads, in MB; larger is refused.",
    )
    media_fetch_timeout_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description=(
            "The longest one media download may take, redirects and body included; a slower server is "
            "cut off and the fetch retried later."
        ),
    )
    media_fetch_attempts: int = Field(
        default=6,
        ge=1,
        le=20,
        description=(
            "Attempts at a media file before it is marked failed (retries back off: 1 min, 5 min, 25 min, "
            "about 2 h, then 6 h); refusals (private address, too large, wrong type) are final at once."
        ),
    )
    # -- media enrichment (pipeline/media, docs/media.md "Enrichment") --
    ocr_languages: str = Field(
        default="eng",
        description=(
            "Tesseract language packs OCR reads photos and video frames with, joined by '+' (e.g. "
            "'eng+deu+ara'; each needs Debian's tesseract-ocr-<code>); empty turns OCR off."
        ),
    )
    ocr_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="The longest OCR may take on one image or video frame before it is stopped (failed).",
    )
    tesseract_cmd: str = Field(
        default="tesseract",
        description="The tesseract program OCR runs (a name looked up on PATH, or a full path).",
    )
    media_max_megapixels: float = Field(
        default=50.0,
        gt=0,
        le=1000,
        description=(
            "Images declaring more pixels than this (in millions) are refused before decoding, as possible "
            "decompression bombs (a 50-megapixel image takes 150 MB of memory to decode)."
        ),
    )
    media_max_keyframes: int = Field(
        default=8,
        ge=0,
        le=100,
        description=(
            "Frames kept from each video (the first, then scene changes), each hashed and OCR'd; 0: none."
        ),
    )
    media_ffmpeg_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="The longest ffprobe or ffmpeg may run on one video; keyframes found by then are kept.",
    )
    ffmpeg_cmd: str = Field(
        default="ffmpeg",
        description="The ffmpeg program that takes video keyframes (a name on PATH, or a full path).",
    )
    ffprobe_cmd: str = Field(
        default="ffprobe",
        description="The ffprobe program that reads video duration and size (a name on PATH or a full path).",
    )
    # -- accuracy card (services/accuracy.py, docs/transparency-and-accuracy.md) --
    accuracy_min_sample: int = Field(
        default=10,
        ge=1,
        description=(
            "Judged alerts (true or false positive) a language needs before the accuracy card compares "
            "its false-positive rate with other languages'; smaller samples are shown but not compared."
        ),
    )
    web_secure_cookies: bool = Field(
        default=False,
        description=(
            "Mark the console's cookies Secure (sent over HTTPS only). Turn on whenever the console is "
            "served through HTTPS (it is automatic when the request itself arrives over HTTPS)."
        ),
    )
    # -- scale-out bus (bus/nats.py, docs/deployment.md) --
    bus_url: str | None = Field(
        default=None,
        description=(
            "The NATS JetStream server of scale-out mode, e.g. nats://127.0.0.1:4222: `watchfloor run "
            "--role connectors` publishes to it and `watchfloor worker` consumes from it. Unset: embedded "
            "mode, where `watchfloor run` stores what it collects itself."
        ),
    )
    bus_stream: str = Field(
        default="WATCHFLOOR",
        description="The JetStream stream collected records travel on (created if missing).",
    )
    bus_subject: str = Field(
        default="wf.envelopes",
        description=(
            "Subject prefix of the stream: a record of source 7 is published to '<prefix>.7'. Two "
            "deployments sharing one NATS server need different streams and prefixes."
        ),
    )
    bus_consumer: str = Field(
        default="workers",
        description="The durable pull consumer every `watchfloor worker` shares (created if missing).",
    )
    bus_duplicate_window_seconds: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        description=(
            "How long JetStream remembers a record's id (its natural key) to drop a re-send: a connectors "
            "process restarted after a crash re-publishes its last batch well within it. Later re-sends "
            "are still harmless (workers count them as duplicates), only slower."
        ),
    )
    bus_ack_wait_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description=(
            "How long a worker may hold a batch before JetStream gives it to another worker (a worker that "
            "died mid-batch is noticed after this long). Keep it well above a batch's commit time."
        ),
    )
    bus_max_deliver: int = Field(
        default=-1,
        ge=-1,
        description=(
            "Deliveries of one record before JetStream stops offering it; -1 (the default) never stops, "
            "so a long database outage loses nothing. Records a worker cannot store are quarantined with "
            "the reason instead."
        ),
    )
