"""Live connector kinds: name -> factory(config, credentials) -> Connector.

Each platform module registers itself here at import (``register("rss", RssConnector.from_config)``);
``KINDS`` lists the modules to import, so adding a platform is one module and one line. A kind whose
settings name secrets registers with :func:`register_with_credentials`: its factory also receives the
credentials the caller passes to :func:`build` (``Settings.credentials``), and reads the variables its
settings name from them, never from ``os.environ``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from watchfloor.connectors.live.contract import Connector
from watchfloor.connectors.live.settings import NO_CREDENTIALS, CredentialLookup
from watchfloor.domain.errors import ConfigError

Factory = Callable[[Mapping[str, Any]], Connector]
FactoryWithCredentials = Callable[[Mapping[str, Any], CredentialLookup], Connector]
_FACTORIES: dict[str, FactoryWithCredentials] = {}
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
    """Make ``kind`` buildable from a source's configuration (a kind that needs no secret)."""
    _FACTORIES[kind] = lambda config, _credentials: factory(config)


def register_with_credentials(kind: str, factory: FactoryWithCredentials) -> None:
    """Make ``kind`` buildable from a source's configuration and the credentials its settings name."""
    _FACTORIES[kind] = factory


def build(
    kind: str, config: Mapping[str, Any], *, credentials: CredentialLookup = NO_CREDENTIALS
) -> Connector:
    """A connector of ``kind`` for a source's ``config`` (ConfigError naming the known kinds).

    ``credentials`` (``Settings.credentials``) holds the secrets the settings name by variable; the
    default holds none, which is all a kind without secrets needs.
    """
    if kind not in _FACTORIES and kind in KINDS:
        importlib.import_module(f"watchfloor.connectors.live.{KINDS[kind]}")
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise ConfigError(
            f"unknown source kind {kind!r}: known kinds are {', '.join(sorted(KINDS)) or 'none'}"
        )
    return factory(config, credentials)
