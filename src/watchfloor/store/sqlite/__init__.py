"""SQLite adapter: embedded mode (one writer, WAL, FTS5)."""
