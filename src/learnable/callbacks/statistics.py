"""Watch the network learn: per-layer statistics sampled every few steps, without host syncs.

Every ``every`` steps the callback hooks the activation layers for one forward pass and reads the
gradients and the update of every parameter tensor. Everything is accumulated in device tensors and
read once per epoch into ``learner.metrics["stats"]`` (so History and the run store keep it):

- activations, per layer: mean and standard deviation; for ReLU-like layers the fraction of dead
  units (never positive on any sampled batch of the epoch); for tanh, sigmoid and recurrent layers
  (RNN, LSTM, GRU: the hidden states they output) the fraction of saturated outputs; a histogram
  of the values (``BINS`` bins between ``low`` and ``high``, the range of the epoch's first sample
  widened by 5%; values outside land in the end bins);
- parameters, per tensor: the norm, the gradient norm, and the update-to-parameter ratio
  ``||w_after - w_before|| / ||w_before||`` of the optimizer step.

The :class:`Learner` installs it by default (``statistics="auto"``: about two samples per epoch, and at
least one every 100 steps); its cost is measured in ``benchmarks/learner_vs_loop.py``.

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

import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from learnable.callbacks.events import ORDER, Callback
from learnable.utils.validation import check_count

if TYPE_CHECKING:
    from learnable.train.learner import Learner

RECTIFIERS = (nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.ELU, nn.GELU, nn.SiLU)
DEAD = (nn.ReLU, nn.ReLU6)  # zero output and zero gradient below 0: a unit can die (LeakyReLU, GELU... cannot)
SQUASHERS = (nn.Tanh, nn.Sigmoid)
# RNN, LSTM and GRU layers: their outputs are tanh-bounded hidden states, which saturate like a tanh
RECURRENT = (nn.RNNBase,)
WATCHED = RECTIFIERS + SQUASHERS + RECURRENT  # the layers whose outputs are measured
SATURATED = 0.97  # |tanh| above this, or sigmoid within 0.03 of 0 or 1
BINS = 40
MAX_HISTOGRAM_VALUES = 65536  # a strided subsample of a large activation is histogrammed


def auto_interval(steps_per_epoch: int | None) -> int:
    """About two samples per epoch, and at least one every 100 steps in long epochs (every step in tiny ones)."""
    if not steps_per_epoch:
        return 100
    return max(1, min(100, steps_per_epoch // 2))


class Statistics(Callback):
    """Sample activation, parameter, gradient and update statistics every ``every`` steps.

    ``every="auto"`` picks :func:`auto_interval` from the number of batches per epoch.
    """

    order = ORDER["Statistics"]

    def __init__(self, every: int | str = "auto") -> None:
        if every != "auto":
            check_count("every", every, "50 steps, or 'auto'", owner="Statistics")
        self.every = every
        self.hooks: list[Any] = []
        self.samples = 0
        self.sampling = False  # whether the step under way is sampled (read by the Learner, too)

    def before_fit(self, learner: Learner) -> None:
        if self.every == "auto":
            self.every = auto_interval(_batches_per_epoch(learner.train_loader))
        self.layers = {name: m for name, m in learner.model.named_modules() if isinstance(m, WATCHED)}
        self.names = [name for name, p in learner.model.named_parameters() if p.requires_grad]
        self.params = [p for p in learner.model.parameters() if p.requires_grad]
        self.device = learner.device
        self.sampling, self.before = False, None
        self.zero = torch.zeros((), device=self.device)
        self.broken: set[str] = set()  # layers whose outputs cannot be measured (they are skipped, with a warning)
        if self.samples == 0:
            self._reset()
        else:  # resumed mid-epoch: keep the accumulators loaded from the checkpoint
            move = lambda d: {k: v.to(self.device) for k, v in d.items()}  # noqa: E731
            self.activation, self.alive = move(self.activation), move(self.alive)
            self.histogram, self.bounds = move(self.histogram), move(self.bounds)
            self.parameter, self.ratio_counts = self.parameter.to(self.device), self.ratio_counts.to(self.device)

    def _reset(self) -> None:
        self.samples = 0
        self.activation: dict[str, torch.Tensor] = {}  # per layer call: sums of mean, std, saturation, non-finite
        self.alive: dict[str, torch.Tensor] = {}  # per ReLU layer call: units positive on some sampled row
        self.histogram: dict[str, torch.Tensor] = {}
        self.bounds: dict[str, torch.Tensor] = {}  # (low, high) per layer call, set by the epoch's first sample
        self.parameter = self._zeros(len(self.params), 3)  # sums of norm, gradient norm, update ratio
        self.grad_counts = [0] * len(self.params)  # samples in which each parameter had a gradient (known on the host)
        self.ratio_counts = self._zeros(len(self.params))  # samples with a ratio (a weight that was not all zeros)

    def _zeros(self, *shape: int) -> torch.Tensor:
        return torch.zeros(shape, dtype=torch.float64, device=self.device)

    # ---- sampling -------------------------------------------------------------------------------
    def before_batch(self, learner: Learner) -> None:
        self.sampling = learner.step % self.every == 0
        if self.sampling:
            self.calls: dict[str, int] = {}
            self.hooks = [m.register_forward_hook(self._hook(name)) for name, m in self.layers.items()
                          if name not in self.broken]

    def _hook(self, name: str):
        def record(module: nn.Module, inputs: Any, output: Any) -> None:
            calls = self.calls[name] = self.calls.get(name, 0) + 1
            key = name if calls == 1 else f"{name}#{calls}"  # a module used twice is measured per call
            if isinstance(output, (tuple, list)) and output:  # an RNN's (outputs, state): the outputs
                output = output[0]
            try:
                self._measure(key, module, output.detach())
            except (RuntimeError, IndexError, TypeError, AttributeError) as error:  # never let watching stop training
                self.broken.add(name)
                warnings.warn(f"Statistics: layer '{name}' cannot be measured ({error}); it is skipped.",
                              RuntimeWarning, stacklevel=2)

        return record

    def _measure(self, key: str, module: nn.Module, out: torch.Tensor) -> None:
        flat = out.flatten()
        flat = flat[:: max(1, flat.numel() // MAX_HISTOGRAM_VALUES)].float()  # a strided sample, <= ~65536 values
        finite = flat.isfinite()
        saturation = self.zero
        if isinstance(module, SQUASHERS + RECURRENT):
            sigmoid = isinstance(module, nn.Sigmoid)  # (0, 1) around 0.5; tanh and hidden states: (-1, 1)
            edge = (flat - 0.5).abs() > SATURATED - 0.5 if sigmoid else flat.abs() > SATURATED
            saturation = edge.float().mean()
        elif isinstance(module, DEAD):
            positive = (_units(out) > 0).any(dim=1)  # (units,)
            self.alive[key] = self.alive[key] | positive if key in self.alive else positive
        std, mean = torch.std_mean(flat) if flat.numel() > 1 else (self.zero, flat.sum())
        row = torch.stack([mean, std, saturation, 1.0 - finite.float().mean()]).double()
        self.activation[key] = self.activation[key] + row if key in self.activation else row
        self._count(key, flat, finite)

    def _count(self, key: str, flat: torch.Tensor, finite: torch.Tensor) -> None:
        """Add the finite values to the layer's histogram, on the device (no host sync)."""
        if key not in self.bounds:
            inf = torch.tensor(float("inf"), dtype=flat.dtype, device=flat.device)
            low, high = torch.where(finite, flat, inf).min(), torch.where(finite, flat, -inf).max()
            low, high = torch.where(low <= high, low, 0.0), torch.where(low <= high, high, 1.0)  # none finite
            pad = (high - low) * 0.05 + 1e-6
            self.bounds[key] = torch.stack([low - pad, high + pad])
            self.histogram[key] = self._zeros(BINS)
        low, high = self.bounds[key]
        index = ((torch.where(finite, flat, low) - low) / (high - low) * BINS).long().clamp_(0, BINS - 1)
        self.histogram[key].index_add_(0, index, finite.double())

    def after_backward(self, learner: Learner) -> None:
        if not self.sampling:
            return
        for hook in self.hooks:
            hook.remove()
        self.hooks = []
        params = [p.detach() for p in self.params]  # no autograd graph through the statistics
        self.grad_counts = [n + (p.grad is not None) for n, p in zip(self.grad_counts, self.params, strict=True)]
        grads = [_dense_grad(p) for p in self.params]
        self.norms = torch.stack(torch._foreach_norm(params)).double()
        self.grad_norms = torch.stack(torch._foreach_norm(grads)).double()
        self.before = [p.clone() for p in params]

    def after_step(self, learner: Learner) -> None:
        if self.before is None:
            return
        updates = torch.stack(torch._foreach_norm(torch._foreach_sub([p.detach() for p in self.params], self.before)))
        has_ratio = (self.norms > 0).double()  # a weight that is all zeros has no meaningful ratio yet
        ratio = updates.double() / self.norms.clamp(min=1e-12) * has_ratio
        self.parameter += torch.stack([self.norms, self.grad_norms, ratio], dim=1)
        self.ratio_counts += has_ratio
        self.samples += 1
        self.before, self.sampling = None, False

    # ---- reading, once per epoch ----------------------------------------------------------------
    def after_epoch(self, learner: Learner) -> None:
        learner.metrics.setdefault("lr", learner.optimizer.param_groups[0]["lr"])  # for the curves
        if self.samples == 0:
            return
        n = self.samples
        activations = {key: self._activation(key, sums / n) for key, sums in self.activation.items()}
        sums, counts = self.parameter.tolist(), zip(self.grad_counts, self.ratio_counts.tolist(), strict=True)
        parameters = {}
        for name, (norm, grad_norm, ratio), (with_grad, with_ratio) in zip(self.names, sums, counts, strict=True):
            entry = {"norm": norm / n}
            if with_grad:  # a parameter the loss never reached has no gradient to report
                entry["grad_norm"] = grad_norm / with_grad
                if with_ratio:
                    entry["update_ratio"] = ratio / with_ratio
            parameters[name] = entry
        learner.metrics["stats"] = {"samples": n, "every": self.every, "activations": activations,
                                    "parameters": parameters}
        self._reset()

    def _activation(self, key: str, averages: torch.Tensor) -> dict[str, Any]:
        mean, std, saturation, nonfinite = averages.tolist()
        entry: dict[str, Any] = {"mean": mean, "std": std}
        if key in self.alive:
            entry["dead"] = 1.0 - self.alive[key].double().mean().item()
        layer = self.layers.get(key.split("#")[0])
        if isinstance(layer, SQUASHERS + RECURRENT):
            entry["saturated"] = saturation
        if nonfinite:
            entry["nonfinite"] = nonfinite
        low, high = self.bounds[key].tolist()
        entry["histogram"] = {"low": low, "high": high, "counts": self.histogram[key].tolist()}
        return entry

    def after_fit(self, learner: Learner) -> None:
        for hook in self.hooks:
            hook.remove()
        self.hooks = []

    # ---- checkpoints: a run resumed mid-epoch keeps the epoch's samples ------------------------------
    def state_dict(self) -> dict:
        if self.samples == 0:
            return {"every": self.every, "samples": 0}
        return {"every": self.every, "samples": self.samples, "activation": self.activation, "alive": self.alive,
                "histogram": self.histogram, "bounds": self.bounds, "parameter": self.parameter,
                "grad_counts": self.grad_counts, "ratio_counts": self.ratio_counts}

    def load_state_dict(self, state: dict) -> None:
        """Restore the accumulators (moved to the device by :meth:`before_fit`, which runs next)."""
        self.every, self.samples = state["every"], state["samples"]
        if self.samples:
            self.activation, self.alive = dict(state["activation"]), dict(state["alive"])
            self.histogram, self.bounds = dict(state["histogram"]), dict(state["bounds"])
            self.parameter, self.grad_counts = state["parameter"], list(state["grad_counts"])
            self.ratio_counts = state["ratio_counts"]


def _batches_per_epoch(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:  # a generator or an iterable without a length
        return None


def _units(out: torch.Tensor) -> torch.Tensor:
    """Activations as (units, values): channels of conv maps (N, C, H[, W[, D]]), else the last dimension.

    (N, features) and (N, length, features) sequences have their units last; a 1-D output is one unit.
    """
    if out.ndim >= 4:
        return out.transpose(0, 1).flatten(1)  # (C, N*H*W)
    if out.ndim <= 1:
        return out.reshape(1, -1)
    return out.reshape(-1, out.shape[-1]).T  # (features, rows)


def _dense_grad(param: torch.Tensor) -> torch.Tensor:
    """The gradient as a strided tensor with the same norm: a sparse one (e.g. from
    ``nn.Embedding(sparse=True)``) gives its coalesced values; a missing one, zeros."""
    if param.grad is None:
        return torch.zeros_like(param)
    return param.grad.coalesce().values() if param.grad.is_sparse else param.grad
