"""The run store: every training run recorded in an embedded SQLite database.

One database file (``runs.sqlite``, WAL mode) per runs directory holds each run's name, status
(running / finished / failed / interrupted), times, command line, config, dataset
fingerprint, versions, seed, per-epoch metrics, per-step loss at an interval, and artifact paths.
Several processes may write to one runs directory at once: each opens its own connection and
SQLite serialises the (short, batched) transactions.

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
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DATABASE = "runs.sqlite"
STATUSES = ("running", "finished", "failed", "interrupted")
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


class RunStore:
    """Open (creating if needed) the run database in ``directory``."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_runs_dir()
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"runs directory '{self.directory}' is a file; pass a directory to --runs-dir.")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DATABASE
        try:
            self._connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            self._connection.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            raise ValueError(f"'{self.path}' is not a usable run database ({error}); move it away.") from None
        self._connection.row_factory = sqlite3.Row

    def close(self) -> None:
        self._connection.close()

    def _write(self, statements: Iterable[tuple[str, tuple]]) -> None:
        """Run statements in one transaction (one commit however many rows)."""
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                self._connection.execute(sql, args)

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
        (self.directory / run_id).mkdir(exist_ok=True)
        return run_id

    def add_epoch(self, run_id: str, metrics: dict[str, Any], steps: Iterable[tuple[int, float]] = ()) -> None:
        """Record one epoch's metrics and a batch of (step, loss) pairs in one transaction."""
        row = (run_id, int(metrics["epoch"]), _json(metrics))
        statements = [("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)", row)]
        statements += [("INSERT OR REPLACE INTO steps VALUES (?, ?, ?)", (run_id, s, loss)) for s, loss in steps]
        self._write(statements)

    def add_artifact(self, run_id: str, name: str, path: str | Path) -> None:
        """Record where an artifact of the run (model, checkpoint, report) lives."""
        self._write([("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)", (run_id, name, str(path)))])

    def set_detail(self, run_id: str, key: str, value: Any) -> None:
        """Store a JSON-able detail of a run under ``key`` (e.g. "data": the data summary)."""
        self._write([("INSERT OR REPLACE INTO details VALUES (?, ?, ?)", (run_id, key, _json(value)))])

    def finish(self, run_id: str, status: str, *, summary: dict[str, Any] | None = None, error: str = "") -> None:
        """Set the final status (and a summary, or the error that ended the run)."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {STATUSES}.")
        self._write([("UPDATE runs SET status = ?, ended = ?, summary = ?, error = ? WHERE id = ?",
                      (status, time.time(), _json(summary or {}), error or None, run_id))])

    def reopen(self, run_id: str) -> None:
        """Mark a run as running again (it is being resumed)."""
        self._write([("UPDATE runs SET status = 'running', ended = NULL, error = NULL WHERE id = ?", (run_id,))])

    def delete(self, run: str, *, force: bool = False) -> str:
        """Delete a run (its rows and its artifact folder); return its id. A running run needs ``force``."""
        run_id = self.resolve(run)
        status = self._connection.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        if status == "running" and not force:
            raise ValueError(
                f"run {run_id} is still marked running; stop it first, or pass --force if its process "
                "is gone (a killed run stays 'running')."
            )
        self._write([("DELETE FROM runs WHERE id = ?", (run_id,))])
        shutil.rmtree(self.directory / run_id, ignore_errors=True)
        return run_id

    # ---- reading ------------------------------------------------------------------------------
    def resolve(self, run: str) -> str:
        """The id of ``run``: an id, a unique id prefix, a run name (newest of that name), or "last"."""
        if run == "last":
            row = self._connection.execute("SELECT id FROM runs ORDER BY created DESC, id DESC LIMIT 1").fetchone()
            if row is None:
                raise ValueError(f"there are no runs in '{self.directory}' yet; train one with `learnable train`.")
            return row["id"]
        exact = self._connection.execute(
            "SELECT id FROM runs WHERE id = ? UNION ALL SELECT * FROM "
            "(SELECT id FROM runs WHERE name = ? ORDER BY created DESC, id DESC LIMIT 1)", (run, run)
        ).fetchone()
        if exact is not None:  # an exact id first, then the newest run of that name
            return exact["id"]
        rows = self._connection.execute(
            "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY created DESC", (len(run), run)
        ).fetchall()
        if len(rows) == 1:
            return rows[0]["id"]
        if len(rows) > 1:
            raise ValueError(f"'{run}' matches {len(rows)} runs ({', '.join(r['id'] for r in rows[:3])}, ...); "
                             "give more of the id.")
        raise ValueError(f"no run '{run}' in '{self.directory}'; `learnable runs` lists them, 'last' is the newest.")

    def get(self, run: str) -> dict[str, Any]:
        """One run as a dict: its row, ``epochs`` (metric dicts), ``details``, ``artifacts`` and ``num_steps``."""
        run_id = self.resolve(run)
        row = dict(self._connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone())
        for key in ("config", "versions", "summary"):
            row[key] = json.loads(row[key]) if row[key] else {}
        row["epochs"] = self.epochs(run_id)
        row["artifacts"] = {r["name"]: r["path"] for r in self._connection.execute(
            "SELECT name, path FROM artifacts WHERE run_id = ? ORDER BY name", (run_id,))}
        row["details"] = {r["key"]: json.loads(r["value"]) for r in self._connection.execute(
            "SELECT key, value FROM details WHERE run_id = ? ORDER BY key", (run_id,))}
        row["num_steps"] = self._connection.execute(
            "SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0]
        return row

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        """Per-epoch metric dicts of a run, in order."""
        rows = self._connection.execute("SELECT metrics FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [json.loads(r["metrics"]) for r in rows]

    def steps(self, run: str) -> list[tuple[int, float]]:
        """The recorded (step, loss) pairs of a run, in order."""
        run_id = self.resolve(run)
        rows = self._connection.execute("SELECT step, loss FROM steps WHERE run_id = ? ORDER BY step", (run_id,))
        return [(r["step"], r["loss"]) for r in rows]

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first, with their last epoch's metrics under ``last``."""
        rows = self._connection.execute(
            "SELECT r.*, (SELECT metrics FROM epochs e WHERE e.run_id = r.id ORDER BY epoch DESC LIMIT 1) AS last, "
            "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) AS num_epochs "
            "FROM runs r ORDER BY created DESC, id DESC LIMIT ?", (limit,)).fetchall()
        return [{**dict(r), "last": json.loads(r["last"]) if r["last"] else {},
                 "summary": json.loads(r["summary"]) if r["summary"] else {}} for r in rows]
