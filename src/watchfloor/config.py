"""The one typed Settings object, built once from WATCHFLOOR_* environment variables and passed in.

Nothing else in watchfloor reads ``os.environ``. Command-line options override these values by
constructing Settings with explicit keyword arguments.
"""

from __future__ import annotations

from pydantic import Field
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
