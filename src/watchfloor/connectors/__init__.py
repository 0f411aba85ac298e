"""Connectors and file importers: fetch or read raw payloads and map them purely to Posts.

Connectors never touch the store. File importers are connectors too: each format package has a pure
``mapping.py`` (raw bytes -> Envelopes) and declares a :class:`~watchfloor.connectors.base.FileFormat`.
"""
