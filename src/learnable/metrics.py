"""Metrics: numbers people read to judge a model, accumulated on the device, read once per epoch.

A metric is updated with each batch's raw model output and target (``update``), which only runs
tensor operations on the device, so there is no host sync inside a step; ``compute`` reads the
result once. Classification metrics read a single output column as a logit (class 1 when > 0) and
several columns as class scores (the arg-max wins).

Example:
    >>> import torch
    >>> metric = get("accuracy")
    >>> metric.update(torch.tensor([[2.0, 0.1], [0.3, 0.9]]), torch.tensor([0, 0]))
    >>> metric.compute()
    0.5
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def predicted_labels(output: torch.Tensor) -> torch.Tensor:
    """Class indices from raw outputs: logit > 0 for one column, else the arg-max."""
    if output.ndim == 1 or output.shape[-1] == 1:
        return (output.reshape(-1) > 0).long()
    return output.argmax(-1)


def _num_classes(output: torch.Tensor) -> int:
    return 2 if output.ndim == 1 or output.shape[-1] == 1 else output.shape[-1]


class Metric:
    """Base class: ``reset``, ``update(output, target)`` on the device, ``compute() -> float``."""

    name: str = "metric"
    higher_is_better: bool = True

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError


class _Confusion(Metric):
    """Metrics derived from the confusion matrix (rows: true class, columns: predicted class)."""

    def reset(self) -> None:
        self.matrix: torch.Tensor | None = None

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        if self.matrix is None:
            size = _num_classes(output)
            self.matrix = torch.zeros(size, size, dtype=torch.long, device=output.device)
        ones = torch.ones_like(target, dtype=torch.long)
        self.matrix.index_put_((target.long(), predicted_labels(output)), ones, accumulate=True)

    def _counts(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.matrix.double().cpu()
        return m.diagonal(), m.sum(0), m.sum(1)  # true positives, predicted, actual per class

    def compute(self) -> float:
        if self.matrix is None:
            return math.nan
        return float(self._score(*self._counts()))


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp(min=1e-300), torch.zeros_like(num))


class Accuracy(_Confusion):
    """Fraction of rows whose predicted class is the true class."""

    name = "accuracy"

    def _score(self, tp, predicted, actual):
        return tp.sum() / actual.sum()


class BalancedAccuracy(_Confusion):
    """Mean recall over the classes present in the target (robust to class imbalance)."""

    name = "balanced_accuracy"

    def _score(self, tp, predicted, actual):
        present = actual > 0
        return (tp[present] / actual[present]).mean()


class Precision(_Confusion):
    """Macro-averaged precision (a class never predicted counts 0, as scikit-learn does)."""

    name = "precision"

    def _score(self, tp, predicted, actual):
        return _ratio(tp, predicted)[(actual + predicted) > 0].mean()


class Recall(_Confusion):
    """Macro-averaged recall."""

    name = "recall"

    def _score(self, tp, predicted, actual):
        return _ratio(tp, actual)[(actual + predicted) > 0].mean()


class F1(_Confusion):
    """Macro-averaged F1, the harmonic mean of each class's precision and recall."""

    name = "f1"

    def _score(self, tp, predicted, actual):
        return _ratio(2 * tp, predicted + actual)[(actual + predicted) > 0].mean()


class _Sums(Metric):
    """Metrics that need only running sums, kept as one float64 tensor on the device."""

    keys: tuple[str, ...] = ()

    def reset(self) -> None:
        self.sums: torch.Tensor | None = None

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        terms = torch.stack([t.double().sum() for t in self._terms(output, target)])
        self.sums = terms if self.sums is None else self.sums + terms

    def compute(self) -> float:
        if self.sums is None:
            return math.nan
        return float(self._score(*self.sums.cpu().tolist()))


class LogLoss(_Sums):
    """Mean negative log-likelihood of the true class (binary: sigmoid, multiclass: softmax)."""

    name = "log_loss"
    higher_is_better = False

    def _terms(self, output, target):
        if _num_classes(output) == 2 and (output.ndim == 1 or output.shape[-1] == 1):
            logits = output.reshape(-1)
            nll = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none")
        else:
            nll = F.cross_entropy(output, target.long(), reduction="none")
        return nll, torch.ones_like(nll)

    def _score(self, nll, n):
        return nll / n


def _regression_pair(output: torch.Tensor, target: torch.Tensor):
    return output.reshape(target.shape).double(), target.double()


class RMSE(_Sums):
    """Root mean squared error, in the target's units."""

    name = "rmse"
    higher_is_better = False

    def _terms(self, output, target):
        pred, true = _regression_pair(output, target)
        return (pred - true) ** 2, torch.ones_like(true)

    def _score(self, squared, n):
        return math.sqrt(squared / n)


class MAE(_Sums):
    """Mean absolute error, in the target's units."""

    name = "mae"
    higher_is_better = False

    def _terms(self, output, target):
        pred, true = _regression_pair(output, target)
        return (pred - true).abs(), torch.ones_like(true)

    def _score(self, absolute, n):
        return absolute / n


class R2(_Sums):
    """Coefficient of determination: 1 - residual sum of squares / total sum of squares."""

    name = "r2"

    def _terms(self, output, target):
        pred, true = _regression_pair(output, target)
        return (pred - true) ** 2, true, true**2, torch.ones_like(true)

    def _score(self, residual, total, squares, n):
        variance = squares - total**2 / n
        return 1 - residual / variance if variance > 0 else math.nan


class ROCAUC(Metric):
    """Area under the ROC curve for a binary classifier (one logit per row).

    Scores are kept on the device and ranked once per epoch (ties get their average rank).
    """

    name = "roc_auc"

    def reset(self) -> None:
        self.scores: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        if output.ndim == 2 and output.shape[-1] > 2:
            raise ValueError("roc_auc is defined here for binary classifiers (one output column).")
        score = output[:, 1] - output[:, 0] if output.ndim == 2 and output.shape[-1] == 2 else output
        self.scores.append(score.reshape(-1).detach())
        self.targets.append(target.reshape(-1))

    def compute(self) -> float:
        if not self.scores:
            return math.nan
        scores = torch.cat(self.scores).double().cpu()
        positive = torch.cat(self.targets).cpu() > 0
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            return math.nan
        return float((_average_ranks(scores)[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks, tied values sharing the mean of their ranks."""
    unique, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    return (ends - (counts.double() - 1) / 2)[inverse]


METRICS: dict[str, type[Metric]] = {
    m.name: m for m in (Accuracy, BalancedAccuracy, Precision, Recall, F1, ROCAUC, LogLoss, RMSE, MAE, R2)
}


def get(metric: Any) -> Metric:
    """Return a fresh metric: by name from :data:`METRICS`, or a :class:`Metric` instance as is."""
    if isinstance(metric, Metric):
        return metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}.")
    return METRICS[metric]()
