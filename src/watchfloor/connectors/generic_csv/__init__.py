"""The generic CSV importer: any spreadsheet of posts, given a platform and (if needed) a column map.

It claims every CSV with a low confidence so that a specific importer (4CAT, CrowdTangle, …) wins on
its own files and this one is chosen only when nothing specific matches.
"""

from __future__ import annotations

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.generic_csv.mapping import FORMAT_NAME, SOURCE_VERSION, map_csv_row

# Low on purpose: "this is a CSV" says nothing about whose CSV it is.
GENERIC_CSV_CONFIDENCE = 10


def sniff_csv(sample: Sample) -> int:
    """Return a low confidence for anything with a CSV header row, 0 otherwise."""
    return GENERIC_CSV_CONFIDENCE if sample.csv_header else 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=FORMAT_NAME,
        description="Any CSV of posts; needs --platform and, unless headers are common names, a column map",
        layout="csv",
        sniff=sniff_csv,
        map_record=map_csv_row,
        source_version=SOURCE_VERSION,
    ),
)
