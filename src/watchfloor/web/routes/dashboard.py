"""Console routes: dashboard (pages and their JSON API under /api/)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
