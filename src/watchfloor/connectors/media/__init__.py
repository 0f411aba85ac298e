"""Media files posts reference: an SSRF-safe, size- and type-limited fetcher and a magic-byte sniffer.

``fetch.py`` downloads one file (GET only, every address checked after DNS resolution and on every
redirect, limits enforced while streaming); ``sniff.py`` tells a file's type from its bytes. Neither
touches the store: ``services/media.py`` stores what they return.
"""
