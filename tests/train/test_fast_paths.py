"""The training loop's three fast paths, each tested equal to its plain fallback.

- closed-form gradients of affine models (train/closed_form.py) against ``loss.backward()``;
- LeanStep's direct fused Adam/AdamW kernel call (train/lean_step.py) against ``optimizer.step()``;
- the per-step losses kept on the device (train/step_losses.py), read once per epoch.
"""

import copy
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune
from torch.optim.optimizer import register_optimizer_step_pre_hook

from learnable import losses
from learnable.callbacks import Callback, Checkpoint, NonFiniteError
from learnable.callbacks.checkpoint import load_checkpoint, save_checkpoint
from learnable.data import TensorLoader
from learnable.models import LinearRegressionNet, LinearSVM, LogisticRegressionNet
from learnable.optim.lean_step import LeanStep
from learnable.train import Learner
from learnable.train.closed_form import closed_form_gradient
from learnable.train.step_losses import CHUNK, StepLosses

FEATURES, CLASSES, OUTPUTS = 4, 3, 2
TOLERANCE = {torch.float32: {"rtol": 1e-5, "atol": 1e-6}, torch.float64: {"rtol": 1e-12, "atol": 1e-12}}


# ---- closed form against autograd -------------------------------------------------------------------
def _linear(outputs, bias=True):
    return lambda: nn.Linear(FEATURES, outputs, bias=bias)


MODELS = {
    "linear": _linear,
    "linear-no-bias": lambda outputs: _linear(outputs, bias=False),
    "LinearRegressionNet": lambda outputs: lambda: LinearRegressionNet(in_features=FEATURES, out_features=outputs),
    "LogisticRegressionNet": lambda outputs: lambda: LogisticRegressionNet(in_features=FEATURES, num_classes=outputs),
    "LinearSVM": lambda outputs: lambda: LinearSVM(in_features=FEATURES, num_classes=2),
}
# (loss, options, target kind, model names, target shapes): (B,) targets, (B, k) columns, (B, 1) one column
REGRESSION = (["linear", "linear-no-bias", "LinearRegressionNet"], ["rows", "columns"])
LOSS_CASES = [
    ("cross_entropy", {}, "classes", ["linear", "linear-no-bias", "LogisticRegressionNet"], ["rows"]),
    ("cross_entropy", {"label_smoothing": 0.1}, "classes", ["linear", "LogisticRegressionNet"], ["rows"]),
    ("mse", {}, "real", *REGRESSION),
    ("mae", {}, "real", *REGRESSION),
    ("huber", {}, "real", *REGRESSION),
    ("huber", {"delta": 0.5}, "real", *REGRESSION),
    ("bce_with_logits", {}, "binary", ["linear", "linear-no-bias"], ["rows", "columns", "one-column"]),
    ("bce_with_logits", {}, "binary", ["LogisticRegressionNet"], ["rows"]),
    ("hinge", {}, "binary", ["linear", "linear-no-bias"], ["rows", "one-column"]),
    ("hinge", {}, "binary", ["LinearSVM"], ["rows"]),
]
CASES = [
    pytest.param(loss, options, kind, model, shape,
                 id="-".join([loss, *(f"{k}={v}" for k, v in options.items()), model, shape]))
    for loss, options, kind, models, shapes in LOSS_CASES
    for model in models
    for shape in shapes
]


def _outputs(kind, shape, model):
    """Output columns for nn.Linear and LinearRegressionNet; the number of classes for the classifiers."""
    if kind == "classes":
        return CLASSES
    if model in ("LogisticRegressionNet", "LinearSVM"):
        return 2  # binary: one logit or margin
    return OUTPUTS if shape == "columns" else 1


def _target(kind, shape, rows, dtype, gen):
    columns = {"rows": (), "columns": (OUTPUTS,), "one-column": (1,)}[shape]
    if kind == "classes":
        return torch.randint(0, CLASSES, (rows,), generator=gen)
    if kind == "binary":
        return torch.randint(0, 2, (rows, *columns), generator=gen)  # integer 0/1, as the Learner passes them
    return torch.randn(rows, *columns, generator=gen, dtype=dtype)


def _grads(model):
    return [p.grad.clone() for p in model.parameters()]


