"""OptimizerConfig and ScheduleConfig against plain torch.optim and hand-computed updates."""

import copy
import math

import pytest
import torch
from torch import nn

from learnable.optim import OptimizerConfig, ScheduleConfig


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))


def _data(seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(3, 16, 5, generator=gen), torch.randn(3, 16, 2, generator=gen)


def _train(model, optimizer, steps=3):
    """A few steps of MSE on fixed batches; returns the final parameters."""
    for x, y in zip(*_data(), strict=True):
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return [p.detach().clone() for p in model.parameters()]


CONFIGS = [
    (OptimizerConfig("sgd", lr=0.1), torch.optim.SGD, {"lr": 0.1}),
    (
        OptimizerConfig("sgd", lr=0.05, momentum=0.9, weight_decay=0.01),
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
    ),
    (
        OptimizerConfig("sgd", lr=0.05, momentum=0.8, nesterov=True),
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    ),
    (OptimizerConfig("adam", lr=0.01, weight_decay=0.001), torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.001}),
    (OptimizerConfig("adamw", lr=0.01, weight_decay=0.1), torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (OptimizerConfig("rmsprop", lr=0.01, momentum=0.5), torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.5}),
]
IDS = ["sgd", "sgd-momentum", "sgd-nesterov", "adam", "adamw", "rmsprop"]


@pytest.mark.parametrize(("config", "torch_class", "settings"), CONFIGS, ids=IDS)
def test_build_makes_the_named_torch_optimizer_with_the_settings(config, torch_class, settings):
    optimizer = config.build(_model().parameters())
    assert type(optimizer) is torch_class
    group = optimizer.param_groups[0]
    for key, value in settings.items():
        assert group[key] == value, key
    assert group["weight_decay"] == config.weight_decay
    fused = config.name in ("sgd", "adam", "adamw")  # PyTorch has fused kernels for these on the CPU
    assert group.get("fused") is (True if fused else None)
    assert group["foreach"] is (None if fused else True)
    assert len(group["params"]) == 4


@pytest.mark.parametrize(("config", "torch_class", "settings"), CONFIGS, ids=IDS)
def test_steps_equal_plain_torch_optim_steps(config, torch_class, settings):
    model = _model()
    twin = copy.deepcopy(model)
    ours = _train(model, config.build(model.parameters()))
    plain = _train(twin, torch_class(twin.parameters(), **settings))  # the default (for-loop on the CPU)
    for a, b, start in zip(ours, plain, _model().parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
        assert not torch.equal(a, start.detach())  # the weights did move


FUSABLE = [(c, t, s) for c, t, s in CONFIGS if c.name in ("sgd", "adam", "adamw")]


@pytest.mark.parametrize(("config", "torch_class", "settings"), FUSABLE, ids=[c.name for c, _, _ in FUSABLE])
def test_fused_and_multi_tensor_updates_agree_over_many_steps(config, torch_class, settings):
    model = _model()
    twin = copy.deepcopy(model)
    fused_optimizer, multi_optimizer = config.build(model.parameters()), config.build(twin.parameters(), fused=False)
    assert fused_optimizer.param_groups[0]["fused"] is True
    for _ in range(20):  # 60 steps on the same two optimizers
        fused = _train(model, fused_optimizer)
        multi = _train(twin, multi_optimizer)
    for a, b in zip(fused, multi, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_multi_tensor_is_used_where_no_fused_kernel_applies():
    complex_weight = nn.Parameter(torch.randn(3, dtype=torch.complex64))
    group = OptimizerConfig("adam").build([complex_weight]).param_groups[0]
    assert (group.get("fused"), group["foreach"]) == (None, True)
    assert OptimizerConfig("adam").build(_model().parameters(), fused=False).param_groups[0]["fused"] is None


def test_learner_trains_sparse_embeddings_with_the_multi_tensor_sgd():
    from learnable import Learner

    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4, sparse=True), nn.Flatten(), nn.Linear(8, 2))
    X, y = torch.randint(0, 10, (64, 2)), torch.randint(0, 2, (64,))
    learner = Learner(model, (X, y), loss="cross_entropy", optimizer="sgd", lr=0.1, validation=None, progress=False)
    before = model[0].weight.detach().clone()
    learner.fit(1)
    assert learner.optimizer.param_groups[0]["fused"] is None
    assert not torch.equal(model[0].weight, before)


def test_build_accepts_a_generator_of_parameters():
    model = _model()
    optimizer = OptimizerConfig("sgd", lr=0.1).build(p for p in model.parameters())
    assert len(optimizer.param_groups[0]["params"]) == 4


def test_l1_adds_l1_times_sign_to_weight_matrices_but_not_biases():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    x, y = torch.randn(8, 4), torch.randn(8, 3)
    lr, l1 = 0.1, 0.05
    optimizer = OptimizerConfig("sgd", lr=lr, l1=l1).build(model.parameters())
    weight, bias = model.weight.detach().clone(), model.bias.detach().clone()
    nn.functional.mse_loss(model(x), y).backward()
    grad_w, grad_b = model.weight.grad.clone(), model.bias.grad.clone()
    optimizer.step()
    torch.testing.assert_close(model.weight.detach(), weight - lr * (grad_w + l1 * torch.sign(weight)))
    torch.testing.assert_close(model.bias.detach(), bias - lr * grad_b)


