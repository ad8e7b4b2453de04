"""Pooled connections: pinged only after idling, so a dropped one is replaced, and a
busy pool pays no round trip per checkout; read sessions run in autocommit."""

from __future__ import annotations

from sqlalchemy import text

from common import db


def _backend_pid(conn) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_an_idle_connection_that_was_dropped_is_replaced(database_url, monkeypatch) -> None:
    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            dropped = _backend_pid(conn)
        with engine.connect() as again:  # the same pooled connection again
            assert _backend_pid(again) == dropped
        other = db.make_engine(database_url, pool_size=1)
        with other.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
        other.dispose()
        # Idle long enough to be pinged: the ping finds it gone, the pool connects anew.
        monkeypatch.setattr(db, "PING_IDLE_S", 0.0)
        with engine.connect() as conn:
            assert _backend_pid(conn) != dropped
    finally:
        engine.dispose()


def test_busy_checkouts_send_no_ping(database_url) -> None:
    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(conn) or original(conn)  # type: ignore[method-assign]
    try:
        for _ in range(3):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
    finally:
        engine.dispose()


def test_read_sessions_open_no_transaction(database_url) -> None:
    with db.read_session_factory(database_url)() as session:
        session.execute(text("SELECT 1"))
        status = session.connection().connection.dbapi_connection.info.transaction_status
        assert status.name == "IDLE"  # autocommit: no BEGIN was sent, none to roll back
    with db.session_factory(database_url)() as session:
        session.execute(text("SELECT 1"))
        status = session.connection().connection.dbapi_connection.info.transaction_status
        assert status.name == "INTRANS"


def test_read_sessions_have_a_pool_of_their_own(database_url) -> None:
    """Their connections stay in autocommit: none is switched on checkout and back on
    return, and the write pool never sees an autocommit connection."""
    assert db.read_engine_for(database_url) is not db.engine_for(database_url)
    for _ in range(2):
        with db.read_session_factory(database_url)() as session:
            session.execute(text("SELECT 1"))
            assert session.connection().connection.dbapi_connection.autocommit is True
    with db.session_factory(database_url)() as session:
        session.execute(text("SELECT 1"))
        assert session.connection().connection.dbapi_connection.autocommit is False
