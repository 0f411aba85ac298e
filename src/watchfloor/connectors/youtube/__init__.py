"""Importer package for youtube (being written)."""

from watchfloor.connectors.base import FileFormat

FORMATS: tuple[FileFormat, ...] = ()
