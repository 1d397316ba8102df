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
The connection, its retries and its errors live in :mod:`learnable.runs.database`.

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
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnable.runs import live
from learnable.runs.database import Database, RunStoreError

if TYPE_CHECKING:
    import sqlite3

    from learnable.runs.writer import RunWriter

__all__ = ["STATUSES", "RunStore", "RunStoreError", "default_runs_dir", "remove_folder"]
DATABASE = "runs.sqlite"
STATUSES = ("running", "finished", "failed", "interrupted")
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # the ids create() gives
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a folder name with no separator, no leading dot


def default_runs_dir() -> Path:
    """``$LEARNABLE_RUNS`` if set, else ``./runs``."""
    return Path(os.environ.get("LEARNABLE_RUNS") or "runs")


def _json(value: Any) -> str:
    return json.dumps(value, default=str, allow_nan=True)


def _ignore_missing(function: Any, path: str, error: Any) -> None:
    """``shutil.rmtree``'s error handler: ``error`` is the exception (onexc) or its ``exc_info`` (onerror)."""
    error = error[1] if isinstance(error, tuple) else error
    if not isinstance(error, FileNotFoundError):  # gone already (a rerun, or a live run's own cleanup)
        raise error


def remove_folder(folder: Path) -> None:
    """Remove a run's folder (one that is gone already is fine); links inside it are removed, never followed."""
    handler = {"onexc": _ignore_missing} if sys.version_info >= (3, 12) else {"onerror": _ignore_missing}
    for attempt in range(3):  # a live run deleted with --force may write a checkpoint meanwhile
        try:
            shutil.rmtree(folder, **handler)
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
        self._database = Database(self.path)

    def close(self) -> None:
        """Close the database and give up the live locks of the runs this store still holds."""
        for run_id in list(self._live):
            self.release(run_id)
        self._database.close()

    # ---- the database -------------------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """The rows of one query (waiting out a lock; SQLite errors as :class:`RunStoreError`)."""
        return self._database.rows(sql, args)

    def _write(self, statements: Iterable[tuple[str, tuple]], *, require_run: str | None = None) -> None:
        """Run statements in one transaction; with ``require_run``, only while that run's row is there."""
        self._database.write(statements, require_run=require_run)

    def _write_run(self, run_id: str, statements: list[tuple[str, tuple]]) -> None:
        """Write to one run, only while its row is there (it may have been deleted meanwhile)."""
        self._write(statements, require_run=run_id)

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
        if not PLAIN_NAME.fullmatch(run_id):  # an odd id from someone else's store has no lock of ours
            return False
        return run_id in self._live or live.is_live(self.directory / run_id)

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
            self.release(run_id)

    def claim(self, run_id: str) -> None:
        """Take the live lock of ``run_id`` for this process (a no-op if it holds it already); refused with a
        ValueError while another process runs it. A resume claims the run, loads its checkpoint, then reopens it
        (:meth:`reopen`): a checkpoint that fails to load leaves the run's status and error as they were.

        Example:
            >>> store = RunStore("/tmp/example-runs")
            >>> run_id = store.create("demo"); store.finish(run_id, "interrupted")
            >>> store.claim(run_id); store.is_live(run_id)
            True
            >>> store.release(run_id); store.is_live(run_id)
            False
        """
        if run_id not in self._live:
            folder = self.folder(run_id)
            folder.mkdir(exist_ok=True)
            self._live[run_id] = live.claim(folder, run_id)

    def release(self, run_id: str) -> None:
        """Give up the live lock of ``run_id`` (if this store holds it): the run is no longer being run here."""
        live.release(self._live.pop(run_id, None))

    def reopen(self, run_id: str) -> None:
        """Mark a run as running again (it is being resumed); claims it first if not claimed yet, so it is
        refused while another process runs it."""
        self.claim(run_id)
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
        self._database.attempt(lambda: self._delete(run_id, folder, force))
        return run_id

    def _delete(self, run_id: str, folder: Path, force: bool) -> None:
        """Delete the rows, remove the folder, then commit: killed before the commit, the run is still listed
        (and its folder partly gone); the rerun removes the rest."""
        with self._database.transaction() as connection:
            found = connection.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if found is not None and found["status"] == "running" and not force and self.is_live(run_id):
                raise ValueError(
                    f"run {run_id} is still running; stop it first (Ctrl-C or kill), or "
                    "pass --force to delete it while it trains (it goes on unrecorded and still saves its model)."
                )
            connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))  # fails here if read-only
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
            row[key] = self._parse(row[key], run_id, key)
        row["epochs"] = self.epochs(run_id)
        row["artifacts"] = {r["name"]: r["path"] for r in self._rows(
            "SELECT name, path FROM artifacts WHERE run_id = ? ORDER BY name", (run_id,))}
        details = self._rows("SELECT key, value FROM details WHERE run_id = ? ORDER BY key", (run_id,))
        row["details"] = {r["key"]: self._parse(r["value"], run_id, f"detail {r['key']!r}", mapping=False)
                          for r in details}
        row["num_steps"] = self._rows("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,))[0][0]
        row["live"] = self._running_now(row)
        return row

    def load_record(self, run: str) -> dict[str, Any]:
        """A run as the doctor and the report read it (a plain run record, :mod:`learnable.insight.record`):
        :meth:`get` plus its sampled step losses (``steps``) and its data summary (``data``)."""
        record = self.get(run)
        record["steps"] = self.steps(record["id"])
        record["data"] = record["details"].get("data")
        return record

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        """Per-epoch metric dicts of a run, in order."""
        rows = self._rows("SELECT epoch, metrics FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [self._parse(r["metrics"], run_id, f"metrics of epoch {r['epoch']}") for r in rows]

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
        return [{**dict(r), "last": self._parse(r["last"], r["id"], "last epoch's metrics"),
                 "summary": self._parse(r["summary"], r["id"], "summary"), "live": self._running_now(r)} for r in rows]

    def _running_now(self, row: Any) -> bool:
        """Whether a process runs this run now (``live`` in get/list): False for a 'running' run that was killed."""
        return row["status"] == "running" and self.is_live(row["id"])

    def _parse(self, text: str | None, run_id: str, what: str, *, mapping: bool = True) -> Any:
        """The JSON value learnable wrote as ``what`` of run ``run_id`` (``{}`` for none). A store someone else
        wrote may hold anything: text that is not JSON, JSON nested too deep to read, or (with ``mapping``) a
        value that is not an object all raise a "damaged" :class:`RunStoreError` naming the file and the run.

        Example:
            >>> RunStore("/tmp/example-runs")._parse('{"lr": 0.1}', "20260101-120000-abcdef", "config")
            {'lr': 0.1}
        """
        if text is None or text == "":
            return {}
        try:
            value = json.loads(text)
            problem = f"a JSON {type(value).__name__}, not an object" if mapping and not isinstance(value, dict) else ""
        except RecursionError:
            problem = "JSON nested too deep to read"
        except (TypeError, ValueError) as error:
            problem = f"not JSON ({error})"
        if not problem:
            return value
        raise RunStoreError(
            f"the {what} of run {run_id} in the run store '{self.path}' is damaged: {problem}, where learnable "
            f"writes a JSON {'object' if mapping else 'value'}. Delete that run (`learnable runs delete {run_id}`), "
            f"or move the store aside (mv '{self.path}' '{self.path}.damaged'); the run folders stay.", "damaged")
