"""Live connector kinds: name -> factory(config, http client) -> Connector.

Each platform module registers itself here at import (``register("rss", RssConnector.from_config)``);
``KINDS`` lists the modules to import, so adding a platform is one module and one line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from watchfloor.connectors.live.contract import Connector
from watchfloor.domain.errors import ConfigError

Factory = Callable[[Mapping[str, Any]], Connector]
_FACTORIES: dict[str, Factory] = {}
KINDS: dict[str, str] = {  # kind -> module under watchfloor.connectors.live (filled as platforms land)
    "bluesky-jetstream": "jetstream",
    "mastodon": "mastodon",
    "mastodon-stream": "mastodon_stream",
    "reddit": "reddit",
    "rss": "rss",
    "telegram-web": "telegram_web",
    "tiktok-research": "tiktok",
    "youtube": "youtube",
}


def register(kind: str, factory: Factory) -> None:
    """Make ``kind`` buildable from a source's configuration."""
    _FACTORIES[kind] = factory


def build(kind: str, config: Mapping[str, Any]) -> Connector:
    """A connector of ``kind`` for a source's ``config`` (ConfigError naming the known kinds)."""
    if kind not in _FACTORIES and kind in KINDS:
        importlib.import_module(f"watchfloor.connectors.live.{KINDS[kind]}")
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise ConfigError(
            f"unknown source kind {kind!r}: known kinds are {', '.join(sorted(KINDS)) or 'none'}"
        )
    return factory(config)
