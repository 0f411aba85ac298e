"""Checks the live connectors share for a source's settings, and the one way they read a named secret.

A source's settings arrive as a plain mapping (a sources file, ``sources add --set KEY=VALUE``, the
database), so each connector's ``from_config`` checks every value and raises
:class:`~watchfloor.domain.errors.ConfigError` naming the kind, the key and what it takes. These
helpers keep those checks, and their messages, the same in every connector: operators read the
messages, and tests match them.

Secrets (API keys, client secrets, access tokens) are never in the settings: the settings name the
environment variables of the runner that hold them (``client_id_env = "REDDIT_CLIENT_ID"``). The
connector receives :class:`CredentialLookup` (``Settings.credentials``, a snapshot of the process
environment taken when Settings was built) and reads the named secret with :func:`secret`; no connector
reads ``os.environ`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from watchfloor.domain.errors import ConfigError, Permanent

__all__ = [
    "NO_CREDENTIALS",
    "CredentialLookup",
    "approved_env_name",
    "env_name",
    "flag",
    "http_address",
    "known_settings",
    "names",
    "number",
    "refuse_secrets",
    "secret",
    "whole_number",
]

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off", "")


class CredentialLookup(Protocol):
    """Where a connector reads the secrets its settings name, by environment variable name.

    ``watchfloor.config.Credentials`` in the runner (a protocol here, so connectors do not import
    config); a plain ``dict`` in tests. ``get`` gives None for a variable that is not set.
    """

    def get(self, name: str, /) -> str | None: ...


NO_CREDENTIALS: CredentialLookup = MappingProxyType({})  # for kinds that need no secret, and tests


def secret(
    kind: str,
    credentials: CredentialLookup,
    name: str,
    what: str,
    *,
    error: type[ConfigError] | type[Permanent] = Permanent,
) -> str:
    """The value of the environment variable ``name`` (the ``what``, e.g. "client secret").

    Unset or empty is an ``error`` naming the variable: Permanent for a connector that reads it when
    it fetches (the source fails with the reason until the operator sets it and resumes), ConfigError
    for one that needs it to be built.
    """
    value = credentials.get(name)
    if not value:
        raise error(
            f"{kind}: the environment variable {name} (the {what}) is not set in the runner's environment; "
            "set it and resume the source"
        )
    return value


def refuse_secrets(kind: str, config: Mapping[str, Any], secret_keys: Collection[str], advice: str) -> None:
    """ConfigError when the settings hold a secret itself (``secret_keys``): it would be stored."""
    found = sorted(k for k in config if k in secret_keys)
    if found:
        raise ConfigError(
            f"{kind}: {', '.join(found)} must not be written in the source's settings (they would be "
            f"stored in the database); {advice}"
        )


def env_name(kind: str, config: Mapping[str, Any], key: str, *, required: str, holds: str) -> str:
    """The environment variable name in setting ``key``: ConfigError when it is missing (``required``
    says what it must name) or is not a variable name, which is most likely the secret itself."""
    value = config.get(key)
    if not value:
        raise ConfigError(f"{kind}: {key} is required: {required}")
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise ConfigError(
            f"{kind}: {key} must be the name of an environment variable (capital letters, digits and _), "
            f"never {holds} itself"
        )
    return value


def approved_env_name(kind: str, config: Mapping[str, Any], key: str, *, prefix: str, approval: str) -> str:
    """:func:`env_name` for a credential the platform approves (``client_id_env``): the message gives
    an example name (``REDDIT_CLIENT_ID``) and says that access needs ``approval``."""
    example = f"{prefix}_{key.removesuffix('_env').upper()}"
    return env_name(
        kind,
        config,
        key,
        required=(
            f'the NAME of the environment variable holding the approved credential, e.g. {key} = "{example}" '
            f"({approval}; see docs/connectors.md)"
        ),
        holds="the credential",
    )


def known_settings(
    kind: str, config: Mapping[str, Any], known: Sequence[str], *, ignored: Iterable[str] = ()
) -> None:
    """ConfigError naming the settings that are neither ``known`` nor ``ignored`` (a typo is not lost).

    ``ignored`` are keys accepted without use, such as the ``every`` or ``url`` `sources add` sends.
    """
    unknown = sorted(set(config) - set(known) - set(ignored))
    if unknown:
        raise ConfigError(f"{kind}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}")


def whole_number(kind: str, value: object, key: str, low: int, high: int) -> int:
    """``value`` as an integer from ``low`` to ``high`` (text such as ``"50"`` from ``--set`` too)."""
    try:
        parsed = int(str(value))
    except ValueError:
        raise ConfigError(f"{kind}: {key} must be a whole number, got {value!r}") from None
    if not low <= parsed <= high:
        raise ConfigError(f"{kind}: {key} must be from {low} to {high}, got {parsed}")
    return parsed


def number(kind: str, value: object, key: str, low: float, high: float | None = None) -> float:
    """``value`` as a number of at least ``low`` (and at most ``high`` when given)."""
    try:
        parsed = float(str(value))
    except ValueError:
        raise ConfigError(f"{kind}: {key} must be a number, got {value!r}") from None
    if high is None and parsed < low:
        raise ConfigError(f"{kind}: {key} must be at least {low}, got {value!r}")
    if high is not None and not low <= parsed <= high:
        raise ConfigError(f"{kind}: {key} must be from {low} to {high}, got {value!r}")
    return parsed


def flag(kind: str, value: object, key: str, *, words: bool = False) -> bool:
    """``value`` as true or false: a boolean only, or with ``words`` also true/yes/1/on, false/no/0/off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if words and text in _TRUE:
        return True
    if words and text in _FALSE:
        return False
    raise ConfigError(f"{kind}: {key} must be true or false, got {value!r}")


def names(kind: str, value: object, key: str) -> tuple[str, ...]:
    """A list setting given as a list or as comma-separated text, stripped, empty items dropped."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        raise ConfigError(f"{kind}: {key} must be a list or comma-separated text, got {value!r}")
    return tuple(v for v in items if v)


def http_address(kind: str, value: object, key: str) -> str:
    """``value`` as an http(s) address without a trailing slash."""
    text = str(value).rstrip("/")
    if not text.startswith(("https://", "http://")):
        raise ConfigError(f"{kind}: {key} must be an http(s) address, got {text!r}")
    return text