def test_without_l1_no_penalty_is_added():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    weight = model.weight.detach().clone()
    optimizer = OptimizerConfig("sgd", lr=0.1).build(model.parameters())
    model(torch.randn(8, 4)).sum().backward()
    grad_w = model.weight.grad.clone()
    optimizer.step()
    torch.testing.assert_close(model.weight.detach(), weight - 0.1 * grad_w)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (OptimizerConfig("lbfgs"), r"unknown optimizer 'lbfgs'; choose one of .*'adam'"),
        (OptimizerConfig("sgd", lr=-0.1), r"lr=-0.1 must be a finite number >= 0"),
        (OptimizerConfig("sgd", lr=math.inf), r"lr=inf must be a finite number"),
        (OptimizerConfig("sgd", lr=0), r"lr=0 would never change the weights"),
        (OptimizerConfig("adam", weight_decay=-1.0), r"weight_decay=-1.0 must be a finite number >= 0"),
        (OptimizerConfig("sgd", l1=-0.5), r"l1=-0.5 must be a finite number >= 0"),
        (OptimizerConfig("sgd", nesterov=True), r"nesterov=True needs name='sgd' and momentum > 0"),
        (OptimizerConfig("rmsprop", momentum=0.9, nesterov=True), r"nesterov=True needs name='sgd'"),
        (OptimizerConfig("adam", momentum=0.9), r"adam has no momentum setting .*betas"),
        (OptimizerConfig("adamw", momentum=0.9), r"adamw has no momentum setting"),
    ],
)
def test_build_rejects_bad_settings(config, message):
    with pytest.raises(ValueError, match=message):
        config.build(_model().parameters())


# ---- schedules ---------------------------------------------------------------------------------
LR = 0.1


def _lrs(config, total_steps):
    """The learning rate of each of ``total_steps`` steps, and the one after the last step."""
    optimizer = OptimizerConfig("sgd", lr=LR, momentum=0.9).build(_model().parameters())
    scheduler = config.build(optimizer, total_steps=total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates, optimizer.param_groups[0]["lr"]


def test_constant_schedule_keeps_the_rate():
    rates, last = _lrs(ScheduleConfig("constant"), 20)
    assert rates == pytest.approx([LR] * 20) and last == pytest.approx(LR)


def test_step_schedule_multiplies_by_gamma_every_step_fraction():
    rates, _ = _lrs(ScheduleConfig("step", step_fraction=0.25, gamma=0.5), 20)  # every 5 steps
    expected = [LR * 0.5 ** (k // 5) for k in range(20)]
    assert rates == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("min_factor", [0.0, 0.1])
def test_cosine_schedule_anneals_to_min_factor_times_lr(min_factor):
    total = 40
    rates, last = _lrs(ScheduleConfig("cosine", min_factor=min_factor), total)
    expected = [LR * (min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * k / total))) for k in range(total)]
    assert rates == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))
    assert last == pytest.approx(min_factor * LR, abs=1e-12)


def test_one_cycle_rises_from_lr_over_25_to_lr_and_falls_near_zero():
    total = 100
    rates, last = _lrs(ScheduleConfig("one_cycle"), total)
    assert rates[0] == pytest.approx(LR / 25)
    peak = max(range(total), key=rates.__getitem__)
    assert rates[peak] == pytest.approx(LR, rel=1e-3)
    assert 20 <= peak <= 40  # PyTorch's default: 30% of the steps rising
    assert last < LR / 1000


@pytest.mark.parametrize("name", ["constant", "cosine", "step"])
def test_warmup_rises_linearly_from_lr_over_100_to_lr(name):
    total, warmup = 50, 0.2  # 10 warm-up steps
    rates, _ = _lrs(ScheduleConfig(name, warmup=warmup, step_fraction=0.9), total)
    assert rates[0] == pytest.approx(LR / 100)
    assert rates[:10] == pytest.approx([LR * (0.01 + 0.99 * k / 10) for k in range(10)])
    assert rates[10] == pytest.approx(LR)  # warm-up ends at the full rate
    assert all(a < b for a, b in zip(rates[:10], rates[1:11], strict=True))


def test_warmup_then_cosine_still_ends_at_min_factor():
    rates, last = _lrs(ScheduleConfig("cosine", warmup=0.1, min_factor=0.05), 30)
    assert max(rates) == pytest.approx(LR)
    assert last == pytest.approx(0.05 * LR)


def test_unknown_schedule_lists_the_choices():
    optimizer = OptimizerConfig("sgd", lr=LR).build(_model().parameters())
    with pytest.raises(ValueError, match=r"unknown schedule 'linear'; choose one of .*'cosine'"):
        ScheduleConfig("linear").build(optimizer, total_steps=10)


@pytest.mark.parametrize("warmup", [-0.1, 1.0])
def test_warmup_outside_unit_interval_is_rejected(warmup):
    optimizer = OptimizerConfig("sgd", lr=LR).build(_model().parameters())
    with pytest.raises(ValueError, match=r"warmup=.* must be a number >= 0 and < 1, for example 0.1"):
        ScheduleConfig("cosine", warmup=warmup).build(optimizer, total_steps=10)
