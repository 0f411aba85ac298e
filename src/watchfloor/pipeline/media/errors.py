"""The one error the enricher raises on purpose: this file cannot (or must not) be decoded."""

from __future__ import annotations

from watchfloor.domain.errors import Permanent


class MediaRejected(Permanent):
    """A file refused for good: a decompression bomb, a damaged or truncated image, an unreadable video.

    Retrying cannot help (the bytes are content-addressed and will not change); the fetcher records the
    message as the reason, so it says what was wrong with the file.
    """
