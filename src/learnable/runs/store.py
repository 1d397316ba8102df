"""The run store: every training run recorded in an embedded SQLite database.

One database file (``runs.sqlite``, WAL mode) per runs directory holds each run's name, status
(running / finished / failed / interrupted), times, command line, config, dataset
fingerprint, versions, seed, per-epoch metrics, per-step loss at an interval, and artifact paths.
Several processes may write to one runs directory at once: each opens its own connection and
SQLite serialises the (short, batched) transactions.

The store never costs a user their model or a traceback: a write waits for another process's lock, then
tries again with growing pauses; a store that stays locked, cannot be written or is damaged raises
:class:`RunStoreError` (a ``ValueError``), whose message says which, names the file and the fix. One that
cannot be written still opens read-only, so listing and showing runs works. A training writes through its
:class:`~learnable.runs.writer.RunWriter`, which turns such an error into one line and goes on. A run's
folder is always ``directory/<id>``, refused when the id is not a plain name or the folder is a link.

Example:
    >>> store = RunStore("/tmp/example-runs")
    >>> run_id = store.create("demo", config={"lr": 0.1}, seed=0)
    >>> store.add_epoch(run_id, {"epoch": 1, "train_loss": 0.5})
    >>> store.finish(run_id, "finished")
    >>> store.get("last")["status"]
    'finished'
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from learnable.runs import live

if TYPE_CHECKING:
    from learnable.runs.writer import RunWriter

T = TypeVar("T")
DATABASE = "runs.sqlite"
STATUSES = ("running", "finished", "failed", "interrupted")
BUSY_SECONDS = 2.0  # SQLite's own wait for another process's lock, in each attempt
RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0)  # pauses before the next attempts: about 17 s in all, then RunStoreError
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # the ids create() gives
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a folder name with no separator, no leading dot
REQUIRE_RUN = "SELECT id FROM runs WHERE id = ?"  # a write to a run first checks that its row is still there
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


def default_runs_dir() -> Path:
    """``$LEARNABLE_RUNS`` if set, else ``./runs``."""
    return Path(os.environ.get("LEARNABLE_RUNS") or "runs")


def _json(value: Any) -> str:
    return json.dumps(value, default=str, allow_nan=True)


class RunStoreError(ValueError):
    """The run store cannot be used now: ``reason`` is "locked", "read-only", "damaged", "deleted" or "failed".

    Example:
        >>> RunStoreError("the run store 'runs/runs.sqlite' is locked ...", "locked").reason
        'locked'
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# SQLite's primary result codes, as what they mean for the run store.
REASONS = {5: "locked", 6: "locked", 3: "read-only", 8: "read-only", 14: "read-only", 23: "read-only",
           11: "damaged", 26: "damaged", 10: "failed", 13: "failed"}


def reason_of(error: sqlite3.Error) -> str:
    """What a SQLite error means for the store: "locked", "read-only", "damaged" or "failed"."""
    return REASONS.get(getattr(error, "sqlite_errorcode", 0) & 0xFF, "failed")


def _ignore_missing(function: Any, path: str, exc_info: Any) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):  # gone already (a rerun, or a live run's own cleanup)
        raise exc_info[1]


def remove_folder(folder: Path) -> None:
    """Remove a run's folder (one that is gone already is fine); links inside it are removed, never followed."""
    for attempt in range(3):  # a live run deleted with --force may write a checkpoint meanwhile
        try:
            shutil.rmtree(folder, onerror=_ignore_missing)
            return
        except OSError:
            if attempt == 2:
                raise


