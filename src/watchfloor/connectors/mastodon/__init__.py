"""Importer package for mastodon (being written)."""

from watchfloor.connectors.base import FileFormat

FORMATS: tuple[FileFormat, ...] = ()
