"""TikTok: the pure mapping of TikTok Research API video objects (used by the live connector).

There is no file importer here yet: TikTok data researchers already hold comes as Zeeschuimer / 4CAT
captures, which :mod:`watchfloor.connectors.fourcat` imports onto the same platform name and keys.
"""
