"""Legal bases and named-account watches (watchfloor basis, watches)."""

from __future__ import annotations
