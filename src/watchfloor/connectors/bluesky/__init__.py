"""Importer package for bluesky (being written)."""

from watchfloor.connectors.base import FileFormat

FORMATS: tuple[FileFormat, ...] = ()
