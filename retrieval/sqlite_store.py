"""The one way a corpus store holds its SQLite file: one connection, WAL, a lock per write.

Contract: :class:`SqliteStore` opens ``path`` (creating its folder) with ``schema`` applied,
shares one connection between the threads of a process (``check_same_thread=False`` under a
lock), and gives subclasses :meth:`_tx`, a transaction under that lock. The catalog and the fact
store are such stores.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteStore:
    """A SQLite file with one shared connection in WAL mode; safe between threads."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(schema)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:
            yield self._conn

    def close(self) -> None:
        self._conn.close()
