"""What every service function receives: the store, the clock and the settings (built by wiring)."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchfloor.config import Settings
from watchfloor.domain.clock import Clock
from watchfloor.services.matching import MatcherCache
from watchfloor.store.ports import Store


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """The store, clock and settings, plus per-process caches (the compiled rule matcher)."""

    store: Store
    clock: Clock
    settings: Settings
    matchers: MatcherCache = field(default_factory=MatcherCache)
