"""Watch the network learn: per-layer statistics sampled every few steps, without host syncs.

Every ``every`` steps the callback hooks the activation layers for one forward pass and reads the
gradients and the update of every parameter tensor. Everything is accumulated in device tensors and
read once per epoch into ``learner.metrics["stats"]`` (so History and the run store keep it):

- activations, per layer: mean and standard deviation; for ReLU-like layers the fraction of dead
  units (never positive on any sampled batch of the epoch); for tanh and sigmoid the fraction of
  saturated outputs; a histogram of the values (``BINS`` bins between ``low`` and ``high``, the
  range of the epoch's first sample widened by 5%; values outside land in the end bins);
- parameters, per tensor: the norm, the gradient norm, and the update-to-parameter ratio
  ``||w_after - w_before|| / ||w_before||`` of the optimizer step.

The :class:`Learner` installs it by default (``statistics="auto"``: about four samples per epoch, at
most one every 50 steps); its cost is measured in ``benchmarks/learner_vs_loop.py``.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from learnable import Learner
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> X, y = torch.randn(256, 4), torch.randint(0, 2, (256,))
    >>> learner = Learner(model, (X, y), progress=False, statistics=2).fit(1)
    >>> sorted(learner.history[-1]["stats"]["activations"])
    ['1']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from learnable.train.events import Callback

if TYPE_CHECKING:
    from learnable.train.learner import Learner

RECTIFIERS = (nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.ELU, nn.GELU, nn.SiLU)
SQUASHERS = (nn.Tanh, nn.Sigmoid)
SATURATED = 0.97  # |tanh| above this, or sigmoid within 0.03 of 0 or 1
BINS = 40
MAX_HISTOGRAM_VALUES = 65536  # a strided subsample of a large activation is histogrammed


def auto_interval(steps_per_epoch: int | None) -> int:
    """About four samples per epoch, at most one every 50 steps (every step for tiny epochs)."""
    if not steps_per_epoch:
        return 50
    return max(1, min(50, steps_per_epoch // 4))


class Statistics(Callback):
    """Sample activation, parameter, gradient and update statistics every ``every`` steps.

    ``every="auto"`` picks :func:`auto_interval` from the number of batches per epoch.
    """

    order = -110  # before History copies the epoch's metrics

    def __init__(self, every: int | str = "auto") -> None:
        if every != "auto" and (not isinstance(every, int) or isinstance(every, bool) or every < 1):
            raise ValueError(f"Statistics every={every!r} must be 'auto' or a whole number of steps >= 1.")
        self.every = every
        self.hooks: list[Any] = []
        self.samples = 0

    def before_fit(self, learner: Learner) -> None:
        if self.every == "auto":
            self.every = auto_interval(_batches_per_epoch(learner.train_loader))
        self.layers = {name: m for name, m in learner.model.named_modules() if isinstance(m, RECTIFIERS + SQUASHERS)}
        self.names = [name for name, p in learner.model.named_parameters() if p.requires_grad]
        self.params = [p for p in learner.model.parameters() if p.requires_grad]
        self.device = learner.device
        self.before: list[torch.Tensor] | None = None
        if self.samples == 0:
            self._reset()
        else:  # resumed mid-epoch: keep the accumulators loaded from the checkpoint
            move = lambda d: {k: v.to(self.device) for k, v in d.items()}  # noqa: E731
            self.activation, self.alive = move(self.activation), move(self.alive)
            self.histogram, self.bounds = move(self.histogram), move(self.bounds)
            self.parameter = self.parameter.to(self.device)

    def _reset(self) -> None:
        zeros = lambda *n: torch.zeros(*n, dtype=torch.float64, device=self.device)  # noqa: E731
        self.samples = 0
        self.activation = {name: zeros(3) for name in self.layers}  # sums of mean, std, saturation
        self.alive: dict[str, torch.Tensor] = {}
        self.histogram = {name: zeros(BINS) for name in self.layers}
        self.bounds: dict[str, torch.Tensor] = {}  # (low, high) per layer, set by the epoch's first sample
        self.parameter = zeros(len(self.params), 3)  # sums of norm, gradient norm, update ratio

    # ---- sampling -------------------------------------------------------------------------------
    def before_batch(self, learner: Learner) -> None:
        if learner.step % self.every == 0:
            self.hooks = [m.register_forward_hook(self._hook(name)) for name, m in self.layers.items()]

    def _hook(self, name: str):
        def record(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            out = output.detach()
            units = out.transpose(0, 1).flatten(1) if out.ndim > 2 else out.T  # (units, samples)
            if isinstance(module, SQUASHERS):
                edge = out.abs() > SATURATED if isinstance(module, nn.Tanh) else (out - 0.5).abs() > SATURATED - 0.5
                saturation = edge.double().mean()
            else:
                positive = (units > 0).any(dim=1)
                self.alive[name] = positive if name not in self.alive else self.alive[name] | positive
                saturation = torch.zeros((), dtype=torch.float64, device=out.device)
            self.activation[name] += torch.stack([out.double().mean(), out.double().std(), saturation])
            self._count(name, out)

        return record

    def _count(self, name: str, out: torch.Tensor) -> None:
        """Add the activation values to the layer's histogram, on the device."""
        flat = out.flatten()
        flat = flat[:: max(1, flat.numel() // MAX_HISTOGRAM_VALUES)].double()  # (<= ~65536,)
        if name not in self.bounds:
            low, high = flat.min(), flat.max()
            pad = (high - low) * 0.05 + 1e-6
            self.bounds[name] = torch.stack([low - pad, high + pad])
        low, high = self.bounds[name]
        index = ((flat - low) / (high - low) * BINS).long().clamp_(0, BINS - 1)
        self.histogram[name].index_add_(0, index, torch.ones_like(flat))

    def after_backward(self, learner: Learner) -> None:
        if not self.hooks:
            return
        for hook in self.hooks:
            hook.remove()
        self.hooks = []
        params = [p.detach() for p in self.params]  # no autograd graph through the statistics
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.norms = torch.stack(torch._foreach_norm(params)).double()
        self.grad_norms = torch.stack(torch._foreach_norm(grads)).double()
        self.before = [p.clone() for p in params]

    def after_step(self, learner: Learner) -> None:
        if self.before is None:
            return
        updates = torch.stack(torch._foreach_norm(torch._foreach_sub([p.detach() for p in self.params], self.before)))
        ratio = updates.double() / self.norms.clamp(min=1e-12)
        self.parameter += torch.stack([self.norms, self.grad_norms, ratio], dim=1)
        self.samples += 1
        self.before = None

    # ---- reading, once per epoch ----------------------------------------------------------------
    def after_epoch(self, learner: Learner) -> None:
        learner.metrics.setdefault("lr", learner.optimizer.param_groups[0]["lr"])  # for the curves
        if self.samples == 0:
            return
        n = self.samples
        activations = {}
        for name, sums in self.activation.items():
            mean, std, saturation = (sums / n).tolist()
            entry: dict[str, Any] = {"mean": mean, "std": std}
            if name in self.alive:
                entry["dead"] = 1.0 - self.alive[name].double().mean().item()
            else:
                entry["saturated"] = saturation
            if name in self.bounds:
                low, high = self.bounds[name].tolist()
                entry["histogram"] = {"low": low, "high": high, "counts": self.histogram[name].tolist()}
            activations[name] = entry
        rows = (self.parameter / n).tolist()
        parameters = {name: {"norm": r[0], "grad_norm": r[1], "update_ratio": r[2]} for name, r in zip(
            self.names, rows, strict=True)}
        learner.metrics["stats"] = {"samples": n, "every": self.every, "activations": activations,
                                    "parameters": parameters}
        self._reset()

    def after_fit(self, learner: Learner) -> None:
        for hook in self.hooks:
            hook.remove()
        self.hooks = []

    # ---- checkpoints: a run resumed mid-epoch keeps the epoch's samples ------------------------------
    def state_dict(self) -> dict:
        if self.samples == 0:
            return {"every": self.every, "samples": 0}
        return {"every": self.every, "samples": self.samples, "activation": self.activation, "alive": self.alive,
                "histogram": self.histogram, "bounds": self.bounds, "parameter": self.parameter}

    def load_state_dict(self, state: dict) -> None:
        """Restore the accumulators (moved to the device by :meth:`before_fit`, which runs next)."""
        self.every, self.samples = state["every"], state["samples"]
        if self.samples:
            self.activation, self.alive = dict(state["activation"]), dict(state["alive"])
            self.histogram, self.bounds = dict(state["histogram"]), dict(state["bounds"])
            self.parameter = state["parameter"]


def _batches_per_epoch(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:  # a generator or an iterable without a length
        return None
