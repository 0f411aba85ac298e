"""Open a store from a URL: a SQLite path or a postgresql:// URL; migrate it to the current schema."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from watchfloor.domain.errors import StoreError
from watchfloor.store import bulk_indexes
from watchfloor.store.dialects import Dialect, PostgresDialect, SqliteDialect
from watchfloor.store.postgres.partitions import ensure_partitions
from watchfloor.store.sqlstore import SqlTx

_MIGRATIONS = Path(__file__).parent / "migrations"
_READ_ONLY = "watchfloor_read_only"
SCHEMA_HEAD = "0011"  # the newest migration's revision; a test checks it matches the scripts
BUSY_SECONDS = 30.0  # how long a SQLite statement waits for another process before "database is locked"
WRITER_POLL_SECONDS = 0.002  # how often an interactive writer retries BEGIN IMMEDIATE
SQLITE_PRAGMAS = (  # set on every SQLite connection the store opens
    "journal_mode=WAL",
    "synchronous=NORMAL",
    f"busy_timeout={int(BUSY_SECONDS * 1000)}",
    "foreign_keys=ON",
    "temp_store=MEMORY",
    "cache_size=-65536",
)


@dataclass
class _WriterPolicy:
    """How this process waits for SQLite's write lock: ``poll`` seconds between tries, or None for
    SQLite's own busy handler (see :meth:`SqlStore.prefer_prompt_writes`)."""

    poll: float | None = None


def begin_immediate(
    dbapi_connection: sqlite3.Connection, *, poll: float = WRITER_POLL_SECONDS, wait: float | None = None
) -> None:
    """Take SQLite's write lock (``BEGIN IMMEDIATE``), retrying every ``poll`` seconds while another
    process has it, for up to ``wait`` seconds (default BUSY_SECONDS; then "database is locked").

    SQLite's own busy handler sleeps between tries in growing steps (1, 2, 5 ... then 100 ms each): a
    writer that meets an import batch holding the lock for 150 ms waits until its next step, up to
    100 ms after the lock was freed. Polling takes the lock within ``poll`` of its release. The
    connection's busy timeout is off only while polling (every other statement keeps the long one).
    """
    deadline = time.monotonic() + (BUSY_SECONDS if wait is None else wait)
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(poll)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")


