"""Data augmentation on the device: random shifts, rotations, zooms, shears, flips, crops and cutout
for training batches, and test-time augmentation (TTA) for predictions.

A model that sees every digit slightly moved, turned and resized learns what stays the same (the
digit) rather than where its pixels happen to be, so it generalizes better from few images.
:class:`Augment` is a callback: in ``before_batch`` it replaces ``learner.xb`` with a randomly
changed copy, made on the batch's own device; validation and predictions never see it (the Learner
fires ``before_batch`` for training batches only). All the geometry of a batch is one affine map per
image, applied with one ``F.affine_grid`` + ``F.grid_sample`` call. The randomness comes from its
own seeded ``torch.Generator``, kept in checkpoints, so a resumed run augments exactly as an
unbroken one.

Example:
    >>> import torch
    >>> augment = Augment(translate=0.1, rotate=10, seed=0)
    >>> augment.transform(torch.rand(4, 1, 28, 28), torch.Generator().manual_seed(0)).shape
    torch.Size([4, 1, 28, 28])
    >>> # Learner(CNN(...), (X, y), callbacks=[Augment()]).fit(8)
    >>> # probabilities = tta_predict(learner.model, X_test, Augment(), num_views=8)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from learnable.callbacks.events import ORDER, Callback
from learnable.utils.validation import check_choice, check_count, check_number, check_seed, is_whole

if TYPE_CHECKING:
    from learnable.train.learner import Learner

PADDINGS = ("border", "zeros", "reflection")  # F.grid_sample's padding modes
ASPECT = (3 / 4, 4 / 3)  # the crop's aspect-ratio range, as torchvision's RandomResizedCrop
RANDOM_COLUMNS = 13  # uniform numbers drawn per image: always all of them, so the stream never shifts


@dataclass
class AugmentConfig:
    """Random changes for training images; a setting of 0 turns its change off.

    The defaults suit handwritten digits: small shifts, turns and zooms, never a flip (a flipped
    2 is no 2).
    """

    translate: float = 0.1  # shift by up to this fraction of the width (x) and the height (y)
    rotate: float = 10.0  # turn by up to this many degrees, either way
    scale: float = 0.1  # zoom by a factor in [1 - scale, 1 + scale]
    shear: float = 0.0  # shear by up to this many degrees, either way
    flip: float = 0.0  # probability of a left-right flip (for photos, e.g. 0.5; never for digits)
    crop: float = 0.0  # random resized crop: keep a box of [1 - crop, 1] of the area, aspect 3/4 to 4/3
    cutout: float = 0.0  # side of a square set to 0, as a fraction of the shorter side
    cutout_probability: float = 0.5  # chance that an image gets its cutout square
    padding: str = "border"  # what fills pixels moved in from outside: "border", "zeros" or "reflection"

    def check(self) -> None:
        """Raise a clear ValueError for a setting out of its range."""
        ranges = {"translate": (0, 1, "0.1"), "rotate": (0, 180, "10"), "scale": (0, 1, "0.1"),
                  "shear": (0, 90, "10"), "flip": (0, 1, "0.5"), "crop": (0, 1, "0.2"), "cutout": (0, 1, "0.25"),
                  "cutout_probability": (0, 1, "0.5")}
        for name, (low, high, example) in ranges.items():
            closed = name in ("flip", "cutout", "cutout_probability", "rotate")
            check_number(name, getattr(self, name), low, high, example, high_open=not closed, owner="Augment")
        check_choice("padding", self.padding, tuple(PADDINGS), owner="Augment")

    @property
    def moves_pixels(self) -> bool:
        """Whether any geometric change is on (else the affine warp is skipped: the batch stays exact)."""
        return any((self.translate, self.rotate, self.scale, self.shear, self.flip, self.crop))


# ---- the transformation ------------------------------------------------------------------------------
def _spread(u: torch.Tensor, amount: float | torch.Tensor) -> torch.Tensor:
    """Uniform numbers in [0, 1) spread to [-amount, amount)."""
    return (2 * u - 1) * amount


def _matrix(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Per-image 2x2 matrices [[a, b], [c, d]] from (B,) entries, (B, 2, 2)."""
    return torch.stack([torch.stack([a, b], -1), torch.stack([c, d], -1)], -2)


