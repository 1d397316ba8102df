"""The run store's one connection to its SQLite database, and what SQLite's errors mean for it.

:class:`~learnable.runs.store.RunStore` says *what* to record; this module says *how* it reaches the
database file: opening it (WAL mode, tables created; read-only when it cannot be written), waiting out
another process's lock with growing pauses, writing statements in one transaction, and turning every
SQLite error into a :class:`RunStoreError` whose message says what happened, to which file, and the fix.

An error's meaning comes from SQLite's result code (``sqlite_errorcode``, Python 3.11+), else from its
message (Python 3.10), so a locked store is waited on and a read-only one opened for reading on both.

Example:
    >>> from pathlib import Path
    >>> Path("/tmp/example-database").mkdir(exist_ok=True)
    >>> database = Database(Path("/tmp/example-database/runs.sqlite"))
    >>> database.rows("SELECT COUNT(*) FROM runs")[0][0] >= 0
    True
    >>> database.close()
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
BUSY_SECONDS = 2.0  # SQLite's own wait for another process's lock, in each attempt
RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0)  # pauses before the next attempts: about 17 s in all, then RunStoreError
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,
    ended REAL, command TEXT, config TEXT, dataset TEXT, versions TEXT, seed INTEGER,
    summary TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL, PRIMARY KEY (run_id, epoch)
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
    loss REAL, PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS details (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, key TEXT NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL,
    path TEXT NOT NULL, PRIMARY KEY (run_id, name)
);
"""
# SQLite's primary result codes, as what they mean for the run store.
REASONS = {5: "locked", 6: "locked", 3: "read-only", 8: "read-only", 14: "read-only", 23: "read-only",
           11: "damaged", 26: "damaged", 10: "failed", 13: "failed"}
# The same, from SQLite's messages, where the error carries no code (Python 3.10).
MESSAGES = (("is locked", "locked"), ("busy", "locked"), ("readonly", "read-only"), ("read-only", "read-only"),
            ("unable to open database", "read-only"), ("permission", "read-only"), ("malformed", "damaged"),
            ("not a database", "damaged"))


class RunStoreError(ValueError):
    """The run store cannot be used now: ``reason`` is "locked", "read-only", "damaged", "deleted" or "failed".

    Example:
        >>> RunStoreError("the run store 'runs/runs.sqlite' is locked ...", "locked").reason
        'locked'
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def reason_of(error: sqlite3.Error) -> str:
    """What a SQLite error means for the store: "locked", "read-only", "damaged" or "failed".

    Example:
        >>> reason_of(sqlite3.OperationalError("database is locked"))
        'locked'
    """
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return REASONS.get(code & 0xFF, "failed")
    message = str(error).lower()
    return next((reason for words, reason in MESSAGES if words in message), "failed")


class Database:
    """The connection to the run database at ``path``, opened for writing, else read-only.

    Args:
        path: the database file (``RUNS_DIR/runs.sqlite``); created with its tables when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection = self._open()

    def close(self) -> None:
        self.connection.close()

    def _connect(self, mode: str) -> sqlite3.Connection:
        """A connection in ``mode`` "rwc" (set up for WAL, tables created) or "ro" (checked to hold the runs)."""
        uri = f"{self.path.absolute().as_uri()}?mode={mode}"
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            if mode == "ro":
                connection.execute("SELECT id FROM runs LIMIT 1").fetchall()
            else:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA foreign_keys=ON")
                connection.executescript(SCHEMA)
        except BaseException:
            connection.close()
            raise
        connection.row_factory = sqlite3.Row
        return connection

    def _open(self) -> sqlite3.Connection:
        """Open for writing; a store that cannot be written opens read-only (its runs can still be listed)."""
        try:
            return self.attempt(lambda: self._connect("rwc"))
        except RunStoreError as error:
            if error.reason != "read-only":
                raise
            try:
                return self._connect("ro")
            except sqlite3.Error:
                raise error from None

    def attempt(self, work: Callable[[], T]) -> T:
        """``work()``, tried again after growing pauses while another process holds the lock. Any SQLite error
        becomes a :class:`RunStoreError` saying what happened, to which file, and how to fix it."""
        start = time.monotonic()
        for pause in (*RETRY_PAUSES, None):
            try:
                return work()
            except sqlite3.Error as error:
                if pause is None or reason_of(error) != "locked":
                    raise self.error(error, time.monotonic() - start) from None
            time.sleep(pause)
        raise AssertionError("unreachable")

    def error(self, error: sqlite3.Error, waited: float) -> RunStoreError:
        """The :class:`RunStoreError` of a SQLite ``error``, after ``waited`` seconds of retries."""
        reason, where = reason_of(error), f"the run store '{self.path}'"
        fixes = {
            "locked": f"is locked by another process ({error}; waited {waited:.0f}s); try again when it is done "
                      "(a program holding a transaction open on it, such as a database browser, must end it).",
            "read-only": f"cannot be written ({error}); make it and its folder writable, or record elsewhere "
                         "with --runs-dir DIR.",
            "damaged": f"is not a usable run database: it is damaged ({error}). Move it aside (mv '{self.path}' "
                       f"'{self.path}.damaged'); the next command starts an empty store, the run folders stay.",
        }
        message = fixes.get(reason, f"could not be used ({error}); check the disk, or record elsewhere with "
                                    "--runs-dir DIR.")
        return RunStoreError(f"{where} {message}", reason)

    def rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """The rows of one query (waiting out a lock; SQLite errors as :class:`RunStoreError`)."""
        return self.attempt(lambda: self.connection.execute(sql, args).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start: committed at the end, rolled back
        on any error."""
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            yield self.connection

    def write(self, statements: Iterable[tuple[str, tuple]], *, require_run: str | None = None) -> None:
        """Run statements in one transaction (one commit however many rows). With ``require_run``, only while
        that run's row is there: else a "deleted" RunStoreError, and nothing is written."""
        statements = list(statements)
        self.attempt(lambda: self._transaction(statements, require_run))

    def _transaction(self, statements: list[tuple[str, tuple]], require_run: str | None) -> None:
        with self.transaction() as connection:
            if require_run is not None and connection.execute(
                    "SELECT id FROM runs WHERE id = ?", (require_run,)).fetchone() is None:
                raise RunStoreError(f"run {require_run} is no longer in the run store '{self.path}': it was "
                                    "deleted (`learnable runs delete`) while it was being recorded", "deleted")
            for sql, args in statements:
                connection.execute(sql, args)
