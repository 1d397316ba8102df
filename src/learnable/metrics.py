"""Metrics (public path): see :mod:`learnable.train.metrics`."""

from learnable.train.metrics import (
    F1,
    MAE,
    METRICS,
    R2,
    RMSE,
    ROCAUC,
    Accuracy,
    BalancedAccuracy,
    LogLoss,
    Metric,
    Precision,
    Recall,
    get,
    predicted_labels,
)

__all__ = [
    "F1",
    "MAE",
    "METRICS",
    "R2",
    "RMSE",
    "ROCAUC",
    "Accuracy",
    "BalancedAccuracy",
    "LogLoss",
    "Metric",
    "Precision",
    "Recall",
    "get",
    "predicted_labels",
]