def _closed_and_autograd(make_model, loss_fn, x, target, dtype=torch.float32, initial=None):
    """Gradients filled by the closed form and by ``loss.backward()`` on twin models (from ``initial`` grads)."""
    torch.manual_seed(0)
    model = make_model().to(dtype)
    twin = copy.deepcopy(model)
    for a, b, grad in zip(model.parameters(), twin.parameters(), initial or [None] * 2, strict=False):
        a.grad, b.grad = (None, None) if grad is None else (grad.clone(), grad.clone())
    gradient = closed_form_gradient(model, loss_fn)
    assert gradient is not None and gradient.applies(x, target)
    with torch.no_grad():
        gradient(x, model(x), target)
    loss_fn(twin(x), target).backward()
    return _grads(model), _grads(twin)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(("loss", "options", "kind", "model", "shape"), CASES)
def test_closed_form_gradients_equal_autograd(loss, options, kind, model, shape, dtype):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, FEATURES, generator=gen, dtype=dtype)
    target = _target(kind, shape, 16, dtype, gen)
    closed, autograd = _closed_and_autograd(MODELS[model](_outputs(kind, shape, model)), losses.get(loss, **options),
                                            x, target, dtype)
    assert len(closed) == len(autograd) == (1 if model == "linear-no-bias" else 2)
    for a, b in zip(closed, autograd, strict=True):
        assert a.dtype == dtype
        torch.testing.assert_close(a, b, **TOLERANCE[dtype])


def _on_kinks():
    """Rows whose output sits exactly on each loss's kink, for nn.Linear(2, 1) with weight [1, 0], bias 0."""
    x = torch.tensor([[1.0, 3.0], [-1.0, 2.0], [0.5, 1.0], [2.0, -1.0], [-0.25, 0.0], [0.75, 0.5]])
    return x, {  # hinge: margins exactly 1; huber: |output - target| exactly delta; mae: output == target
        "hinge": torch.tensor([1, 0, 1, 0, 1, 1]),
        "huber": x[:, 0] - torch.tensor([0.5, -0.5, 0.5, 0.5, -0.5, 0.0]),
        "mae": x[:, 0] * torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 1.0]),
    }


