"""Models: ``nn.Module`` classes built from a config dataclass, rebuildable from JSON."""

from learnable.models.base import REGISTRY, ConfigModule, build, describe, register
from learnable.models.cnn import CNN, CNNConfig
from learnable.models.linear import (
    LinearClassifierConfig,
    LinearRegression,
    LinearRegressionConfig,
    LinearSVM,
    LogisticRegression,
)
from learnable.models.mlp import MLP, MLPConfig

__all__ = [
    "CNN",
    "CNNConfig",
    "MLP",
    "REGISTRY",
    "ConfigModule",
    "LinearClassifierConfig",
    "LinearRegression",
    "LinearRegressionConfig",
    "LinearSVM",
    "LogisticRegression",
    "MLPConfig",
    "build",
    "describe",
    "register",
]
