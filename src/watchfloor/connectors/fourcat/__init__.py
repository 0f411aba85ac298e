"""Importers for 4CAT dataset CSVs and Zeeschuimer / 4CAT NDJSON captures.

4CAT and its browser companion Zeeschuimer are the Digital Methods community's common tools; their
files are how many research teams share collected posts. See :mod:`.mapping` (CSV) and
:mod:`.zeeschuimer` (NDJSON) for what is mapped and what is left in the raw record.
"""

from __future__ import annotations

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.fourcat import mapping, zs_json
from watchfloor.connectors.fourcat.mapping import REQUIRED_COLUMNS, map_4cat_csv_row
from watchfloor.connectors.fourcat.zeeschuimer import map_zeeschuimer_line

# Zeeschuimer's envelope keys, as they appear in the first line's bytes. The line itself may be
# longer than the detection sample (TikTok items run to tens of KiB), so it is not parsed here.
_ZS_KEYS = (b'"nav_index"', b'"item_id"', b'"source_platform"', b'"data"')


def sniff_4cat_csv(sample: Sample) -> int:
    """Return 90 when the header has all of 4CAT's required columns, else 0."""
    header = set(sample.csv_header or ())
    return 90 if header.issuperset(REQUIRED_COLUMNS) else 0


def sniff_zeeschuimer(sample: Sample) -> int:
    """Return 95 when the first line carries Zeeschuimer's envelope keys, 70 for most of them."""
    line = sample.first_line
    if not line.startswith(b"{"):
        return 0
    present = sum(key in line for key in _ZS_KEYS)
    if present == len(_ZS_KEYS):
        return 95
    if b'"source_platform"' in line and b'"timestamp_collected"' in line:
        return 70
    return 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=mapping.FORMAT_NAME,
        description="4CAT dataset CSV (id, thread_id, body, author, timestamp, …)",
        layout="csv",
        sniff=sniff_4cat_csv,
        map_record=map_4cat_csv_row,
        source_version=mapping.SOURCE_VERSION,
    ),
    FileFormat(
        name=zs_json.FORMAT_NAME,
        description="Zeeschuimer / 4CAT NDJSON capture (TikTok, Instagram, Threads, X, LinkedIn, …)",
        layout="lines",
        sniff=sniff_zeeschuimer,
        map_record=map_zeeschuimer_line,
        source_version=zs_json.SOURCE_VERSION,
    ),
)