@pytest.mark.parametrize(("loss", "options"), [("hinge", {}), ("huber", {"delta": 0.5}), ("mae", {})])
def test_closed_form_equals_autograd_exactly_at_the_kink(loss, options):
    x, targets = _on_kinks()

    def make_model():
        model = nn.Linear(2, 1)
        with torch.no_grad():
            model.weight.copy_(torch.tensor([[1.0, 0.0]]))
            model.bias.zero_()
        return model

    closed, autograd = _closed_and_autograd(make_model, losses.get(loss, **options), x, targets[loss])
    for a, b in zip(closed, autograd, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


@pytest.mark.parametrize(("loss", "outputs", "kind"), [("cross_entropy", CLASSES, "classes"), ("mse", 1, "real")])
def test_closed_form_adds_to_a_gradient_already_there_like_backward(loss, outputs, kind):
    gen = torch.Generator().manual_seed(2)
    x, target = torch.randn(8, FEATURES, generator=gen), _target(kind, "rows", 8, torch.float32, gen)
    initial = [torch.randn(outputs, FEATURES, generator=gen), torch.randn(outputs, generator=gen)]
    fresh, _ = _closed_and_autograd(_linear(outputs), losses.get(loss), x, target)
    closed, autograd = _closed_and_autograd(_linear(outputs), losses.get(loss), x, target, initial=initial)
    for a, b, start, alone in zip(closed, autograd, initial, fresh, strict=True):
        torch.testing.assert_close(a, b, **TOLERANCE[torch.float32])
        torch.testing.assert_close(a, start + alone, **TOLERANCE[torch.float32])  # added, not overwritten


# ---- where the closed form must not apply -------------------------------------------------------------
class Doubled(nn.Module):
    """A Linear inside a module whose own forward changes the output."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(FEATURES, CLASSES)

    def forward(self, x):
        return self.linear(x) * 2


class UserCallback(Callback):
    """A callback from outside learnable that handles after_loss (even one doing nothing)."""

    def after_loss(self, learner):
        pass


class UserPredictCallback(Callback):
    def after_predict(self, learner):
        pass


class MyCrossEntropy(losses.CrossEntropyLoss):
    pass


def _frozen_weight():
    model = nn.Linear(FEATURES, CLASSES)
    model.weight.requires_grad_(False)
    return model


def _with(hook):
    def make():
        model = nn.Linear(FEATURES, CLASSES)
        hook(model)
        return model

    return make


NOT_AFFINE = {
    "two-layer Sequential": lambda: nn.Sequential(nn.Linear(FEATURES, 5), nn.Linear(5, CLASSES)),
    "Linear in a custom forward": Doubled,
    "frozen weight": _frozen_weight,
    "full backward hook": _with(lambda m: m.register_full_backward_hook(lambda module, gin, gout: None)),
    "full backward pre-hook": _with(lambda m: m.register_full_backward_pre_hook(lambda module, gout: None)),
    "tensor hook": _with(lambda m: m.weight.register_hook(lambda grad: grad * 2)),
    "post-accumulate hook": _with(lambda m: m.bias.register_post_accumulate_grad_hook(lambda p: None)),
}


@pytest.mark.parametrize("make_model", NOT_AFFINE.values(), ids=NOT_AFFINE.keys())
def test_closed_form_refuses_models_that_are_more_than_one_affine_map(make_model):
    assert closed_form_gradient(make_model(), losses.get("cross_entropy")) is None


def test_a_one_layer_sequential_takes_the_closed_form():
    assert closed_form_gradient(nn.Sequential(nn.Linear(FEATURES, CLASSES)), losses.get("cross_entropy")) is not None


LOSS_AND_CALLBACKS = {
    "custom loss callable": (lambda output, target: F.cross_entropy(output, target), []),
    "subclass of learnable's loss": (MyCrossEntropy(), []),
    "user callback with after_loss": (losses.get("cross_entropy"), [UserCallback()]),
    "user callback with after_predict": (losses.get("cross_entropy"), [UserPredictCallback()]),
}


@pytest.mark.parametrize(("loss_fn", "callbacks"), LOSS_AND_CALLBACKS.values(), ids=LOSS_AND_CALLBACKS.keys())
def test_closed_form_refuses_other_losses_and_user_callbacks_that_may_change_the_loss(loss_fn, callbacks):
    assert closed_form_gradient(nn.Linear(FEATURES, CLASSES), loss_fn, callbacks) is None


def test_learnables_own_callbacks_leave_the_closed_form_on():
    from learnable.callbacks import EarlyStopping, GradientClipping, NonFiniteGuard

    callbacks = [EarlyStopping(), GradientClipping(1.0), NonFiniteGuard("skip")]
    assert closed_form_gradient(nn.Linear(FEATURES, CLASSES), losses.get("cross_entropy"), callbacks) is not None


def _applies(loss, outputs, x, target):
    gradient = closed_form_gradient(nn.Linear(FEATURES, outputs), losses.get(loss))
    assert gradient is not None
    return gradient.applies(x, target)


def test_closed_form_applies_only_to_batches_it_can_take():
    x, classes = torch.randn(6, FEATURES), torch.tensor([0, 1, 2, 0, 1, 2])
    assert _applies("cross_entropy", CLASSES, x, classes)  # the control
    assert not _applies("cross_entropy", CLASSES, torch.randn(6, 5, FEATURES), torch.zeros(6, 5).long())  # 3-D
    assert not _applies("hinge", CLASSES, x, classes)  # multiclass hinge
    assert not _applies("cross_entropy", CLASSES, x, torch.softmax(torch.randn(6, CLASSES), 1))  # float targets
    assert not _applies("cross_entropy", CLASSES, x.double(), classes)  # not the layer's dtype
    assert not _applies("mse", 1, x, torch.randn(6, 2))  # two target columns for one output
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not _applies("cross_entropy", CLASSES, x, classes)


# ---- the closed form in the Learner ----------------------------------------------------------------
def _data(kind, rows=96, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, FEATURES, generator=gen)
    if kind == "classes":
        return X, (X[:, 0] - X[:, 1] > 0).long() + (X[:, 2] > 0.5).long()
    return X, X @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.1 * torch.randn(rows, generator=gen)


class RecordsGraph(Callback):
    """Notes whether each step's loss had an autograd graph (after_backward does not block the closed form)."""

    def __init__(self):
        self.graphs = []

    def after_backward(self, learner):
        self.graphs.append(learner.loss.requires_grad)


def _fit(data, loss, outputs, callbacks=(), num_epochs=3):
    torch.manual_seed(0)
    model = nn.Linear(FEATURES, outputs)
    learner = Learner(model, data, loss=loss, lr=0.05, batch_size=16, validation=None, progress=False,
                      device="cpu", statistics=None, callbacks=callbacks)
    return learner.fit(num_epochs)


@pytest.mark.parametrize(("loss", "kind", "outputs"), [("cross_entropy", "classes", CLASSES), ("mse", "real", 1)])
def test_a_learner_with_the_closed_form_trains_like_one_with_autograd(loss, kind, outputs):
    record = RecordsGraph()
    fast = _fit(_data(kind), loss, outputs, [record])
    plain = _fit(_data(kind), loss, outputs, [UserCallback()])
    assert fast.closed_form is not None and plain.closed_form is None
    assert record.graphs == [False] * 18  # 96 rows / 16 = 6 steps per epoch, all in closed form
    for a, b in zip(fast.model.parameters(), plain.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.equal(fast.model.weight, _fit(_data(kind), loss, outputs, num_epochs=1).model.weight)  # it moved
    fast_losses, plain_losses = [h["train_loss"] for h in fast.history], [h["train_loss"] for h in plain.history]
    assert fast_losses == pytest.approx(plain_losses, rel=1e-5)
    assert fast_losses[-1] < fast_losses[0]


class L2Penalty(Callback):
    def after_loss(self, learner):
        learner.loss = learner.loss + 0.1 * learner.model.weight.pow(2).sum()


def test_a_user_callback_that_changes_the_loss_is_honoured():
    X, y = _data("classes")
    learner = _fit(TensorLoader(X, y, batch_size=16, shuffle=False), "cross_entropy", CLASSES, [L2Penalty()])
    torch.manual_seed(0)
    model = nn.Linear(FEATURES, CLASSES)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    epoch_losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in zip(X.split(16), y.split(16), strict=True):
            loss = F.cross_entropy(model(xb), yb) + 0.1 * model.weight.pow(2).sum()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        epoch_losses.append(total / 6)
    assert learner.closed_form is None
    for a, b in zip(learner.model.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert [h["train_loss"] for h in learner.history] == pytest.approx(epoch_losses, rel=1e-5)
    unpenalized = _fit(TensorLoader(X, y, batch_size=16, shuffle=False), "cross_entropy", CLASSES)
    assert unpenalized.model.weight.norm() > learner.model.weight.norm() * 1.05  # the penalty did shrink them


def _hooked_linear(hook):
    torch.manual_seed(0)
    model = nn.Linear(FEATURES, CLASSES)
    if hook == "prune":
        prune.l1_unstructured(model, "weight", amount=0.5)  # weight = weight_orig * weight_mask, in a pre-hook
    elif hook == "weight norm":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the old weight_norm, still in use
            model = nn.utils.weight_norm(model)  # weight from weight_g and weight_v, in a pre-hook
    elif hook == "forward hook":
        model.register_forward_hook(lambda module, inputs, output: output * 2)
    else:
        model.register_forward_pre_hook(lambda module, inputs: (inputs[0] * 2,))
    return model


@pytest.mark.parametrize("hook", ["prune", "weight norm", "forward hook", "forward pre-hook"])
def test_a_linear_with_forward_hooks_gets_autograds_gradients(hook):
    x, y = torch.randn(8, FEATURES), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model, twin = _hooked_linear(hook), _hooked_linear(hook)
    loss_fn = losses.get("cross_entropy")
    gradient = closed_form_gradient(model, loss_fn)
    assert gradient is None  # the hook computes the weight or changes the input or output
    loss_fn(twin(x), y).backward()
    learner = Learner(model, (x, y), loss=loss_fn, optimizer="sgd", lr=1.0, batch_size=8, validation=None,
                      progress=False, device="cpu", statistics=None)
    before = [p.detach().clone() for p in model.parameters()]
    learner.fit(1)
    assert learner.closed_form is None
    for (name, param), start, reference in zip(model.named_parameters(), before, twin.parameters(), strict=True):
        torch.testing.assert_close(param.detach(), start - reference.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_global_module_hooks_send_training_to_autograd():
    register = nn.modules.module
    for add in (register.register_module_forward_hook, register.register_module_forward_pre_hook,
                register.register_module_full_backward_hook):
        handle = add(lambda *args: None)
        try:
            assert closed_form_gradient(nn.Linear(FEATURES, CLASSES), losses.get("cross_entropy")) is None, add
        finally:
            handle.remove()
    assert closed_form_gradient(nn.Linear(FEATURES, CLASSES), losses.get("cross_entropy")) is not None


# ---- LeanStep against optimizer.step() ---------------------------------------------------------------
def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, CLASSES))


def _batches(count):
    gen = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 6, generator=gen), torch.randint(0, CLASSES, (8,), generator=gen)) for _ in range(count)]


