"""Alembic migrations for the watchfloor schema (both SQLite and PostgreSQL)."""
