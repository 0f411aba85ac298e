"""Transparency report and accuracy card (watchfloor report ...)."""

from __future__ import annotations
