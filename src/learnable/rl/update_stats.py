"""The learning figures an agent's episode record carries: running sums of TD loss and Q-value estimates
over the updates since the last finished episode, averaged into that episode's record.

Example:
    >>> stats = UpdateStats()
    >>> stats.add(0.5, 1.0, 2.0)
    >>> stats.add(1.5, 3.0, 4.0)
    >>> stats.flush()
    {'td_loss': 1.0, 'q_mean': 2.0, 'q_max': 3.0}
    >>> stats.flush()["td_loss"] is None  # no updates since
    True
"""

from __future__ import annotations

from typing import Any

NAMES = ("td_loss", "q_mean", "q_max")


class UpdateStats:
    """Running sums of TD loss and Q-value estimates over the updates since the last episode record."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count, self.td_loss, self.q_mean, self.q_max = 0, 0.0, 0.0, 0.0

    def add(self, td_loss: Any, q_mean: Any, q_max: Any) -> None:
        """Count one update: its loss (mean squared / Huber TD error) and its Q-value mean and maximum.

        Numbers or 0-d tensors: tensors are summed where they live (no wait for a GPU per update) and read
        once, by :meth:`flush` or :meth:`totals`."""
        self.count += 1
        self.td_loss += td_loss
        self.q_mean += q_mean
        self.q_max += q_max

    def totals(self) -> list[float]:
        """[count, the three sums] as plain numbers (for a checkpoint; :meth:`restore` reads them back)."""
        return [self.count, float(self.td_loss), float(self.q_mean), float(self.q_max)]

    def restore(self, totals: list[float]) -> None:
        """Continue from the sums of :meth:`totals`."""
        count, td_loss, q_mean, q_max = totals
        self.count, self.td_loss, self.q_mean, self.q_max = int(count), float(td_loss), float(q_mean), float(q_max)

    def flush(self) -> dict[str, float | None]:
        """The means since the last flush (None when there were no updates); then start again."""
        if self.count == 0:
            means = {name: None for name in NAMES}
        else:
            means = {name: float(getattr(self, name)) / self.count for name in NAMES}
        self.reset()
        return means