def _sqlite_engine(path: str, writers: _WriterPolicy) -> Engine:
    engine = create_engine(f"sqlite+pysqlite:///{path}", connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (the documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: one writer, no lock-upgrade deadlocks. A snapshot
        # (read-only) transaction begins DEFERRED and never takes it, so readers never wait for writers.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        if read_only:
            conn.exec_driver_sql("BEGIN")
        elif writers.poll is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            begin_immediate(conn.connection.dbapi_connection, poll=writers.poll)

    return engine


def _postgres_engine(url: str) -> Engine:
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


# PostgreSQL settings that trade durability for speed, and the values that are unsafe.
UNSAFE_SETTINGS = {"fsync": ("off",), "synchronous_commit": ("off",), "full_page_writes": ("off",)}


def unsafe_settings(found: dict[str, str]) -> list[str]:
    """What is wrong with these PostgreSQL settings (name -> value as SHOW prints it), one line each."""
    return [
        f"{name} is {value}"
        for name, value in sorted(found.items())
        if value.strip().lower() in UNSAFE_SETTINGS.get(name, ())
    ]


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


class SqlStore:
    """A migrated database (implements :class:`watchfloor.store.ports.Store`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._dialect: Dialect
        self._writers = _WriterPolicy()
        if is_postgres_url(url):
            self.engine = _postgres_engine(url)
            self._dialect = PostgresDialect()
        else:
            self.engine = _sqlite_engine(url, self._writers)
            self._dialect = SqliteDialect()
        self.dialect = self._dialect.name
        # SQLite has one writer. Threads of this process queue for it here, in order, instead of in
        # SQLite's busy handler, which sleeps and retries (up to 100 ms a try) and so gives a long,
        # unfair tail when many console requests write their audit events at once. Other processes
        # (an import) still meet the busy handler. Re-entrant, so a nested transaction cannot deadlock
        # on it (SQLite itself would refuse a second writer anyway).
        self._writer = threading.RLock() if self.dialect == "sqlite" else None
        self._migrate()
        if self.dialect == "postgresql":
            self._refuse_unsafe_settings()
            self._prepare_partitions()
        else:
            self._restore_deferred_indexes()

    def _restore_deferred_indexes(self) -> None:
        """Build the query indexes a bulk import dropped and did not get to rebuild (it died).

        A store opened while another process's bulk import runs builds them too: that import then
        goes on at the normal speed (``watchfloor import --bulk`` is for when nobody else works).
        """
        with self.snapshot() as view:  # a read: opening a store takes no write lock for this
            if not bulk_indexes.missing(view.conn):
                return
        with self.transaction() as tx:
            bulk_indexes.restore(tx.conn)

    @contextmanager
    def post_indexes_deferred(self, expected_posts: int) -> Iterator[bool]:
        """For a bulk import of about ``expected_posts``: on SQLite, when the import is large against
        what the store holds, drop the posts' query-only indexes for the block and rebuild them when
        it ends, however it ends (:mod:`watchfloor.store.bulk_indexes`). Yields whether it did.

        Searches and console pages stay correct meanwhile, only slower. PostgreSQL: nothing to do.
        """
        deferring = False
        if self.dialect == "sqlite":
            with self.transaction() as tx:
                deferring = bulk_indexes.worth_deferring(tx.conn, expected_posts)
                if deferring:
                    bulk_indexes.drop(tx.conn)
        try:
            yield deferring
        finally:
            if deferring:
                with self.transaction() as tx:
                    bulk_indexes.restore(tx.conn)

    def _migrate(self) -> None:
        """Bring the schema to the newest migration (a quick version check first: Alembic is slow to load)."""
        try:
            with self.engine.connect() as conn:
                if inspect(conn).has_table("alembic_version"):
                    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                    if current == SCHEMA_HEAD:
                        return
        except OperationalError as exc:
            raise StoreError(f"cannot open the database at {self.describe()}: {exc.orig}") from None
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot open the database at {self.describe()}: {exc.orig}") from None

    def _refuse_unsafe_settings(self) -> None:
        """PostgreSQL: refuse to run where a crash could lose committed posts, alerts or audit events."""
        with self.engine.connect() as conn:
            found = {name: str(conn.exec_driver_sql(f"SHOW {name}").scalar()) for name in UNSAFE_SETTINGS}
        problems = unsafe_settings(found)
        if problems:
            raise StoreError(
                f"refusing to use the PostgreSQL database at {self.describe()}: {'; '.join(problems)}. "
                "watchfloor promises that a committed post, alert or audit event survives a crash; "
                "set these back to their defaults (postgresql.conf, ALTER SYSTEM, or ALTER DATABASE/ROLE "
                "... RESET) and start again"
            )

    def _prepare_partitions(self) -> None:
        """PostgreSQL: make sure this month's and the next months' post partitions exist (a short
        transaction of its own, so no ingest batch ever waits on partition DDL it holds itself)."""
        try:
            with self.engine.begin() as conn:
                ensure_partitions(conn)
        except OperationalError as exc:
            raise StoreError(f"cannot open the database at {self.describe()}: {exc.orig}") from None

    def prefer_prompt_writes(self) -> None:
        """Wait for SQLite's write lock by polling every 2 ms: for a process whose writes are short and
        waited for by people (the console: every page view writes its audit event).

        Bulk writers (imports, collectors) keep SQLite's busy handler, whose growing sleeps let such a
        process in between their batches: measured with the console benchmark, polling in both made
        the console's pages slower, because the import then took the lock back as often. PostgreSQL
        has row locks and no single writer: nothing to do.
        """
        if self.dialect == "sqlite":
            self._writers.poll = WRITER_POLL_SECONDS

    def describe(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """One transaction: commits when the block ends, rolls back if it raises."""
        try:
            with self._writer or nullcontext(), self.engine.begin() as conn:
                yield SqlTx(conn, self._dialect)
        except OperationalError as exc:
            raise StoreError(f"database error on {self.describe()}: {exc.orig}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"database error on {self.describe()}: {exc}") from None
        except self.engine.dialect.loaded_dbapi.Error as exc:  # raw-cursor paths (PostgreSQL inserts)
            raise StoreError(f"database error on {self.describe()}: {exc}") from None

    @contextmanager
    def snapshot(self) -> Iterator[SqlTx]:
        """A read-only transaction: a consistent view that takes no write lock (SQLite: BEGIN DEFERRED).

        For frequent cheap reads (the console's live queue polls); anything that writes, including an
        audit event, belongs in :meth:`transaction`.
        """
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{_READ_ONLY: True})
                with conn.begin():
                    yield SqlTx(conn, self._dialect)
        except OperationalError as exc:
            raise StoreError(f"database error on {self.describe()}: {exc.orig}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"database error on {self.describe()}: {exc}") from None

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str) -> SqlStore:
    """Open (creating and migrating if needed) the store at ``url``."""
    if not is_postgres_url(url):
        parent = Path(url).expanduser().resolve().parent
        if not parent.is_dir():
            raise StoreError(f"cannot create the database {url}: folder {parent} does not exist")
        url = str(Path(url).expanduser())
    return SqlStore(url)
