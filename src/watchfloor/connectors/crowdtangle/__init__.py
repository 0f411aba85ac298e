"""Importer package for crowdtangle (being written)."""

from watchfloor.connectors.base import FileFormat

FORMATS: tuple[FileFormat, ...] = ()
