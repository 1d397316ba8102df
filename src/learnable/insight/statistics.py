"""Watch the network learn: per-layer statistics sampled every few steps, without host syncs.

Every ``every`` steps the callback hooks the activation layers for one forward pass and reads the
gradients and the update of every parameter tensor. Everything is accumulated in device tensors and
read once per epoch into ``learner.metrics["stats"]`` (so History and the run store keep it):

- activations, per layer: mean and standard deviation; for ReLU-like layers the fraction of dead
  units (never positive on any sampled batch of the epoch); for tanh and sigmoid the fraction of
  saturated outputs;
- parameters, per tensor: the norm, the gradient norm, and the update-to-parameter ratio
  ``||w_after - w_before|| / ||w_before||`` of the optimizer step.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from learnable import Learner
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> X, y = torch.randn(256, 4), torch.randint(0, 2, (256,))
    >>> learner = Learner(model, (X, y), progress=False, callbacks=[Statistics(every=2)]).fit(1)
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


class Statistics(Callback):
    """Sample activation, parameter, gradient and update statistics every ``every`` steps."""

    order = -110  # before History copies the epoch's metrics

    def __init__(self, every: int = 20) -> None:
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"Statistics every={every!r} must be a whole number of steps >= 1.")
        self.every = every
        self.hooks: list[Any] = []

    def before_fit(self, learner: Learner) -> None:
        self.layers = {name: m for name, m in learner.model.named_modules() if isinstance(m, RECTIFIERS + SQUASHERS)}
        self.names = [name for name, p in learner.model.named_parameters() if p.requires_grad]
        self.params = [p for p in learner.model.parameters() if p.requires_grad]
        self.device = learner.device
        self.before: list[torch.Tensor] | None = None
        self._reset()

    def _reset(self) -> None:
        zeros = lambda n: torch.zeros(n, dtype=torch.float64, device=self.device)  # noqa: E731
        self.samples = 0
        self.activation = {name: zeros(3) for name in self.layers}  # sums of mean, std, saturation
        self.alive: dict[str, torch.Tensor] = {}
        self.parameter = zeros((len(self.params), 3))  # sums of norm, gradient norm, update ratio

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

        return record

    def after_backward(self, learner: Learner) -> None:
        if not self.hooks:
            return
        for hook in self.hooks:
            hook.remove()
        self.hooks = []
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.norms = torch.stack(torch._foreach_norm(self.params)).double()
        self.grad_norms = torch.stack(torch._foreach_norm(grads)).double()
        self.before = [p.detach().clone() for p in self.params]

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
        if self.samples == 0:
            return
        n = self.samples
        activations = {}
        for name, sums in self.activation.items():
            mean, std, saturation = (sums / n).tolist()
            entry = {"mean": mean, "std": std}
            if name in self.alive:
                entry["dead"] = 1.0 - self.alive[name].double().mean().item()
            else:
                entry["saturated"] = saturation
            activations[name] = entry
        rows = (self.parameter / n).tolist()
        parameters = {name: {"norm": r[0], "grad_norm": r[1], "update_ratio": r[2]} for name, r in zip(
            self.names, rows, strict=True)}
        learner.metrics["stats"] = {"samples": n, "activations": activations, "parameters": parameters}
        self._reset()

    def after_fit(self, learner: Learner) -> None:
        for hook in self.hooks:
            hook.remove()
        self.hooks = []
