"""Cases, legal holds, reviewed exports, retention (cases, holds, exports, verify-export, purge)."""

from __future__ import annotations
