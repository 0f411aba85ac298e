"""The one typed Settings object, built once from WATCHFLOOR_* environment variables and passed in.

Nothing else in watchfloor reads ``os.environ``. Command-line options override these values by
constructing Settings with explicit keyword arguments.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything watchfloor can be configured with."""

    model_config = SettingsConfigDict(env_prefix="WATCHFLOOR_", extra="ignore")

    database_url: str = Field(
        default="watchfloor.db",
        description=(
            "Where posts are stored: a SQLite file path (embedded mode, the default) or a "
            "postgresql://user@host/db URL (scale-out mode)."
        ),
    )
    batch_size: int = Field(
        default=5000,
        ge=1,
        le=100_000,
        description="Posts per transaction during imports: larger is faster, smaller shows progress sooner.",
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
