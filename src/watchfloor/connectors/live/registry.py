"""Live connector kinds: name -> factory(config, credentials) -> Connector, and the accounts it targets.

Each platform module registers itself here at import
(``register("rss", RssConnector.from_config, accounts=named_accounts)``); ``KINDS`` lists the modules to
import, so adding a platform is one module and one line. A kind whose settings name secrets registers
with :func:`register_with_credentials`: its factory also receives the credentials the caller passes to
:func:`build` (``Settings.credentials``), and reads the variables its settings name from them, never
from ``os.environ``.

Every kind also says which named accounts its settings target (``accounts``, required, so a new kind
cannot forget): a Telegram channel, a YouTube channel's uploads, Jetstream ``dids``, TikTok
``usernames``. Watching a named account needs an approved watch, so the services collect such a
source only while a watch is in force for each of them (``services/collect.py``). The function is
pure, reads the settings with the connector's own parsing, and raises ConfigError for settings that
target accounts it cannot name (a Mastodon list).
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
Account = tuple[str, str]  # (platform as its posts carry it, account handle or id as the settings name it)
NamedAccounts = Callable[[Mapping[str, Any]], tuple[Account, ...]]
_FACTORIES: dict[str, FactoryWithCredentials] = {}
_ACCOUNTS: dict[str, NamedAccounts] = {}
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


def register(kind: str, factory: Factory, *, accounts: NamedAccounts) -> None:
    """Make ``kind`` buildable from a source's configuration (a kind that needs no secret); ``accounts``
    says which named accounts a configuration targets."""
    _FACTORIES[kind] = lambda config, _credentials: factory(config)
    _ACCOUNTS[kind] = accounts


def register_with_credentials(kind: str, factory: FactoryWithCredentials, *, accounts: NamedAccounts) -> None:
    """Make ``kind`` buildable from a source's configuration and the credentials its settings name."""
    _FACTORIES[kind] = factory
    _ACCOUNTS[kind] = accounts


def no_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The ``accounts`` of a kind whose settings can only name communities, tags or sites, never people."""
    return ()


def _load(kind: str) -> None:
    if kind not in _FACTORIES and kind in KINDS:
        importlib.import_module(f"watchfloor.connectors.live.{KINDS[kind]}")
    if kind not in _FACTORIES:
        raise ConfigError(
            f"unknown source kind {kind!r}: known kinds are {', '.join(sorted(KINDS)) or 'none'}"
        )


def named_accounts(kind: str, config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The named accounts a source of ``kind`` with ``config`` collects from, each once, in order.

    Pure (no I/O, no credentials). ConfigError for an unknown kind, for settings the connector would
    refuse, and for settings that target accounts the kind cannot name.
    """
    _load(kind)
    return tuple(dict.fromkeys(_ACCOUNTS[kind](config)))


def build(
    kind: str, config: Mapping[str, Any], *, credentials: CredentialLookup = NO_CREDENTIALS
) -> Connector:
    """A connector of ``kind`` for a source's ``config`` (ConfigError naming the known kinds).

    ``credentials`` (``Settings.credentials``) holds the secrets the settings name by variable; the
    default holds none, which is all a kind without secrets needs.
    """
    _load(kind)
    return _FACTORIES[kind](config, credentials)
