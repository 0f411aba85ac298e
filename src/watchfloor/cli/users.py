"""Users, sign-in and API tokens (watchfloor init, users, tokens)."""

from __future__ import annotations
