"""Gradients in closed form for affine models: the fast path for linear and logistic regression.

A model that is one affine map ``output = x @ W.T + b`` (``nn.Linear``, or learnable's
LinearRegressionNet, LogisticRegressionNet and LinearSVM) has textbook gradients for the common losses:
with ``g = dL/d(output)``, ``dW = g.T @ x`` and ``db = g.sum(0)``, and ``g`` is one line per loss
(``softmax(output) - onehot(y)`` over the batch size for cross-entropy). For such small models the
autograd graph costs more than the arithmetic, so the Learner takes this path on its own: the same
gradients (tested against autograd), about half the work per step. Any other model, loss, input
shape, or a callback that might change the loss, takes the ordinary ``loss.backward()``.

Example:
    >>> import torch
    >>> from learnable.losses import get
    >>> model = torch.nn.Linear(3, 2)
    >>> gradient = closed_form_gradient(model, get("cross_entropy"))
    >>> x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    >>> gradient.applies(x, y)
    True
    >>> with torch.no_grad():
    ...     gradient(x, model(x), y)
    >>> model.weight.grad.shape
    torch.Size([2, 3])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as torch_module

from learnable import losses

OutputGradient = Callable[[torch.Tensor, torch.Tensor, Any], torch.Tensor]


def _cross_entropy(output: torch.Tensor, target: torch.Tensor, loss: Any, log_p: torch.Tensor | None = None):
    """(softmax - smoothed one-hot) / batch; ``log_p``, the log-softmax already taken for the loss, is reused."""
    grad = (torch.log_softmax(output, dim=1) if log_p is None else log_p).exp_()  # faster than torch.softmax on a CPU
    smoothing = loss.label_smoothing
    grad.scatter_add_(1, target.unsqueeze(1), _full(len(target), smoothing - 1.0, grad))
    if smoothing:
        grad.sub_(smoothing / output.shape[1])
    return grad.div_(len(target))


@functools.lru_cache(maxsize=16)
def _full_cached(rows: int, value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.full((rows, 1), value, dtype=dtype, device=device)


def _full(rows: int, value: float, like: torch.Tensor) -> torch.Tensor:
    """A (rows, 1) column of ``value``, made once per batch size and reused (never written to)."""
    return _full_cached(rows, value, like.dtype, like.device)


def _mse(output: torch.Tensor, target: torch.Tensor, loss: Any) -> torch.Tensor:
    return (output - target).mul_(2.0 / output.numel())


def _mae(output: torch.Tensor, target: torch.Tensor, loss: Any) -> torch.Tensor:
    return (output - target).sign_().div_(output.numel())


def _huber(output: torch.Tensor, target: torch.Tensor, loss: Any) -> torch.Tensor:
    return (output - target).clamp_(-loss.delta, loss.delta).div_(output.numel())


def _bce_with_logits(output: torch.Tensor, target: torch.Tensor, loss: Any) -> torch.Tensor:
    return torch.sigmoid(output).sub_(target).div_(output.numel())


def _binary_hinge(output: torch.Tensor, target: torch.Tensor, loss: Any) -> torch.Tensor:
    sign = target * 2 - 1
    active = (1 - sign * output) >= 0  # autograd's clamp(min=0) passes the gradient at the kink too
    return sign.neg_().mul_(active).div_(output.numel())


# Losses whose gradient with respect to the output is written out here, keyed by their exact class.
OUTPUT_GRADIENTS: dict[type, OutputGradient] = {
    losses.CrossEntropyLoss: _cross_entropy,
    losses.MSELoss: _mse,
    losses.MAELoss: _mae,
    losses.HuberLoss: _huber,
    losses.BCEWithLogitsLoss: _bce_with_logits,
    losses.HingeLoss: _binary_hinge,
}


def affine_layer(model: nn.Module) -> nn.Linear | None:
    """The ``nn.Linear`` that is the whole of ``model``, or None when the model is anything more.

    Checked once, when training starts: hooks on the model or the layer (or global module hooks),
    a weight computed from other tensors (pruning, weight norm), a frozen parameter or a gradient
    hook all send training to autograd. The Learner's own statistics hooks come later and only
    read the output.
    """
    from learnable.models.linear import Affine

    if type(model) is nn.Linear:
        layer = model
    elif type(model) is nn.Sequential and len(model) == 1 and type(model[0]) is nn.Linear:
        layer = model[0]
    elif isinstance(model, Affine) and type(model).forward is Affine.forward and len(list(model.children())) == 1:
        layer = model.linear if type(model.linear) is nn.Linear else None
    else:
        return None
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    if any(getattr(m, name, None) for m in (model, layer) for name in hooks):
        return None  # a hook may change the weight (pruning, weight norm) or the output, or need autograd
    if any(getattr(torch_module, f"_global{name}", None) for name in hooks):
        return None
    params = dict(layer.named_parameters(recurse=False))
    if set(params) - {"weight", "bias"} or not isinstance(params.get("weight"), nn.Parameter):
        return None  # the weight is computed from other tensors
    for param in params.values():
        if not param.requires_grad or param._backward_hooks or getattr(param, "_post_accumulate_grad_hooks", None):
            return None
    return layer


class ClosedFormGradient:
    """Fills an affine model's ``.grad`` as ``loss.backward()`` would, without an autograd graph.

    Build it with :func:`closed_form_gradient`. :meth:`applies` says whether a batch can take this
    path (2-D float rows of the layer's dtype, targets the loss reads row by row; a multiclass hinge
    or anything unusual goes to autograd); the Learner then runs the forward pass without a graph
    and calls the object with ``(x, output, target)``.
    """

    def __init__(self, layer: nn.Linear, loss_fn: Any) -> None:
        self.layer, self.loss_fn = layer, loss_fn
        self.output_gradient = OUTPUT_GRADIENTS[type(loss_fn)]
        self.classes = type(loss_fn) is losses.CrossEntropyLoss
        self.hinge = type(loss_fn) is losses.HingeLoss
        self._log_p: tuple[torch.Tensor, torch.Tensor] | None = None  # (output, its log-softmax) from loss()

    def applies(self, x: torch.Tensor, target: torch.Tensor) -> bool:
        """Whether this batch's gradient can be taken in closed form."""
        layer = self.layer
        if x.ndim != 2 or x.dtype != layer.weight.dtype or torch.is_autocast_enabled(x.device.type):
            return False
        if self.classes:
            return target.ndim == 1 and not target.is_floating_point()
        outputs = layer.out_features
        if self.hinge and outputs != 1:
            return False
        return (target.ndim == 1 and outputs == 1) or (target.ndim == 2 and target.shape[1] == outputs)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss, as ``loss_fn`` gives it; for cross-entropy its log-softmax is kept for the gradient."""
        if not self.classes or self.loss_fn.label_smoothing:
            return self.loss_fn(output, target)
        log_p = torch.log_softmax(output, dim=1)
        self._log_p = (output, log_p)
        return F.nll_loss(log_p, target)  # what F.cross_entropy computes, in the same two steps

    def __call__(self, x: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
        if self.classes:
            cached, self._log_p = self._log_p, None
            log_p = cached[1] if cached is not None and cached[0] is output else None
            grad = _cross_entropy(output, target, self.loss_fn, log_p)
        else:
            single = losses.single_output(output, target)
            grad = self.output_gradient(single, target.to(output.dtype), self.loss_fn).reshape(output.shape)
        _accumulate(self.layer.weight, grad.t() @ x)
        if self.layer.bias is not None:
            _accumulate(self.layer.bias, grad.sum(0))


def _accumulate(param: torch.Tensor, grad: torch.Tensor) -> None:
    param.grad = grad if param.grad is None else param.grad + grad  # backward() adds to a .grad left there


def closed_form_gradient(model: nn.Module, loss_fn: Any, callbacks: Iterable[Any] = ()) -> ClosedFormGradient | None:
    """The closed-form gradient for ``model`` and ``loss_fn``, or None where it does not apply.

    It applies when ``model`` is one affine map (see :func:`affine_layer`), ``loss_fn`` is one of
    learnable's losses in :data:`OUTPUT_GRADIENTS` (not a subclass, nor a callable of your own), and
    no callback from outside learnable handles ``after_predict`` or ``after_loss``, where it could
    change the output or the loss that autograd would differentiate.
    """
    layer = affine_layer(model)
    if layer is None or type(loss_fn) not in OUTPUT_GRADIENTS:
        return None
    for callback in callbacks:
        own = type(callback).__module__.startswith("learnable.")
        if not own and (hasattr(callback, "after_predict") or hasattr(callback, "after_loss")):
            return None
    return ClosedFormGradient(layer, loss_fn)
