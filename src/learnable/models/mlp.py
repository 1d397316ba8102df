"""The multilayer perceptron: Linear -> [BatchNorm] -> activation -> [Dropout], repeated.

Example:
    >>> import torch
    >>> model = MLP(in_features=784, out_features=10, hidden_sizes=[256, 128], dropout=0.1)
    >>> model(torch.zeros(32, 784)).shape
    torch.Size([32, 10])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, register
from learnable.utils.validation import check_choice

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


@dataclass
class MLPConfig:
    in_features: int
    out_features: int
    hidden_sizes: tuple[int, ...] = (128, 64)
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False


@register
class MLP(ConfigModule):
    """A fully connected network with ``len(hidden_sizes)`` hidden layers."""

    name = "mlp"
    config_class = MLPConfig

    def __init__(self, config: MLPConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        if not isinstance(c.hidden_sizes, (list, tuple)):
            raise TypeError(f"MLP hidden_sizes={c.hidden_sizes!r} must be a list of layer widths, e.g. [128, 64].")
        c.hidden_sizes = tuple(c.hidden_sizes)
        _check(c)
        layers: list[nn.Module] = []
        width = c.in_features
        for size in c.hidden_sizes:
            layers.append(nn.Linear(width, size))
            if c.batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(ACTIVATIONS[c.activation]())
            if c.dropout > 0:
                layers.append(nn.Dropout(c.dropout))
            width = size
        layers.append(nn.Linear(width, c.out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))  # (B, in_features) -> (B, out_features)


def _check(c: MLPConfig) -> None:
    hidden = {f"hidden_sizes[{i}]": s for i, s in enumerate(c.hidden_sizes)}
    check_sizes("MLP", in_features=c.in_features, out_features=c.out_features, **hidden)
    check_choice("activation", c.activation, tuple(sorted(ACTIVATIONS)), owner="MLP")
    check_dropout("MLP", c.dropout)
