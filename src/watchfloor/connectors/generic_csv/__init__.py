"""Importer package for generic_csv (being written)."""

from watchfloor.connectors.base import FileFormat

FORMATS: tuple[FileFormat, ...] = ()
