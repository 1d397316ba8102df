"""Runs: the SQLite run store and the callback that records training into it."""

from learnable.runs.recorder import RecordRun
from learnable.runs.store import STATUSES, RunStore, default_runs_dir

__all__ = ["STATUSES", "RecordRun", "RunStore", "default_runs_dir"]
