"""The throw-away PostgreSQL server the database store's tests run against (tests/pgserver.py, #16): a real server,
reached over TCP on loopback with passwords, one fresh database per test."""
from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from pgserver import PgServer


def test_a_table_written_is_read_back_in_a_fresh_database(pg_url):
    with psycopg.connect(pg_url) as conn:
        # a fresh database: no table of a previous test
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        conn.execute("CREATE TABLE 顧客 (顧客ID text PRIMARY KEY, 氏名 text NOT NULL, 金額 numeric)")
        conn.execute("INSERT INTO 顧客 VALUES (%s, %s, %s), (%s, %s, %s)",
                     ("C0001", "髙橋 一郎", 3980, "C0002", "佐藤 花子", 12800))
    with psycopg.connect(pg_url) as conn:      # committed: another session sees it
        rows = conn.execute("SELECT 顧客ID, 氏名, 金額 FROM 顧客 ORDER BY 顧客ID").fetchall()
    assert rows == [("C0001", "髙橋 一郎", 3980), ("C0002", "佐藤 花子", 12800)]


def test_each_test_gets_its_own_database(pg_server, pg_url):
    with psycopg.connect(pg_url) as conn:
        mine = conn.execute("SELECT current_database()").fetchone()[0]
    assert pg_url.endswith("/" + mine) and mine != "postgres"
    other = pg_server.create_database(mine + "_b")
    try:
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (mine + "_b",)
    finally:
        pg_server.drop_database(mine + "_b")


def test_a_role_without_rights_is_refused(pg_server, pg_url):
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, amount int)")
        conn.execute("INSERT INTO orders VALUES (1, 3980)")
    pg_server.create_role("clerk_norights", "s3cret pw/@:")
    clerk = pg_server.url("clerk_norights", "s3cret pw/@:", db=pg_url.rsplit("/", 1)[1])
    with psycopg.connect(clerk) as conn:       # logs in (CONNECT is granted to everyone by default) …
        assert conn.execute("SELECT current_user").fetchone() == ("clerk_norights",)
        with pytest.raises(errors.InsufficientPrivilege):   # … but may not read the table
            conn.execute("SELECT * FROM orders")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_server.url("clerk_norights", "wrong", db="postgres"))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_server.url(pg_server.admin, "wrong"))    # even the superuser needs its password


def test_the_server_going_away_and_coming_back(pg_server, pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
    open_session = psycopg.connect(pg_url, autocommit=True)
    try:
        pg_server.stop()
        assert not pg_server.running
        with pytest.raises(psycopg.OperationalError):       # a session open at the shutdown is cut
            open_session.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):       # and nobody gets in
            psycopg.connect(pg_url, connect_timeout=5)
    finally:
        open_session.close()
        pg_server.start()
    with psycopg.connect(pg_url) as conn:                   # same URL, same data
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_the_cluster_listens_on_loopback_only(pg_server, pg_url):
    with psycopg.connect(pg_url) as conn:
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                     "('listen_addresses', 'fsync', 'unix_socket_directories', 'port')").fetchall())
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["fsync"] == "off"
    assert settings["port"] == str(pg_server.port)
    assert settings["unix_socket_directories"] == str(pg_server.sockdir)


def test_close_removes_the_cluster():
    server = PgServer.launch()
    try:
        url = server.admin_url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_setting('is_superuser')").fetchone() == ("on",)
    finally:
        server.close()
    assert not server.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    server.close()      # twice is fine