class Twins:
    """Two equal MLPs and optimizers, one stepped by LeanStep and one by plain ``optimizer.step()``."""

    def __init__(self, make_optimizer):
        self.models = [_mlp(), _mlp()]
        self.optimizers = [make_optimizer(model) for model in self.models]
        self.lean = LeanStep(self.optimizers[0])

    def step(self, xb, yb, drop=False):
        """One training step on both; ``drop`` leaves the last bias without a gradient (as if unused)."""
        for model in self.models:
            F.cross_entropy(model(xb), yb).backward()
            if drop:
                model[2].bias.grad = None
        self.lean()
        self.optimizers[1].step()
        self.lean.zero_grad()
        self.optimizers[1].zero_grad()

    def train(self, count, **options):
        for xb, yb in _batches(count):
            self.step(xb, yb, **options)
        return self

    def assert_equal(self):
        for a, b in zip(*(model.parameters() for model in self.models), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)  # the same kernel: bitwise equal
        lean, plain = (optimizer.state_dict() for optimizer in self.optimizers)
        assert lean["param_groups"] == plain["param_groups"]
        assert lean["state"].keys() == plain["state"].keys() and plain["state"]
        for key, state in plain["state"].items():
            assert state.keys() == lean["state"][key].keys()
            for field, value in state.items():
                torch.testing.assert_close(lean["state"][key][field], value, rtol=0, atol=0, msg=f"{key} {field}")


