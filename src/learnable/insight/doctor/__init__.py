"""The doctor: what went wrong in a run (or what is about to), in plain words.

Each rule is a function of a run record that returns :class:`Finding` objects: a severity, the evidence,
what it means and what to do. One module per family of rules: ``training`` (the dynamics of a supervised
run), ``data`` (what the training data looks like), ``rl`` (episodes of a reinforcement-learning agent) and
``classic`` (cluster and reduce runs, which have no curve). :func:`diagnose` picks the family by the run's task.

Example:
    >>> [finding.code for finding in diagnose({"epochs": [], "status": "running"})]
    ['still_running']
"""

from learnable.insight.doctor.diagnosis import diagnose
from learnable.insight.doctor.finding import SEVERITIES, Finding

__all__ = ["SEVERITIES", "Finding", "diagnose"]
