"""Insight: pure functions of a plain run record that say how a network learned and what went wrong.

A run record is a dict (``learnable.runs.RunStore.load_record`` reads one from the run store; ``learnable.fit``'s
model gives one by ``record()``; ``learnable.runs.recorder.record_of`` makes one of a trained Learner). Insight
imports nothing of the training code, the tasks or the run store: it reads records.

- :func:`summarize_data`: the facts about the training data that the doctor checks;
- :func:`diagnose`: the doctor's findings for a run record (:mod:`learnable.insight.doctor`);
- :mod:`learnable.insight.plots`: matplotlib figures of a run;
- :func:`write_report`: the self-contained HTML report of a run (:mod:`learnable.insight.report`).
"""

from learnable.insight.data_summary import summarize_data
from learnable.insight.doctor import Finding, diagnose
from learnable.insight.embedding import plot_embedding
from learnable.insight.report import write_report

__all__ = ["Finding", "diagnose", "plot_embedding", "summarize_data", "write_report"]