FUSED = {
    "adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, fused=True),
    "adam-l2": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=0.01, fused=True),
    "adamw": lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.1, fused=True),
}


@pytest.mark.parametrize("make_optimizer", FUSED.values(), ids=FUSED.keys())
def test_lean_steps_equal_optimizer_steps(make_optimizer):
    twins = Twins(make_optimizer).train(50)
    twins.assert_equal()
    assert twins.lean.lean_steps == 49  # the first step goes through step(), which builds the state
    assert all(state["step"] == 50 for state in twins.optimizers[0].state_dict()["state"].values())
    assert not torch.equal(twins.models[0][0].weight, _mlp()[0].weight)


def test_lean_steps_follow_a_schedule_that_changes_the_lr_every_step():
    twins = Twins(FUSED["adamw"])
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1 / (1 + step)) for o in twins.optimizers]
    for xb, yb in _batches(50):
        twins.step(xb, yb)
        for schedule in schedules:
            schedule.step()
    twins.assert_equal()
    assert twins.lean.lean_steps == 49
    assert twins.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-2 / 51)


def test_a_step_with_a_parameter_without_gradient_goes_through_step():
    twins = Twins(FUSED["adam"])
    for number, (xb, yb) in enumerate(_batches(50)):
        before = twins.lean.lean_steps
        twins.step(xb, yb, drop=number % 5 == 0)
        if number % 5 == 0:
            assert twins.lean.lean_steps == before, number
    twins.assert_equal()
    assert twins.lean.lean_steps == 39  # 10 steps without the bias's gradient, and the one that built its state


