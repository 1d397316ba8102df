"""The doctor's entry point: every finding for a run record, by the rules of the run's family.

A record's config task picks the family: "cluster" and "reduce" (:mod:`~learnable.insight.doctor.classic`),
"rl" (:mod:`~learnable.insight.doctor.rl`), anything else a supervised training run
(:mod:`~learnable.insight.doctor.training`, with the data rules of :mod:`~learnable.insight.doctor.data`).

Example:
    >>> record = {"epochs": [{"epoch": e, "train_loss": 1 / e, "val_loss": 0.5 + e / 10} for e in range(1, 11)]}
    >>> [finding.code for finding in diagnose(record)]
    ['overfitting']
"""

from __future__ import annotations

from typing import Any

from learnable.insight.doctor.classic import UNTRAINED, without_epochs
from learnable.insight.doctor.finding import Finding
from learnable.insight.doctor.rl import diagnose_rl
from learnable.insight.doctor.training import diagnose_training


def diagnose(run: Any) -> list[Finding]:
    """Every finding for a run, most severe first.

    Args:
        run: a run record: a dict from :meth:`learnable.runs.RunStore.load_record` (``epochs``, ``steps``, ``data``,
            ``status``, ``error``, ``summary``, ...), or an object whose ``record()`` method returns one
            (``learnable.fit``'s model, a ``learnable.rl`` agent). For a :class:`~learnable.Learner` after
            ``fit`` pass ``learnable.runs.recorder.record_of(learner)``.

    Raises:
        TypeError: ``run`` is neither a dict nor has a ``record()`` method.
    """
    record = record_from(run)
    if "data" not in record:
        record = {**record, "data": (record.get("details") or {}).get("data")}
    task = (record.get("config") or {}).get("task")
    if task in UNTRAINED:
        return [without_epochs(task)]
    if task == "rl":  # reinforcement learning: episodes, not epochs
        return diagnose_rl(record)
    return diagnose_training(record)


def record_from(run: Any) -> dict[str, Any]:
    """``run`` itself when it is a record (a dict), else what its ``record()`` method returns."""
    if isinstance(run, dict):
        return run
    if callable(getattr(run, "record", None)):
        return run.record()
    raise TypeError(
        f"diagnose() reads a run record (a dict, or an object with a record() method such as learnable.fit's "
        f"model or a learnable.rl agent); got a {type(run).__name__}. For a Learner pass "
        "learnable.runs.recorder.record_of(learner), for a recorded run "
        "RunStore(runs_dir).load_record(run).")
