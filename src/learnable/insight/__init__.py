"""Insight: watching a network learn (statistics per layer; more to come: the doctor, plots, report)."""

from learnable.insight.statistics import Statistics

__all__ = ["Statistics"]
