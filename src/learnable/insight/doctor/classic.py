"""The doctor's one finding for a run that learns without epochs: `learnable cluster` (k-means) and
`learnable reduce` (PCA), config task "cluster" or "reduce".

Example:
    >>> without_epochs("cluster").code
    'no_training_curve'
"""

from __future__ import annotations

from learnable.insight.doctor.finding import Finding

UNTRAINED = {"cluster": ("k-means clustering", "the silhouette and the cluster sizes"),
             "reduce": ("PCA", "the explained variance of each component")}  # runs with no gradient steps
__all__ = ["UNTRAINED", "without_epochs"]


def without_epochs(task: str) -> Finding:
    """The one finding for a run that learns without epochs (`learnable cluster` / `learnable reduce`)."""
    method, figures = UNTRAINED[task]
    return Finding("no_training_curve", "info", f"This is a {method} run: it has no training curve to diagnose",
                   f"task '{task}', no epochs recorded",
                   f"The doctor reads losses, gradients and activations over epochs; {method} is solved directly, "
                   "without gradient descent, so none of its rules apply.",
                   f"Judge this run by {figures}: `learnable runs show` or `learnable report`.")
