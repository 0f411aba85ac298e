"""Importer for CrowdTangle CSV exports (Facebook Pages and Groups, Instagram accounts).

CrowdTangle, Meta's former public-content monitoring tool, closed in August 2024; its CSV exports
are still held by many newsrooms and researchers. See :mod:`.mapping` for what is mapped and why.
"""

from __future__ import annotations

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.crowdtangle.mapping import FORMAT_NAME, SOURCE_VERSION, map_crowdtangle_row

# Columns every CrowdTangle post export has, and the account columns of which at least one appears.
_REQUIRED = {"Post Created", "URL", "Type"}
_ACCOUNT = {"Page Name", "Group Name", "Account", "Facebook Id", "User Name"}
_COUNTS = {"Total Interactions", "Likes"}


def sniff_crowdtangle(sample: Sample) -> int:
    """Return 95 for a header with CrowdTangle's post, account and count columns, else 0."""
    header = set(sample.csv_header or ())
    if header.issuperset(_REQUIRED) and header & _ACCOUNT and header & _COUNTS:
        return 95
    return 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=FORMAT_NAME,
        description="CrowdTangle CSV export (Facebook Pages/Groups, Instagram)",
        layout="csv",
        sniff=sniff_crowdtangle,
        map_record=map_crowdtangle_row,
        source_version=SOURCE_VERSION,
    ),
)