class RunStore:
    """Open (creating if needed) the run database in ``directory``; read-only if it cannot be written."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_runs_dir()
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"runs directory '{self.directory}' is a file; pass a directory to --runs-dir.")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DATABASE
        self._writers: dict[str, RunWriter] = {}
        self._live: dict[str, int | None] = {}  # the live locks of the runs this process runs (runs/live.py)
        self._connection = self._open()

    def close(self) -> None:
        self._connection.close()

    # ---- the connection and its errors --------------------------------------------------------------
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
            return self._attempt(lambda: self._connect("rwc"))
        except RunStoreError as error:
            if error.reason != "read-only":
                raise
            try:
                return self._connect("ro")
            except sqlite3.Error:
                raise error from None

    def _attempt(self, work: Callable[[], T]) -> T:
        """``work()``, tried again after growing pauses while another process holds the lock. Any SQLite error
        becomes a :class:`RunStoreError` saying what happened, to which file, and how to fix it."""
        start = time.monotonic()
        for pause in (*RETRY_PAUSES, None):
            try:
                return work()
            except sqlite3.Error as error:
                if pause is None or reason_of(error) != "locked":
                    raise self._error(error, time.monotonic() - start) from None
            time.sleep(pause)
        raise AssertionError("unreachable")

    def _error(self, error: sqlite3.Error, waited: float) -> RunStoreError:
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

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """The rows of one query (waiting out a lock; SQLite errors as :class:`RunStoreError`)."""
        return self._attempt(lambda: self._connection.execute(sql, args).fetchall())

    def _write(self, statements: Iterable[tuple[str, tuple]]) -> None:
        """Run statements in one transaction (one commit however many rows). A ``REQUIRE_RUN`` statement that
        finds no row raises a "deleted" RunStoreError and writes nothing."""
        statements = list(statements)
        self._attempt(lambda: self._transaction(statements))

    def _transaction(self, statements: list[tuple[str, tuple]]) -> None:
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                found = self._connection.execute(sql, args).fetchone()
                if sql is REQUIRE_RUN and found is None:
                    raise RunStoreError(f"run {args[0]} is no longer in the run store '{self.path}': it was "
                                        "deleted (`learnable runs delete`) while it was being recorded", "deleted")

    def _write_run(self, run_id: str, statements: list[tuple[str, tuple]]) -> None:
        """Write to one run, only while its row is there (it may have been deleted meanwhile)."""
        self._write([(REQUIRE_RUN, (run_id,)), *statements])

    def folder(self, run_id: str) -> Path:
        """The folder of run ``run_id``: ``directory/run_id``, inside the runs directory. An id that is not a plain
        name (``../x``, ``/tmp/x``: a database someone else wrote) or a folder that is a link is refused, so
        nothing outside the runs directory is ever written or deleted through a run.

        Example:
            >>> RunStore("/tmp/example-runs").folder("20260101-120000-abcdef").name
            '20260101-120000-abcdef'
        """
        folder = self.directory / run_id
        if not PLAIN_NAME.fullmatch(run_id):
            raise RunStoreError(
                f"run id {run_id!r} in '{self.path}' is not a plain folder name (a path separator, '..' or an odd "
                "character), so learnable will not use it as a path; learnable never writes such an id. Remove "
                "that row with the sqlite3 shell (DELETE FROM runs WHERE id = ...).", "failed")
        if folder.is_symlink() or (folder.exists() and folder.resolve() != self.directory.resolve() / run_id):
            raise RunStoreError(
                f"the folder of run {run_id}, '{folder}', is a link to '{folder.resolve()}'; learnable writes and "
                f"deletes only inside the runs directory '{self.directory}'. Remove the link (rm '{folder}'; what "
                "it points to stays) and try again.", "failed")
        return folder

    def is_live(self, run_id: str) -> bool:
        """Whether a process is running ``run_id`` now: a run marked 'running' whose process was killed is not.

        Example:
            >>> store = RunStore("/tmp/example-runs")
            >>> run_id = store.create("demo")
            >>> store.is_live(run_id)
            True
            >>> store.finish(run_id, "finished"); store.is_live(run_id)
            False
        """
        return run_id in self._live or live.is_live(self.folder(run_id))

    def writer(self, run_id: str) -> RunWriter:
        """The :class:`~learnable.runs.writer.RunWriter` of ``run_id``: one per run and store, so the recording
        callback and the command that finishes the run share it (and know when recording stopped)."""
        from learnable.runs.writer import RunWriter

        if run_id not in self._writers:
            self._writers[run_id] = RunWriter(self, run_id)
        return self._writers[run_id]

    # ---- writing ------------------------------------------------------------------------------
    def create(
        self,
        name: str,
        *,
        config: dict[str, Any] | None = None,
        seed: int | None = None,
        dataset: str | None = None,
        command: str | None = None,
    ) -> str:
        """Record a new run with status ``running``; return its id (sortable by creation time)."""
        from learnable.model_file import versions

        run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        row = (run_id, name, "running", time.time(), command or " ".join(sys.argv), _json(config or {}),
               dataset, _json(versions()), seed)
        self._write([("INSERT INTO runs (id, name, status, created, command, config, dataset, versions, seed) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)])
        self.folder(run_id).mkdir(exist_ok=True)
        self._live[run_id] = live.claim(self.folder(run_id), run_id)
        return run_id

    def add_epoch(self, run_id: str, metrics: dict[str, Any], steps: Iterable[tuple[int, float]] = ()) -> None:
        """Record one epoch's metrics and a batch of (step, loss) pairs in one transaction."""
        row = (run_id, int(metrics["epoch"]), _json(metrics))
        statements = [("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)", row)]
        statements += [("INSERT OR REPLACE INTO steps VALUES (?, ?, ?)", (run_id, s, loss)) for s, loss in steps]
        self._write_run(run_id, statements)

    def add_artifact(self, run_id: str, name: str, path: str | Path) -> None:
        """Record where an artifact of the run (model, checkpoint, report) lives."""
        self._write_run(run_id, [("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)", (run_id, name, str(path)))])

    def set_detail(self, run_id: str, key: str, value: Any) -> None:
        """Store a JSON-able detail of a run under ``key`` (e.g. "data": the data summary)."""
        self._write_run(run_id, [("INSERT OR REPLACE INTO details VALUES (?, ?, ?)", (run_id, key, _json(value)))])

    def finish(self, run_id: str, status: str, *, summary: dict[str, Any] | None = None, error: str = "") -> None:
        """Set the final status (and a summary, or the error that ended the run)."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {STATUSES}.")
        try:
            self._write_run(run_id, [("UPDATE runs SET status = ?, ended = ?, summary = ?, error = ? WHERE id = ?",
                                      (status, time.time(), _json(summary or {}), error or None, run_id))])
        finally:
            live.release(self._live.pop(run_id, None))

    def reopen(self, run_id: str) -> None:
        """Mark a run as running again (it is being resumed); refused while another process runs it."""
        folder = self.folder(run_id)
        folder.mkdir(exist_ok=True)
        if run_id not in self._live:
            self._live[run_id] = live.claim(folder, run_id)
        self._write_run(run_id, [("UPDATE runs SET status = 'running', ended = NULL, error = NULL WHERE id = ?",
                                  (run_id,))])

    def delete(self, run: str, *, force: bool = False) -> str:
        """Delete a run (its rows and its folder in the runs directory); return its id. A running run needs
        ``force``; its training goes on unrecorded. A delete killed half-way is finished by running it again."""
        try:
            run_id = self.resolve(run)
        except RunStoreError:
            raise
        except ValueError:  # no such run, but maybe the folder a half-done delete left: finish that
            if not (RUN_ID.fullmatch(run) and self.folder(run).is_dir()):
                raise
            remove_folder(self.folder(run))
            return run
        folder = self.folder(run_id)
        self._attempt(lambda: self._delete(run_id, folder, force))
        return run_id

    def _delete(self, run_id: str, folder: Path, force: bool) -> None:
        """Delete the rows, remove the folder, then commit: killed before the commit, the run is still listed
        (and its folder partly gone); the rerun removes the rest."""
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            found = self._connection.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if found is not None and found["status"] == "running" and not force and self.is_live(run_id):
                raise ValueError(
                    f"run {run_id} is still running; stop it first (Ctrl-C or kill), or "
                    "pass --force to delete it while it trains (it goes on unrecorded and still saves its model)."
                )
            self._connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))  # fails here if read-only
            remove_folder(folder)

    # ---- reading ------------------------------------------------------------------------------
    def resolve(self, run: str) -> str:
        """The id of ``run``: an id, a unique id prefix, a run name (newest of that name), or "last"."""
        if run == "last":
            rows = self._rows("SELECT id FROM runs ORDER BY created DESC, id DESC LIMIT 1")
            if not rows:
                raise ValueError(f"there are no runs in '{self.directory}' yet; train one with `learnable train`.")
            return rows[0]["id"]
        exact = self._rows(
            "SELECT id FROM runs WHERE id = ? UNION ALL SELECT * FROM "
            "(SELECT id FROM runs WHERE name = ? ORDER BY created DESC, id DESC LIMIT 1)", (run, run)
        )
        if exact:  # an exact id first, then the newest run of that name
            return exact[0]["id"]
        rows = self._rows("SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY created DESC", (len(run), run))
        if len(rows) == 1:
            return rows[0]["id"]
        if len(rows) > 1:
            raise ValueError(f"'{run}' matches {len(rows)} runs ({', '.join(r['id'] for r in rows[:3])}, ...); "
                             "give more of the id.")
        raise ValueError(f"no run '{run}' in '{self.directory}'; `learnable runs` lists them, 'last' is the newest.")

    def get(self, run: str) -> dict[str, Any]:
        """One run as a dict: its row, ``epochs`` (metric dicts), ``details``, ``artifacts`` and ``num_steps``."""
        run_id = self.resolve(run)
        found = self._rows("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not found:
            raise ValueError(f"run {run_id} was deleted just now; `learnable runs` lists the runs there are.")
        row = dict(found[0])
        for key in ("config", "versions", "summary"):
            row[key] = json.loads(row[key]) if row[key] else {}
        row["epochs"] = self.epochs(run_id)
        row["artifacts"] = {r["name"]: r["path"] for r in self._rows(
            "SELECT name, path FROM artifacts WHERE run_id = ? ORDER BY name", (run_id,))}
        row["details"] = {r["key"]: json.loads(r["value"]) for r in self._rows(
            "SELECT key, value FROM details WHERE run_id = ? ORDER BY key", (run_id,))}
        row["num_steps"] = self._rows("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,))[0][0]
        return row

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        """Per-epoch metric dicts of a run, in order."""
        rows = self._rows("SELECT metrics FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [json.loads(r["metrics"]) for r in rows]

    def steps(self, run: str) -> list[tuple[int, float]]:
        """The recorded (step, loss) pairs of a run, in order."""
        run_id = self.resolve(run)
        rows = self._rows("SELECT step, loss FROM steps WHERE run_id = ? ORDER BY step", (run_id,))
        return [(r["step"], r["loss"]) for r in rows]

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first, with their last epoch's metrics under ``last``."""
        rows = self._rows(
            "SELECT r.*, (SELECT metrics FROM epochs e WHERE e.run_id = r.id ORDER BY epoch DESC LIMIT 1) AS last, "
            "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) AS num_epochs "
            "FROM runs r ORDER BY created DESC, id DESC LIMIT ?", (limit,))
        return [{**dict(r), "last": json.loads(r["last"]) if r["last"] else {},
                 "summary": json.loads(r["summary"]) if r["summary"] else {}} for r in rows]
