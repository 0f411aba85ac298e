"""The one exception tree of watchfloor.

Every error a user can see derives from :class:`WatchfloorError` and carries a message that says what
happened and what to do next; the CLI and web shells render these and never a traceback.
"""

from __future__ import annotations


class WatchfloorError(Exception):
    """Base of every error watchfloor raises on purpose."""


class ConfigError(WatchfloorError):
    """A setting or command-line option is missing or invalid."""


class InputError(WatchfloorError):
    """A file or argument given by the user cannot be used at all (unreadable, unknown format)."""


class BadRecord(WatchfloorError):
    """One input record cannot be mapped; it is quarantined with the field and the reason.

    Raised by pure ``map_*`` functions. ``field`` names the offending field in the platform's own
    vocabulary (``"created_at"``, ``"commit.record.createdAt"``) so an analyst can find it in the file.
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason if field is None else f"{field}: {reason}")
        self.reason = reason
        self.field = field


class QuerySyntaxError(WatchfloorError):
    """A search or rule query does not parse; points at the column and gives a hint."""

    def __init__(self, message: str, *, query: str, column: int, hint: str | None = None) -> None:
        self.message = message
        self.query = query
        self.column = column  # 1-based column of the offending character
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """Return the error with the query and a caret under the offending column."""
        caret = " " * (self.column - 1) + "^"
        text = f"{self.message} at column {self.column}\n  {self.query}\n  {caret}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


class NotFound(WatchfloorError):
    """The object does not exist, or the caller may not see it (the two look the same on purpose)."""


class Conflict(WatchfloorError):
    """The operation cannot happen in the object's current state (e.g. someone else holds the claim)."""


class PermissionDenied(WatchfloorError):
    """The actor may not perform this operation."""


class StoreError(WatchfloorError):
    """The store is unreachable, misconfigured or refused an operation."""


class BusError(WatchfloorError):
    """The message bus (NATS JetStream, scale-out mode) is unreachable or refused an operation."""


class ConnectorError(WatchfloorError):
    """Base of connector failures."""


class Transient(ConnectorError):
    """A failure worth retrying with backoff (timeouts, 5xx, 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(ConnectorError):
    """A failure that retrying will not fix; the item is quarantined with the reason."""


class WatchRequired(Permanent):
    """A live source names accounts with no watch in force; ``accounts`` are those (platform, account).

    The message names them for the operator (the source's last error, the runner's log); the audit
    event records them by digest, as watch events do, because an audit leaf is never deleted.
    """

    def __init__(self, message: str, *, accounts: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.accounts = accounts
