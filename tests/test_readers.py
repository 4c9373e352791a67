"""The `db` dependency: each request leases a connection of its own from the pool (server.db.Readers.lease)."""

import pytest

from server.db import Readers
from server.migrations import open_database


def test_a_leased_connection_comes_back_without_an_open_transaction(tmp_path):
    open_database(tmp_path / "t.db").conn.close()
    readers = Readers(tmp_path / "t.db")
    first = readers.lease()
    db = next(first)
    db.execute("BEGIN IMMEDIATE")
    with pytest.raises(RuntimeError):
        first.throw(RuntimeError("the handler failed half-way"))  # what litestar does to a generator dependency
    second = readers.lease()
    again = next(second)
    assert again is db and not again.conn.in_transaction  # the same connection, its write rolled back
    third = readers.lease()
    other = next(third)  # while the second is out, a request gets another connection, never the same
    assert other is not again
    for lease in (second, third):
        lease.close()
    readers.close()
