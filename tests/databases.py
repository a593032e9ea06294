"""Throw-away databases for tests: PostgreSQL ones are created and dropped per use,
so the tests never touch other data. Imported only by tests."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    return os.environ.get("SGA_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def connect(url):
    import psycopg2

    return psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database, connect_timeout=5
    )


@contextmanager
def temporary_postgres_database(server_url: str = "") -> Iterator[str]:
    """Create `sga_test_<random>` on the server, yield its URL, drop it (even if connections remain)."""
    from psycopg2 import sql

    url = make_url(server_url or admin_url())
    name = f"sga_test_{secrets.token_hex(6)}"
    admin = connect(url)
    admin.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        admin.close()


def require_postgres() -> None:
    """In a test: skip if SGA_SKIP_POSTGRES=1, fail (never skip silently) if the server does not answer."""
    import pytest

    if os.environ.get("SGA_SKIP_POSTGRES") == "1":
        pytest.skip("SGA_SKIP_POSTGRES=1")
    problem = postgres_unreachable_reason()
    if problem:
        pytest.fail(problem, pytrace=False)


def postgres_unreachable_reason(server_url: str = "") -> Optional[str]:
    """None if the test server answers, else a message saying how to skip PostgreSQL tests."""
    import psycopg2

    url = make_url(server_url or admin_url())
    try:
        connect(url).close()
    except psycopg2.OperationalError as error:
        return (
            f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)} ({error}). "
            "Start it, point SGA_TEST_POSTGRES_URL at a server, or set SGA_SKIP_POSTGRES=1 to skip these tests."
        )
    return None


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[str]:
    """A database with no tables: a SQLite file in `directory` or a temporary PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'outcomes.db'}"
        return
    with temporary_postgres_database() as url:
        yield url


@contextmanager
def migrated_database(backend: str, directory: Path) -> Iterator[str]:
    from sga.outcomes.migrate import upgrade

    with empty_database(backend, directory) as url:
        upgrade(url)
        yield url


# Where nothing answers: a closed port, or a SQLite file in a directory that does not exist.
def unreachable_url(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'no-such-directory' / 'outcomes.db'}"
    return "postgresql://postgres@127.0.0.1:1/test"


def execute(url: str, statement: str, **params: object) -> int:
    """Raw SQL, as someone tampering with the database would run it (bound parameters, no ORM)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            return connection.execute(text(statement), params).rowcount
    finally:
        engine.dispose()
