"""A small convolutional network for images: [Conv3x3 -> BatchNorm -> ReLU -> MaxPool] blocks,
then a fully connected head.

It takes images as (B, C, H, W) or flattened as (B, C*H*W) (the way tabular pipelines carry them).
With ``residual=True`` each block is a residual block (He et al., 2016): Conv3x3 -> BatchNorm ->
ReLU -> Conv3x3 -> BatchNorm, plus a skip connection (a 1x1 convolution + BatchNorm projection
where the channel count changes), then ReLU and MaxPool. The skip lets gradients reach early layers
unchanged, so deeper stacks train as easily as shallow ones.

Example:
    >>> import torch
    >>> model = CNN(in_channels=1, image_size=(28, 28), out_features=10)
    >>> model(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
    >>> CNN(in_channels=1, image_size=(28, 28), out_features=10, residual=True)(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, register
from learnable.utils.validation import check_flag


@dataclass
class CNNConfig:
    in_channels: int
    image_size: tuple[int, int]
    out_features: int
    channels: tuple[int, ...] = (16, 32)
    hidden_size: int = 128
    dropout: float = 0.25
    batch_norm: bool = True
    residual: bool = False  # a default, so model.json files saved before the option still load


def _conv_norm(width: int, channels: int, kernel: int, batch_norm: bool) -> list[nn.Module]:
    """A convolution that keeps the image size, followed by BatchNorm when asked (then it needs no bias)."""
    conv = nn.Conv2d(width, channels, kernel, padding=kernel // 2, bias=not batch_norm)
    return [conv, nn.BatchNorm2d(channels)] if batch_norm else [conv]


class ResidualBlock(nn.Module):
    """``relu(body(x) + skip(x))`` with body Conv3x3 -> BN -> ReLU -> Conv3x3 -> BN.

    The skip is the identity when the channel count stays, else a 1x1 convolution (+ BN) that
    projects ``in_channels`` to ``out_channels``. Shapes: (B, in_channels, H, W) -> (B, out_channels, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True) -> None:
        super().__init__()
        first = _conv_norm(in_channels, out_channels, 3, batch_norm)
        self.body = nn.Sequential(*first, nn.ReLU(), *_conv_norm(out_channels, out_channels, 3, batch_norm))
        same = in_channels == out_channels
        self.skip = nn.Identity() if same else nn.Sequential(*_conv_norm(in_channels, out_channels, 1, batch_norm))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.skip(x))  # (B, out_channels, H, W)


@register
class CNN(ConfigModule):
    """Convolution blocks that halve the image each, then Linear -> ReLU -> Dropout -> Linear."""

    name = "cnn"
    config_class = CNNConfig

    def __init__(self, config: CNNConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        if not isinstance(c.image_size, (list, tuple)):
            raise TypeError(f"CNN image_size={c.image_size!r} must be (height, width), e.g. (28, 28).")
        c.image_size, c.channels = tuple(c.image_size), tuple(c.channels)
        _check(c)
        blocks: list[nn.Module] = []
        width, (height, breadth) = c.in_channels, c.image_size
        for channels in c.channels:
            if c.residual:
                blocks += [ResidualBlock(width, channels, c.batch_norm)]
            else:  # the plain block; its layer list (and so its state_dict keys) must not change
                blocks += _conv_norm(width, channels, 3, c.batch_norm) + [nn.ReLU()]
            blocks += [nn.MaxPool2d(2)]
            width, height, breadth = channels, height // 2, breadth // 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(width * height * breadth, c.hidden_size),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.hidden_size, c.out_features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], self.config.in_channels, *self.config.image_size)  # (B, C, H, W)
        return self.head(self.features(x))  # (B, out_features)


def _check(c: CNNConfig) -> None:
    if len(c.image_size) != 2 or min(c.image_size) < 2 ** len(c.channels):
        raise ValueError(
            f"CNN image_size={c.image_size} is too small for {len(c.channels)} blocks that each "
            f"halve it; it needs at least {2 ** len(c.channels)} pixels per side."
        )
    channels = {f"channels[{i}]": v for i, v in enumerate(c.channels)}
    check_sizes("CNN", in_channels=c.in_channels, out_features=c.out_features, hidden_size=c.hidden_size, **channels)
    check_dropout("CNN", c.dropout)
    check_flag("residual", c.residual, owner="CNN")
