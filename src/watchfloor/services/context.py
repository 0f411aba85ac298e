"""What every service function receives: the store, the clock, the settings, media files (built by wiring)."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchfloor.config import Settings
from watchfloor.domain.clock import Clock
from watchfloor.services.matching import MatcherCache
from watchfloor.store.media_files import MediaFiles
from watchfloor.store.ports import Store


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """The store, clock and settings, plus per-process caches (the compiled rule matcher).

    ``media`` is where fetched media files live; ``None`` when no media directory is configured (a
    PostgreSQL store without WATCHFLOOR_MEDIA_DIR): services that need files say so (ConfigError).
    """

    store: Store
    clock: Clock
    settings: Settings
    matchers: MatcherCache = field(default_factory=MatcherCache)
    media: MediaFiles | None = None