def _crop_box(u: torch.Tensor, c: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The crop box's width and height as fractions of the image's, (B,) each (all 1 without crop)."""
    area = 1 - c.crop * u[:, 6]
    if not c.crop:  # no aspect change either: the box is the whole image
        return torch.ones_like(area), torch.ones_like(area)
    aspect = torch.exp(math.log(ASPECT[0]) + u[:, 7] * math.log(ASPECT[1] / ASPECT[0]))  # log-uniform
    return (area * aspect).sqrt().clamp(max=1), (area / aspect).sqrt().clamp(max=1)


def _matrices(u: torch.Tensor, c: AugmentConfig, height: int, width: int) -> torch.Tensor:
    """Each image's affine map in ``F.affine_grid``'s normalized coordinates, (B, 2, 3), from ``u`` (B, 13).

    Built in pixel units centred on the image (so turns keep their angle on non-square images): an
    output pixel at ``p`` samples the input at ``K (R Sh Z Fl p + t) + k``, where Fl flips, Z zooms,
    Sh shears, R rotates, t translates, and K, k place the crop box.
    """
    ones, zeros = torch.ones_like(u[:, 0]), torch.zeros_like(u[:, 0])
    flip = torch.where(u[:, 5] < c.flip, -ones, ones)
    zoom = 1 / (1 + _spread(u[:, 3], c.scale))  # sampling at 1/s shows the image s times larger
    shear = torch.tan(torch.deg2rad(_spread(u[:, 4], c.shear)))
    angle = torch.deg2rad(_spread(u[:, 2], c.rotate))
    cos, sin = torch.cos(angle), torch.sin(angle)
    box_w, box_h = _crop_box(u, c)
    linear = _matrix(box_w, zeros, zeros, box_h) @ _matrix(cos, -sin, sin, cos) @ _matrix(ones, shear, zeros, ones)
    linear = linear @ _matrix(zoom * flip, zeros, zeros, zoom)  # (B, 2, 2), pixel units
    shift = torch.stack([_spread(u[:, 0], c.translate) * width, _spread(u[:, 1], c.translate) * height], -1)
    box = torch.stack([_spread(u[:, 8], (1 - box_w) * width / 2), _spread(u[:, 9], (1 - box_h) * height / 2)], -1)
    offset = torch.stack([box_w, box_h], -1) * shift + box  # (B, 2), pixel units
    half = u.new_tensor([width / 2, height / 2])  # pixel units per normalized unit
    linear = linear * half[None, None, :] / half[None, :, None]  # diag(1/half) @ linear @ diag(half)
    return torch.cat([linear, (offset / half)[:, :, None]], dim=2)  # (B, 2, 3)


def _cutout(x: torch.Tensor, u: torch.Tensor, c: AugmentConfig) -> torch.Tensor:
    """Set one square per chosen image to 0; the square may hang over the edge (DeVries & Taylor, 2017)."""
    height, width = x.shape[-2:]
    half_side = c.cutout * min(height, width) / 2
    rows = torch.arange(height, device=x.device, dtype=x.dtype) + 0.5  # pixel centres
    cols = torch.arange(width, device=x.device, dtype=x.dtype) + 0.5
    inside_rows = (rows[None, :] - u[:, 12:13] * height).abs() < half_side  # (B, H)
    inside_cols = (cols[None, :] - u[:, 11:12] * width).abs() < half_side  # (B, W)
    square = inside_rows[:, :, None] & inside_cols[:, None, :] & (u[:, 10] < c.cutout_probability)[:, None, None]
    return x.masked_fill(square[:, None], 0.0)  # (B, C, H, W)


class Augment(Callback):
    """Randomly change every training batch on its device, the same way for the same seed.

    Args:
        config: an :class:`AugmentConfig`, or leave it out and pass its settings as keywords
            (``translate``, ``rotate``, ``scale``, ``shear``, ``flip``, ``crop``, ``cutout``,
            ``cutout_probability``, ``padding``).
        image_shape: ``(C, H, W)`` of flat batches (B, C*H*W); by default the model's
            ``config.in_channels`` and ``config.image_size`` (as a learnable CNN has). Batches
            shaped (B, C, H, W) or (B, H, W) need nothing.
        seed: seeds the augmentation's generator; by default the Learner's seed.

    The batch keeps its shape and dtype (integer pixels are rounded back). Cutout fills with 0,
    the dataset mean for standardized inputs (as ``learnable.fit`` gives) and black for raw pixels.

    Example:
        >>> augment = Augment(rotate=15, flip=0.5, crop=0.2)
        >>> augment.config.rotate
        15
    """

    order = ORDER["Augment"]

    def __init__(self, config: AugmentConfig | None = None, *, image_shape: tuple[int, int, int] | None = None,
                 seed: int | None = None, **settings: Any) -> None:
        self.config = _config(config, settings)
        self.image_shape = _check_image_shape(image_shape)
        check_seed("seed", seed, allow_none=True, example="0 (None: the Learner's seed)", owner="Augment")
        self.seed = seed
        self.generator: torch.Generator | None = None
        self._model_shape: tuple[int, int, int] | None = None
        self._learner_seed = 0
        self._resumed: dict | None = None

    # ---- the callback ----------------------------------------------------------------------------
    def before_fit(self, learner: Learner) -> None:
        self._model_shape = model_image_shape(learner.model)
        self._learner_seed = learner.seed

    def before_batch(self, learner: Learner) -> None:
        learner.xb = self.transform(learner.xb, self._generator(learner.xb.device))

    def state_dict(self) -> dict:
        if self.generator is None:  # no batch augmented yet: the restored state (if any) is still the next one
            return dict(self._resumed) if self._resumed else {}
        return {"generator": self.generator.get_state(), "device": self.generator.device.type}

    def load_state_dict(self, state: dict) -> None:
        self._resumed = state or None
        self.generator = None  # rebuilt from the saved state at the next batch

    def _generator(self, device: torch.device) -> torch.Generator:
        if self.generator is not None and self.generator.device == device:
            return self.generator
        self.generator = torch.Generator(device=device)
        if self._resumed is None:
            self.generator.manual_seed(self._learner_seed if self.seed is None else self.seed)
            return self.generator
        if self._resumed["device"] != device.type:
            raise ValueError(
                f"the checkpoint's augmentation generator ran on {self._resumed['device']}, but this run is on "
                f"{device.type}; resume on the same kind of device to augment exactly as before."
            )
        self.generator.set_state(self._resumed["generator"])
        self._resumed = None
        return self.generator

    # ---- the transformation --------------------------------------------------------------------------
    def transform(self, x: torch.Tensor, generator: torch.Generator | None = None,
                  image_shape: tuple[int, int, int] | None = None) -> torch.Tensor:
        """A randomly changed copy of the batch ``x``, same shape and dtype (``x`` itself when every
        change is off).

        Args:
            x: images (B, C, H, W), (B, H, W), or flat (B, C*H*W) with ``image_shape`` known
                (given here, to Augment, or from the model seen in ``before_fit``).
            generator: the random source, on ``x``'s device (torch's default one when None).
            image_shape: ``(C, H, W)`` for a flat batch.
        """
        images = self._as_images(x, image_shape)  # (B, C, H, W)
        c = self.config
        if not (c.moves_pixels or (c.cutout and c.cutout_probability)) or len(x) == 0:
            return x
        out = images if images.dtype in (torch.float32, torch.float64) else images.float()  # ints, half: float32
        u = torch.rand(len(x), RANDOM_COLUMNS, generator=generator, device=x.device)  # (B, 13) in [0, 1)
        if c.moves_pixels:
            theta = _matrices(u, c, *out.shape[-2:]).to(out.dtype)  # (B, 2, 3)
            grid = F.affine_grid(theta, list(out.shape), align_corners=False)  # (B, H, W, 2)
            out = F.grid_sample(out, grid, mode="bilinear", padding_mode=c.padding, align_corners=False)
        if c.cutout and c.cutout_probability:
            out = _cutout(out, u.to(out.dtype), c)
        if not x.is_floating_point():
            out = out.round()
        return out.to(x.dtype).reshape(x.shape)

    def _as_images(self, x: torch.Tensor, image_shape: tuple[int, int, int] | None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Augment works on tensors; got {type(x).__name__}.")
        if x.dim() == 4:
            return x
        if x.dim() == 3:
            return x[:, None]  # (B, 1, H, W)
        shape = _check_image_shape(image_shape) or self.image_shape or self._model_shape
        if x.dim() != 2 or shape is None:
            raise ValueError(
                f"Augment needs images: the batch has shape {tuple(x.shape)}; pass images shaped (N, C, H, W) "
                "or, for flat rows, Augment(image_shape=(C, H, W)) (a learnable CNN tells it on its own)."
            )
        if math.prod(shape) != x.shape[1]:
            raise ValueError(
                f"Augment image_shape={shape} holds {math.prod(shape)} pixels, but each row of the batch "
                f"has {x.shape[1]}; pass the image_shape the rows were flattened from."
            )
        return x.reshape(len(x), *shape)


def _config(config: Any, settings: dict[str, Any]) -> AugmentConfig:
    if config is not None and settings:
        raise TypeError("Augment: pass an AugmentConfig or keyword settings, not both.")
    if config is None:
        try:
            config = AugmentConfig(**settings)
        except TypeError:
            known = [f.name for f in dataclasses.fields(AugmentConfig)]
            unknown = sorted(set(settings) - set(known))
            raise TypeError(f"Augment has no setting(s) {unknown}; its settings are {known}.") from None
    if not isinstance(config, AugmentConfig):
        raise TypeError(f"Augment takes an AugmentConfig, got {type(config).__name__}.")
    config.check()
    return config


def _check_image_shape(shape: Any) -> tuple[int, int, int] | None:
    if shape is None:
        return None
    if (not isinstance(shape, (tuple, list)) or len(shape) != 3
            or not all(is_whole(s) and s > 0 for s in shape)):
        raise ValueError(f"image_shape={shape!r} must be (channels, height, width), e.g. (1, 28, 28).")
    return tuple(int(s) for s in shape)


def model_image_shape(model: nn.Module) -> tuple[int, int, int] | None:
    """``(C, H, W)`` from a model's ``config.in_channels`` and ``config.image_size``, or None."""
    config = getattr(model, "config", None)
    channels, size = getattr(config, "in_channels", None), getattr(config, "image_size", None)
    if channels is None or size is None:
        return None
    return _check_image_shape((channels, *size))


