"""Runs: the SQLite run store, the callback that records training into it, and the writer both go through."""

from learnable.runs.database import RunStoreError
from learnable.runs.recorder import RecordRun
from learnable.runs.store import STATUSES, RunStore, default_runs_dir
from learnable.runs.writer import RunWriter

__all__ = ["STATUSES", "RecordRun", "RunStore", "RunStoreError", "RunWriter", "default_runs_dir"]
