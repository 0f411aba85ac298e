"""Live connectors: stream or poll a platform, one batch at a time, never storing anything themselves.

The contract (``contract.py``) and the read-only HTTP client (``http.py``) are shared; each platform
is one module (``rss.py``, ``jetstream.py``, ...). The runner (``services/collect.py`` and
``cli/run.py``) stores each batch and its cursor in one transaction.
"""
