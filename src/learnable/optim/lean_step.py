"""The optimizer step without ``torch.optim``'s per-call bookkeeping, for fused Adam and AdamW.

``optimizer.step()`` costs about 0.1 ms of Python on a CPU before its fused kernel runs (a profiler
range, hook dispatch, grouping the tensors by device and dtype, re-checking each parameter's state),
and ``zero_grad`` another profiler range. For small models that is a large share of a step: a third
of logistic regression's on 100 features. :class:`LeanStep` calls the same fused kernel that
``torch.optim.Adam(fused=True)`` calls, with the same arguments read from the same param group and
state, so the weights and the optimizer's ``state_dict`` are exactly those of ``optimizer.step()``
(tested). It steps through ``optimizer.step()`` itself whenever anything is out of the ordinary:
the first step (which creates the state), a parameter without a gradient, hooks on the optimizer,
several param groups, amsgrad, maximize, capturable or differentiable, a tensor learning rate, or
a PyTorch without the kernel.

Example:
    >>> import torch
    >>> model = torch.nn.Linear(3, 1)
    >>> step = LeanStep(torch.optim.Adam(model.parameters(), fused=True))
    >>> model(torch.randn(4, 3)).sum().backward()
    >>> step()   # the first step goes through optimizer.step(), which creates the state
    >>> step.zero_grad(); model(torch.randn(4, 3)).sum().backward(); step()
    >>> step.lean_steps
    1
"""

from __future__ import annotations

import torch
from torch.optim import optimizer as torch_optimizer

_KERNELS = {False: getattr(torch, "_fused_adam_", None), True: getattr(torch, "_fused_adamw_", None)}


class LeanStep:
    """``step()`` and ``zero_grad()`` for ``optimizer``, lean where it is a plain fused Adam or AdamW.

    Args:
        optimizer: any ``torch.optim.Optimizer``; other kinds always step through ``optimizer.step()``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self.lean_steps = 0  # steps taken by the kernel call here (the rest went through step())
        groups = optimizer.param_groups
        self.eligible = (
            isinstance(optimizer, torch.optim.Adam)
            and len(groups) == 1
            and groups[0].get("fused") is True
            and None not in _KERNELS.values()
        )
        self._state: tuple[list[torch.Tensor], ...] | None = None  # (exp_avgs, exp_avg_sqs, steps), once built
        if self.eligible:  # re-read the state at once after a load (a cleared state is noticed by _lean)
            optimizer.register_load_state_dict_post_hook(self._forget_state)

    def _forget_state(self, optimizer: torch.optim.Optimizer) -> None:
        self._state = None  # load_state_dict put new tensors in the state

    def __call__(self) -> None:
        """One optimizer step: the fused kernel directly when :meth:`_lean` allows, else ``step()``."""
        if not (self.eligible and self._lean()):
            self.optimizer.step()

    def zero_grad(self) -> None:
        """Set every gradient to None, as ``optimizer.zero_grad(set_to_none=True)`` does."""
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                param.grad = None

    def _lean(self) -> bool:
        optimizer = self.optimizer
        if (
            optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks
            or torch_optimizer._global_optimizer_pre_hooks
            or torch_optimizer._global_optimizer_post_hooks
        ):
            return False
        if len(optimizer.param_groups) != 1:
            return False
        group = optimizer.param_groups[0]
        lr = group["lr"]
        if (
            group["amsgrad"] or group["maximize"] or group["capturable"] or group["differentiable"]
            or not isinstance(lr, float)
            or getattr(optimizer, "grad_scale", None) is not None
            or getattr(optimizer, "found_inf", None) is not None
        ):
            return False
        params = group["params"]
        grads = [p.grad for p in params]
        if any(g is None for g in grads):
            return False  # a parameter left out of this step: step() skips it
        if self._state is None and not self._read_state(params):
            return False  # the first step, which builds the state, or tensors torch.optim must group
        exp_avgs, exp_avg_sqs, steps = self._state
        first = optimizer.state.get(params[0])
        if len(steps) != len(params) or not first or first.get("step") is not steps[0]:
            self._state = None  # parameters added to the group, or the state cleared or replaced since
            return False
        beta1, beta2 = group["betas"]
        decoupled = group.get("decoupled_weight_decay", isinstance(optimizer, torch.optim.AdamW))
        with torch.no_grad():
            torch._foreach_add_(steps, 1)
            _KERNELS[bool(decoupled)](
                params, grads, exp_avgs, exp_avg_sqs, [], steps,
                amsgrad=False, lr=lr, beta1=float(beta1), beta2=float(beta2), weight_decay=group["weight_decay"],
                eps=group["eps"], maximize=False, grad_scale=None, found_inf=None,
            )
        self.lean_steps += 1
        return True

    def _read_state(self, params: list[torch.Tensor]) -> bool:
        states = [self.optimizer.state.get(p) for p in params]
        if not all(states):
            return False
        steps = [s["step"] for s in states]
        device, dtype = params[0].device, params[0].dtype
        if any(t.device != device or t.dtype != dtype for t in params) or any(t.device != device for t in steps):
            return False  # tensors on several devices or of several dtypes: torch.optim groups them
        self._state = ([s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], steps)
        return True
