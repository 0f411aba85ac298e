"""PostgreSQL adapter: scale-out mode (psycopg 3, tsvector/GIN)."""