def _add_one(optimizer, args, kwargs):
    """A step pre-hook that changes every gradient, so skipping it would change the weights."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            if param.grad is not None:
                param.grad.add_(1.0)


def _with_pre_hook(model):
    optimizer = FUSED["adam"](model)
    optimizer.register_step_pre_hook(_add_one)
    return optimizer


FALLBACKS = {
    "step pre-hook": _with_pre_hook,
    "amsgrad": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, amsgrad=True, fused=True),
    "two param groups": lambda m: torch.optim.Adam(
        [{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 1e-3}], lr=1e-2, fused=True),
    "foreach adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, foreach=True),
    "fused sgd": lambda m: torch.optim.SGD(m.parameters(), lr=1e-1, momentum=0.9, fused=True),
}


@pytest.mark.parametrize("make_optimizer", FALLBACKS.values(), ids=FALLBACKS.keys())
def test_lean_step_falls_back_to_step_and_still_equals_it(make_optimizer):
    twins = Twins(make_optimizer).train(50)
    twins.assert_equal()
    assert twins.lean.lean_steps == 0


def test_a_global_optimizer_hook_makes_lean_step_fall_back():
    twins = Twins(FUSED["adam"])
    handle = register_optimizer_step_pre_hook(_add_one)
    try:
        twins.train(50)
    finally:
        handle.remove()
    twins.assert_equal()
    assert twins.lean.lean_steps == 0
    assert not torch.equal(twins.models[0][0].weight, Twins(FUSED["adam"]).train(50).models[0][0].weight)


def test_after_load_state_dict_the_lean_step_uses_the_new_state():
    twins = Twins(FUSED["adam"]).train(10)
    saved = [copy.deepcopy(twins.models[1].state_dict()), copy.deepcopy(twins.optimizers[1].state_dict())]
    twins.train(10)
    for model, optimizer in zip(twins.models, twins.optimizers, strict=True):
        model.load_state_dict(saved[0])
        optimizer.load_state_dict(copy.deepcopy(saved[1]))  # load_state_dict keeps the tensors it is given
    before = twins.lean.lean_steps
    twins.train(10)
    twins.assert_equal()
    assert twins.lean.lean_steps == before + 10


def test_after_the_optimizer_state_is_cleared_the_lean_step_starts_afresh():
    twins = Twins(FUSED["adam"]).train(10)
    for optimizer in twins.optimizers:
        optimizer.state.clear()
    twins.train(10)
    twins.assert_equal()


# ---- StepLosses ----------------------------------------------------------------------------------------
def test_step_losses_sum_and_find_the_first_bad_step_across_chunks():
    values = torch.rand(2 * CHUNK + 500, generator=torch.Generator().manual_seed(0))
    kept = StepLosses()
    assert kept.total() == 0.0 and kept.first_non_finite_step() is None and kept.values() is None
    for step, value in enumerate(values, start=10):  # step numbers need not start at 1
        kept.append(value.clone(), step)
    assert len(kept) == len(values) and len(kept.chunks) == 2 and len(kept.pending) == 500
    assert kept.total() == pytest.approx(values.double().sum().item(), rel=1e-12)
    assert kept.first_non_finite_step() is None
    kept.append(torch.tensor(float("inf")), 5000)
    kept.append(torch.tensor(float("nan")), 5001)
    assert kept.first_non_finite_step() == 5000 and math.isnan(kept.total())
    poisoned = StepLosses()
    for step, value in enumerate(values, start=1):
        poisoned.append(torch.tensor(float("nan")) if step in (1500, 2400) else value, step)
    assert poisoned.first_non_finite_step() == 1500  # in the second chunk, before the pending values


def test_step_losses_detach_what_they_keep():
    loss = torch.tensor(2.0, requires_grad=True) * 3
    kept = StepLosses()
    kept.append(loss, 1)
    assert not kept.values().requires_grad and kept.total() == 6.0


def test_step_losses_round_trip_through_state_dict():
    values = torch.rand(CHUNK + 100, generator=torch.Generator().manual_seed(1))
    kept = StepLosses()
    for step, value in enumerate(values, start=1):
        kept.append(value, step)
    state = kept.state_dict()
    restored = StepLosses()
    restored.load_state_dict(state, torch.device("cpu"))
    assert restored.steps == kept.steps and torch.equal(restored.values(), kept.values())
    assert restored.total() == kept.total()
    for step in range(len(values) + 1, 2 * CHUNK + 10):  # appending goes on across a chunk boundary
        value = torch.tensor(float("nan")) if step == 2 * CHUNK else torch.tensor(0.5)
        restored.append(value, step)
    assert restored.first_non_finite_step() == 2 * CHUNK
    empty = StepLosses()
    empty.load_state_dict(StepLosses().state_dict(), torch.device("cpu"))
    assert len(empty) == 0 and empty.total() == 0.0


class Crash(Callback):
    """Simulates the process dying right after a given step (as in tests/callbacks/test_checkpoint.py)."""

    order = 95  # after the checkpoint callback

    def __init__(self, step):
        self.step = step

    def after_batch(self, learner):
        if learner.step == self.step:
            raise SystemExit("crash")


EPOCHS = 3


def _checkpointed(directory, crash=None):
    X, y = _data("classes", rows=160, seed=4)
    torch.manual_seed(2)
    callbacks = [Checkpoint(directory, every_steps=1, keep=2, handle_signals=False)] + ([crash] if crash else [])
    return Learner(nn.Linear(FEATURES, CLASSES), (X, y), loss="cross_entropy", lr=1e-2, batch_size=32,
                   validation=None, seed=3, progress=False, device="cpu", statistics=None, callbacks=callbacks)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _checkpointed(tmp_path_factory.mktemp("full")).fit(EPOCHS)


def test_a_mid_epoch_checkpoint_resumes_with_the_right_train_loss(tmp_path, uninterrupted):
    with pytest.raises(SystemExit):
        _checkpointed(tmp_path, Crash(step=7)).fit(EPOCHS)  # 160 rows / 32 = 5 steps per epoch: 2 into epoch 2
    saved = load_checkpoint(tmp_path)
    assert saved["epoch_batches"] == 2 and saved["epoch_losses"]["steps"] == [6, 7]
    resumed = _checkpointed(tmp_path).fit(EPOCHS, resume=tmp_path)
    assert resumed.closed_form is not None
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in uninterrupted.history]
    assert torch.equal(resumed.model.weight, uninterrupted.model.weight)


def test_a_checkpoint_without_its_step_losses_is_refused_as_damaged(tmp_path):
    with pytest.raises(SystemExit):
        _checkpointed(tmp_path, Crash(step=7)).fit(EPOCHS)
    state = load_checkpoint(tmp_path)
    state["epoch_loss_sum"] = state.pop("epoch_losses")["values"].sum()  # not what Learner.state_dict writes
    save_checkpoint(tmp_path / "crafted", state)
    with pytest.raises(ValueError, match=r"lacks or mistypes epoch_losses; it was not written by Learner.state_dict"):
        _checkpointed(tmp_path / "crafted").fit(EPOCHS, resume=tmp_path / "crafted")


# ---- NonFiniteGuard names the first bad step ---------------------------------------------------------
def _classifier(closed_form):
    torch.manual_seed(0)
    if closed_form:
        return nn.Linear(FEATURES, CLASSES)
    return nn.Sequential(nn.Linear(FEATURES, 8), nn.ReLU(), nn.Linear(8, CLASSES))


@pytest.mark.parametrize("closed_form", [True, False], ids=["closed form", "autograd"])
def test_non_finite_guard_names_the_batch_with_a_nan_row(closed_form):
    X, y = _data("classes", rows=64)
    X[20, 1] = float("nan")  # batch 3 of rows 16-23
    learner = Learner(_classifier(closed_form), TensorLoader(X, y, batch_size=8, shuffle=False),
                      loss="cross_entropy", progress=False, device="cpu", statistics=None)
    with pytest.raises(NonFiniteError, match=r"NaN or infinite at step 3 \(epoch 1\)"):
        learner.fit(3)
    assert (learner.closed_form is not None) is closed_form
    assert learner.step == 8 and learner.outcome == "failed"


class PoisonBatch(Callback):
    """Puts a NaN into the batch of one step number (a shuffled batch is a copy: the data stay clean)."""

    def __init__(self, step):
        self.step = step

    def before_batch(self, learner):
        if learner.step + 1 == self.step:
            learner.xb[0, 0] = float("nan")


@pytest.mark.parametrize("closed_form", [True, False], ids=["closed form", "autograd"])
def test_non_finite_guard_counts_steps_across_epochs(closed_form):
    learner = Learner(_classifier(closed_form), _data("classes", rows=64), loss="cross_entropy", batch_size=8,
                      validation=None, progress=False, device="cpu", statistics=None, callbacks=[PoisonBatch(11)])
    with pytest.raises(NonFiniteError, match=r"NaN or infinite at step 11 \(epoch 2\)"):
        learner.fit(3)
    assert math.isfinite(learner.history[0]["train_loss"]) and learner.step == 16


def test_a_layer_pruned_in_before_fit_trains_through_autograd():
    class PruneAtStart(Callback):
        def before_fit(self, learner):
            prune.l1_unstructured(learner.model, "weight", amount=0.3)

    torch.manual_seed(0)
    X = torch.randn(128, 6)
    y = (X[:, 0] > 0).long()
    model = nn.Linear(6, 2)
    learner = Learner(model, (X, y), loss="cross_entropy", lr=0.05, validation=None, progress=False, device="cpu",
                      callbacks=[PruneAtStart()])
    learner.fit(1)
    before = model.weight_orig.detach().clone()
    learner.fit(2)
    assert learner.closed_form is None
    assert not torch.equal(model.weight_orig, before)  # the real weight trains
