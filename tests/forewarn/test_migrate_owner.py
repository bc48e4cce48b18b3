"""`forewarn db migrate` by a database owner that is not a superuser, as a managed PostgreSQL gives one: plain mode
works, the TimescaleDB path works when an administrator created the extension beforehand, and what cannot work
says what the owner needs — never a traceback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from forewarn.db import DatabaseError
from forewarn.migrate import migrate
from forewarn.settings import DbMode
from tests.conftest import PgServer


@pytest.fixture
def owner_db(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """(owner's URL, admin's URL) of a new, empty database owned by a login role that is not a superuser."""
    role, name = f"fw_owner_{uuid.uuid4().hex[:8]}", f"fw_owned_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
            sql.Identifier(name), sql.Identifier(role)))
    info = psycopg.conninfo.conninfo_to_dict(pg_server.url_for(name))
    info["user"] = role
    yield psycopg.conninfo.make_conninfo(**info), pg_server.url_for(name)
    pg_server.drop(name)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_an_owner_that_is_not_a_superuser_migrates_on_plain_postgresql(owner_db):
    owner_url, _ = owner_db
    mode, applied = migrate(owner_url, DbMode.AUTO)
    assert not mode.timescale and applied
    with psycopg.connect(owner_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(applied)
        assert conn.execute("SELECT to_regclass('readings') IS NOT NULL").fetchone()[0]


def test_timescale_required_without_the_extension_names_what_the_owner_needs(owner_db):
    owner_url, _ = owner_db
    with pytest.raises(DatabaseError) as caught:
        migrate(owner_url, DbMode.TIMESCALE)
    message = str(caught.value)
    assert "CREATE EXTENSION timescaledb" in message and "superuser" in message
    assert "Traceback" not in message


@pytest.mark.timescale
def test_an_owner_migrates_on_timescaledb_when_an_administrator_created_the_extension(owner_db):
    owner_url, admin_url = owner_db
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION timescaledb")
    mode, applied = migrate(owner_url, DbMode.TIMESCALE)
    assert mode.timescale and applied
    with psycopg.connect(owner_url) as conn:
        hypertables = conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
    assert ("readings",) in hypertables


def test_a_role_without_create_on_the_schema_is_told_what_it_needs(owner_db, pg_server):
    owner_url, admin_url = owner_db
    with psycopg.connect(admin_url, autocommit=True) as conn:  # a schema the role does not own
        conn.execute("ALTER SCHEMA public OWNER TO postgres")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    with pytest.raises(DatabaseError, match=r"schema_version table was refused: permission denied.*must own database"):
        migrate(owner_url, DbMode.PLAIN)
