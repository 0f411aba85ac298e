"""Named crash points for the kill tests: a process that must die at an exact moment of its Nth batch.

When ``WATCHFLOOR_CRASHPOINT`` is set (read once, at import; unset in production, where each check
costs one comparison) to ``NAME`` or ``NAME:N``, the process calls ``os._exit(137)`` at that point of
its Nth batch (default the first). A batch is counted by :func:`next_batch`: a stored batch in
``watchfloor run`` and ``watchfloor worker``, a published one in ``watchfloor run --role connectors``.

Points where a batch is stored (collect.py, consume.py): ``mid_batch`` (posts written, nothing else),
``during_alerting`` (alerts written), ``before_commit`` (everything written, not committed),
``after_commit``. Where a batch is published (publish.py): ``after_publish`` (acknowledged by the
stream, cursor not yet advanced).
"""

from __future__ import annotations

import os

STORE_POINTS = ("mid_batch", "during_alerting", "before_commit", "after_commit")
PUBLISH_POINTS = ("after_publish",)


def _from_env() -> tuple[str, int] | None:
    # The one environment read outside Settings: a test hook that must work in a process the test
    # cannot configure otherwise (a `watchfloor run` or `worker` it is about to SIGKILL).
    value = os.environ.get("WATCHFLOOR_CRASHPOINT")
    if not value:
        return None
    name, _, nth = value.partition(":")
    if name not in (*STORE_POINTS, *PUBLISH_POINTS):
        names = ", ".join((*STORE_POINTS, *PUBLISH_POINTS))
        raise SystemExit(f"WATCHFLOOR_CRASHPOINT={value!r}: expected one of {names}[:N]")
    return name, int(nth or 1)


_CRASH = _from_env()
_batches_seen = 0


def next_batch() -> None:
    """Count one more batch of this process (crash points fire in the batch they name)."""
    global _batches_seen
    _batches_seen += 1


def crash(point: str) -> None:
    """Exit at once, as a SIGKILL would, if ``point`` of this batch is the configured crash point."""
    if _CRASH is not None and (point, _batches_seen) == _CRASH:
        os._exit(137)
