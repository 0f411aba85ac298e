"""Every importable file format, and detection of a file's format from a sample of it."""

from __future__ import annotations

from watchfloor.connectors import (
    bluesky,
    crowdtangle,
    fourcat,
    generic_csv,
    mastodon,
    reddit,
    telegram,
    twitter,
    youtube,
)
from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.domain.errors import InputError

FORMATS: tuple[FileFormat, ...] = (
    *bluesky.FORMATS,
    *mastodon.FORMATS,
    *twitter.FORMATS,
    *reddit.FORMATS,
    *youtube.FORMATS,
    *telegram.FORMATS,
    *fourcat.FORMATS,
    *crowdtangle.FORMATS,
    *generic_csv.FORMATS,
)


def format_named(name: str) -> FileFormat:
    """Return the format called ``name`` or raise InputError listing the known names."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    known = ", ".join(sorted(f.name for f in FORMATS))
    raise InputError(f"unknown format {name!r}; known formats: {known}")


def detect_format(sample: Sample) -> FileFormat:
    """Pick the format whose sniffer is most confident about ``sample``; refuse unknowns and ties."""
    scored = sorted(((fmt.sniff(sample), fmt.name, fmt) for fmt in FORMATS), key=lambda t: -t[0])
    if not scored or scored[0][0] <= 0:
        raise InputError(
            f"{sample.name}: could not recognise the file format; "
            "pass --format NAME (see `watchfloor formats`)"
        )
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        raise InputError(
            f"{sample.name}: looks like both {scored[0][1]} and {scored[1][1]}; pass --format NAME to choose"
        )
    return scored[0][2]
