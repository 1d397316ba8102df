"""Autoencoders: an encoder squeezes each input into a short latent vector, a decoder rebuilds the
input from it, and training minimises the reconstruction error (the target is the input itself).

The latent vector is a learned, non-linear dimensionality reduction (a 2-D one can be plotted), and
the reconstruction error measures how unlike the training data an input is (anomaly detection; see
:mod:`learnable.tasks.anomaly`).

- :class:`Autoencoder`: fully connected; the decoder mirrors the encoder's hidden sizes.
- :class:`ConvAutoencoder`: for images; stride-2 convolutions halve the image down to a latent
  vector, and transposed convolutions double it back up to the exact input size (28x28, 8x8, 7x9...).

Both return the reconstruction in the input's own shape: flat (B, C*H*W) rows give flat rows back,
(B, C, H, W) images give images back.

Example:
    >>> import torch
    >>> model = ConvAutoencoder(in_channels=1, image_size=(28, 28), latent_size=8)
    >>> model.encode(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 8])
    >>> model(torch.zeros(2, 784)).shape
    torch.Size([2, 784])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, register
from learnable.models.mlp import ACTIVATIONS
from learnable.utils.validation import check_choice


@dataclass
class AutoencoderConfig:
    in_features: int
    hidden_sizes: tuple[int, ...] = (256, 64)
    latent_size: int = 2
    activation: str = "relu"
    dropout: float = 0.0


@register
class Autoencoder(ConfigModule):
    """A fully connected autoencoder: in_features -> hidden_sizes -> latent_size -> reversed(hidden_sizes)
    -> in_features, with the activation (and dropout) after every hidden layer.

    The latent layer and the output layer are linear: the codes may take any value, and the output
    can match standardised inputs of either sign.
    """

    name = "autoencoder"
    config_class = AutoencoderConfig

    def __init__(self, config: AutoencoderConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        if not isinstance(c.hidden_sizes, (list, tuple)):
            raise TypeError(
                f"Autoencoder hidden_sizes={c.hidden_sizes!r} must be a list of layer widths, e.g. [256, 64]."
            )
        c.hidden_sizes = tuple(c.hidden_sizes)
        _check_dense(c)
        self.encoder = _dense_stack([c.in_features, *c.hidden_sizes], c.latent_size, c.activation, c.dropout)
        self.decoder = _dense_stack([c.latent_size, *reversed(c.hidden_sizes)], c.in_features, c.activation, c.dropout)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent codes of ``x`` (B, in_features) or any (B, ...) with in_features values per row."""
        return self.encoder(x.flatten(1))  # (B, in_features) -> (B, latent_size)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flat reconstructions (B, in_features) of latent codes ``z`` (B, latent_size)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)  # the input's own shape


def _dense_stack(widths: list[int], out_features: int, activation: str, dropout: float) -> nn.Sequential:
    """Linear -> activation -> [Dropout] through ``widths``, then a plain Linear to ``out_features``."""
    layers: list[nn.Module] = []
    for width, size in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
    layers.append(nn.Linear(widths[-1], out_features))
    return nn.Sequential(*layers)


def _check_dense(c: AutoencoderConfig) -> None:
    hidden = {f"hidden_sizes[{i}]": s for i, s in enumerate(c.hidden_sizes)}
    check_sizes("Autoencoder", in_features=c.in_features, latent_size=c.latent_size, **hidden)
    check_choice("activation", c.activation, tuple(sorted(ACTIVATIONS)), owner="Autoencoder")
    check_dropout("Autoencoder", c.dropout)


@dataclass
class ConvAutoencoderConfig:
    in_channels: int
    image_size: tuple[int, int]
    channels: tuple[int, ...] = (16, 32)
    latent_size: int = 16


