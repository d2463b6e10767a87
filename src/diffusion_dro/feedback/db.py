"""Opening the feedback database: engine set-up per backend and Alembic migrations.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` so a
committed (acknowledged) event survives a crash of the process or the machine,
and every transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers wait
on the busy timeout instead of failing on a stale read snapshot. PostgreSQL is
used as is. The schema is owned by the migrations shipped in
``feedback/migrations``; ``open_engine`` applies them on start-up.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from diffusion_dro.errors import InputError

__all__ = ["open_engine", "migrate", "MIGRATIONS"]

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_engine(url: str, migrate_schema: bool = True) -> Engine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``), migrated to head."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as e:
        raise InputError(f"database URL {url!r} cannot be parsed ({e}); use e.g. sqlite:///feedback.db.") from e
    if backend == "sqlite":
        engine = _sqlite_engine(url)
    elif backend == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    else:
        raise InputError(f"database URL {url!r}: backend {backend!r} is not supported; use sqlite or postgresql.")
    if migrate_schema:
        migrate(engine)
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply the shipped Alembic migrations up to ``revision`` (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