# ---- test-time augmentation ------------------------------------------------------------------------
def tta_predict(model: Any, X: Any, augment: Augment | None = None, *, num_views: int = 8, seed: int = 0,
                batch_size: int = 1024) -> torch.Tensor:
    """Class probabilities averaged over the plain images and ``num_views`` randomly augmented copies.

    A prediction that holds when the image moves a little is more trustworthy; averaging over a few
    views usually gains a little accuracy at ``1 + num_views`` times the cost of a prediction.

    Args:
        model: a classifier ``nn.Module`` giving logits (B, K), or a fitted model from
            ``learnable.fit`` (its schema encodes ``X`` first).
        X: images (N, C, H, W) or (N, H, W), or flat rows (N, C*H*W) for a model with a
            ``config.image_size`` (a learnable CNN); arrays or tensors.
        augment: the :class:`Augment` whose settings make the views (default: ``Augment()``).
        num_views: augmented views per image; 0 gives the plain prediction.
        seed: seeds the views, so the same call gives the same probabilities.
        batch_size: images per forward pass (times ``1 + num_views``).

    Returns:
        A float32 CPU tensor: for K > 1 logits the mean softmax, (N, K), each row summing to 1;
        for one logit (a binary model) the mean sigmoid, (N, 1), the probability of the positive class.

    Example:
        >>> from learnable.models import CNN
        >>> model = CNN(in_channels=1, image_size=(8, 8), out_features=3, channels=(4,))
        >>> tta_predict(model, torch.rand(5, 64), num_views=2).shape
        torch.Size([5, 3])
    """
    augment = Augment() if augment is None else augment
    if not isinstance(augment, Augment):
        raise TypeError(f"augment must be an Augment, got {type(augment).__name__}; e.g. Augment(rotate=10).")
    check_count("num_views", num_views, 8, least=0)
    if hasattr(model, "schema_") and hasattr(model, "network_"):  # a FittedModel: encode raw rows first
        X, model = torch.from_numpy(model.schema_.transform(X)), model.network_
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module or a fitted model, got {type(model).__name__}.")
    device = next(model.parameters(), torch.empty(0)).device
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
    X = X if X.dtype == torch.float32 else X.float()  # pixels as the model takes them
    shape = augment.image_shape or model_image_shape(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return torch.cat([_mean_probabilities(model, chunk.to(device), augment, num_views, generator, shape)
                              for chunk in X.split(batch_size)])
    finally:
        model.train(was_training)


def _mean_probabilities(model: nn.Module, x: torch.Tensor, augment: Augment, num_views: int,
                        generator: torch.Generator, shape: tuple[int, int, int] | None) -> torch.Tensor:
    """Mean probabilities of one chunk (B, ...) over the plain view and ``num_views`` augmented ones."""
    views = x.repeat(num_views, *[1] * (x.dim() - 1))  # (V*B, ...): all views in one warp and one forward
    inputs = torch.cat([x, augment.transform(views, generator, shape)]) if num_views else x
    logits = model(inputs).float()  # ((1+V)*B, K)
    if logits.dim() != 2:
        raise ValueError(f"tta_predict needs a classifier's logits (B, K); the model gave {tuple(logits.shape)}.")
    probabilities = torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)
    return probabilities.reshape(1 + num_views, len(x), -1).mean(0).cpu()  # (B, K)
