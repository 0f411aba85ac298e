"""What every service function receives: the store, the clock and the settings (built by wiring)."""

from __future__ import annotations

from dataclasses import dataclass

from watchfloor.config import Settings
from watchfloor.domain.clock import Clock
from watchfloor.store.ports import Store


@dataclass(frozen=True, slots=True)
class ServiceContext:
    store: Store
    clock: Clock
    settings: Settings