@register
class ConvAutoencoder(ConfigModule):
    """A convolutional autoencoder for images.

    Encoder: per entry of ``channels``, Conv3x3 stride 2 -> BatchNorm -> ReLU (each halves the image,
    rounding up), then Flatten -> Linear to ``latent_size``. Decoder: Linear -> the smallest feature
    map, then per block ConvTranspose3x3 stride 2 (its output padding picks the exact size the encoder
    had there) -> BatchNorm -> ReLU, the last one back to ``in_channels`` with no normalisation or
    activation (a linear output, for standardised pixels).
    """

    name = "conv_autoencoder"
    config_class = ConvAutoencoderConfig

    def __init__(self, config: ConvAutoencoderConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        for field, example in (("image_size", "(28, 28)"), ("channels", "(16, 32)")):
            if not isinstance(getattr(c, field), (list, tuple)):
                value = getattr(c, field)
                raise TypeError(f"ConvAutoencoder {field}={value!r} must be a list or tuple, e.g. {example}.")
        c.image_size, c.channels = tuple(c.image_size), tuple(c.channels)
        _check_conv(c)
        self.sizes = _feature_map_sizes(c.image_size, len(c.channels))  # [(H, W), (H/2, W/2), ...], rounded up
        widths = [c.in_channels, *c.channels]
        down: list[nn.Module] = []
        for width, channels in zip(widths, widths[1:], strict=False):
            down += [nn.Conv2d(width, channels, 3, stride=2, padding=1, bias=False)]  # halves H and W
            down += [nn.BatchNorm2d(channels), nn.ReLU()]
        height, breadth = self.sizes[-1]
        flat = c.channels[-1] * height * breadth
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(flat, c.latent_size))
        self.project = nn.Linear(c.latent_size, flat)
        self.decoder = nn.Sequential(*self._up_blocks(widths))

    def _up_blocks(self, widths: list[int]) -> list[nn.Module]:
        """Transposed convolutions from the smallest feature map back to the image, each doubling it."""
        blocks: list[nn.Module] = []
        for i in range(len(widths) - 1, 0, -1):
            (small_h, small_w), (big_h, big_w) = self.sizes[i], self.sizes[i - 1]
            # A 3x3, stride-2, padding-1 transposed conv gives 2 * n - 1 pixels, + output_padding (0 or 1).
            padding = (big_h - (2 * small_h - 1), big_w - (2 * small_w - 1))
            blocks.append(nn.ConvTranspose2d(widths[i], widths[i - 1], 3, stride=2, padding=1,
                                             output_padding=padding, bias=i == 1))
            if i > 1:
                blocks += [nn.BatchNorm2d(widths[i - 1]), nn.ReLU()]
        return blocks

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent codes (B, latent_size) of images (B, C, H, W) or flat rows (B, C*H*W)."""
        c = self.config
        x = x.reshape(x.shape[0], c.in_channels, *c.image_size)  # (B, C, H, W)
        return self.encoder(x)  # (B, latent_size)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) rebuilt from latent codes ``z`` (B, latent_size)."""
        height, breadth = self.sizes[-1]
        x = self.project(z).reshape(len(z), self.config.channels[-1], height, breadth)  # (B, C_last, h, w)
        return self.decoder(x)  # (B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)  # the input's own shape


def _feature_map_sizes(image_size: tuple[int, int], blocks: int) -> list[tuple[int, int]]:
    """The (H, W) before each stride-2 block and after the last: each block gives ceil(n / 2)."""
    sizes = [image_size]
    for _ in range(blocks):
        sizes.append(tuple((n + 1) // 2 for n in sizes[-1]))
    return sizes


def _check_conv(c: ConvAutoencoderConfig) -> None:
    if len(c.image_size) != 2:
        raise ValueError(f"ConvAutoencoder image_size={c.image_size} must be (height, width), e.g. (28, 28).")
    if not c.channels:
        raise ValueError("ConvAutoencoder channels=() is empty; give at least one block, e.g. (16, 32).")
    channels = {f"channels[{i}]": v for i, v in enumerate(c.channels)}
    sides = {"image_size[0]": c.image_size[0], "image_size[1]": c.image_size[1]}
    check_sizes("ConvAutoencoder", in_channels=c.in_channels, latent_size=c.latent_size, **sides, **channels)
    smallest = 2 ** len(c.channels)
    if min(c.image_size) < smallest:
        raise ValueError(
            f"ConvAutoencoder image_size={c.image_size} is too small for {len(c.channels)} blocks that each "
            f"halve it; it needs at least {smallest} pixels per side. Use fewer channels entries."
        )
