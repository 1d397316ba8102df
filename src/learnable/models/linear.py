"""The linear networks: linear regression, logistic regression and the linear SVM as ``nn.Module``s.

(The estimators of the same names, fitted in closed form or by L-BFGS, are in :mod:`learnable.classic`;
these are the networks ``learnable.fit(model="linear" | "logistic" | "svm")`` trains with the Learner.)

All three are one affine map ``x @ W.T + b``; they differ in the loss they are trained with
(squared error, cross-entropy, hinge) and in how their outputs are read. A binary classifier has a
single output (the logit or the margin); a multiclass one has one output per class.

Example:
    >>> import torch
    >>> LogisticRegressionNet(in_features=4, num_classes=3)(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_sizes, register
from learnable.utils.validation import check_count


@dataclass
class LinearRegressionConfig:
    in_features: int
    out_features: int = 1


@dataclass
class LinearClassifierConfig:
    in_features: int
    num_classes: int = 2


class Affine(ConfigModule):
    """One affine map ``x @ W.T + b`` (``self.linear``): the base of the three linear networks."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)  # (B, in) -> (B, out)


@register
class LinearRegressionNet(Affine):
    """Predict real numbers as an affine function of the inputs; train with MSE."""

    name = "linear"
    config_class = LinearRegressionConfig

    def __init__(self, config: LinearRegressionConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        check_sizes(self.name, in_features=self.config.in_features, out_features=self.config.out_features)
        self.linear = nn.Linear(self.config.in_features, self.config.out_features)


class _LinearClassifier(Affine):
    def __init__(self, config: LinearClassifierConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        classes = self.config.num_classes
        check_sizes(self.name, in_features=self.config.in_features)
        check_count("num_classes", classes, 3, least=2)
        self.linear = nn.Linear(self.config.in_features, 1 if classes == 2 else classes)


@register
class LogisticRegressionNet(_LinearClassifier):
    """Class probabilities from a linear map: sigmoid (binary) or softmax (multinomial)."""

    name = "logistic"
    config_class = LinearClassifierConfig


@register
class LinearSVM(_LinearClassifier):
    """A maximum-margin linear classifier; train with the hinge loss. Outputs are margins."""

    name = "svm"
    config_class = LinearClassifierConfig
