"""Insight: watching a network learn, and saying what went wrong.

- :class:`Statistics`: per-layer activation, parameter, gradient and update statistics (on by default);
- :func:`summarize_data`: the facts about the training data that the doctor checks;
- :func:`diagnose`: the doctor's findings for a run or a trained Learner;
- :mod:`learnable.insight.plots`: matplotlib figures of a run;
- :func:`write_report`: the self-contained HTML report of a run.
"""

from learnable.callbacks.statistics import Statistics
from learnable.insight.data_summary import summarize_data
from learnable.insight.doctor import Finding, diagnose
from learnable.insight.embedding import plot_embedding
from learnable.insight.evaluation import evaluate_examples
from learnable.insight.report import load_record, write_report

__all__ = ["Finding", "Statistics", "diagnose", "evaluate_examples", "load_record", "plot_embedding", "summarize_data",
           "write_report"]
