"""Losses against torch.nn.functional and hand-written formulas: values and gradients."""

import warnings

import pytest
import torch
import torch.nn.functional as F

from learnable import losses

B, C = 16, 4


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _value_and_grad(loss_fn, output, target):
    """The loss and its gradient with respect to the output."""
    output = output.detach().clone().requires_grad_(True)
    value = loss_fn(output, target)
    (grad,) = torch.autograd.grad(value, output)
    return value.detach(), grad


def _assert_same(loss_fn, oracle, output, target):
    value, grad = _value_and_grad(loss_fn, output, target)
    expected, expected_grad = _value_and_grad(oracle, output, target)
    assert value.ndim == 0
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-6, atol=1e-7)


# ---- regression -------------------------------------------------------------------------------
REGRESSION = [
    ("mse", {}, lambda o, t: F.mse_loss(o, t)),
    ("mae", {}, lambda o, t: F.l1_loss(o, t)),
    ("huber", {}, lambda o, t: F.huber_loss(o, t, delta=1.0)),
    ("huber", {"delta": 0.3}, lambda o, t: F.huber_loss(o, t, delta=0.3)),
]


@pytest.mark.parametrize(("name", "options", "oracle"), REGRESSION)
def test_regression_losses_equal_torch_on_same_shapes(name, options, oracle):
    output, target = torch.randn(B, generator=_gen(1)), torch.randn(B, generator=_gen(2))
    _assert_same(losses.get(name, **options), oracle, output, target)


@pytest.mark.parametrize(("name", "options", "oracle"), REGRESSION)
def test_regression_losses_match_a_single_output_column_to_a_flat_target(name, options, oracle):
    output, target = torch.randn(B, 1, generator=_gen(3)), torch.randn(B, generator=_gen(4))
    # The oracle sees the squeezed output: no (B, 1) x (B,) broadcast to (B, B).
    _assert_same(losses.get(name, **options), lambda o, t: oracle(o.squeeze(1), t), output, target)
    broadcast = oracle(output.expand(B, B), target.expand(B, B)).item()  # what (B, 1) - (B,) would give
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when it broadcasts mismatched shapes
        value = losses.get(name, **options)(output, target).item()
    assert value != pytest.approx(broadcast)


def test_regression_losses_accept_integer_targets():
    output, target = torch.randn(B, 1, generator=_gen(5)), torch.randint(0, 5, (B,), generator=_gen(6))
    expected = F.mse_loss(output.squeeze(1), target.float())
    torch.testing.assert_close(losses.get("mse")(output, target), expected)


def test_huber_equals_hand_computed_piecewise_formula():
    output = torch.tensor([[0.0], [1.0], [3.0], [-2.0]])
    target = torch.tensor([0.5, 1.0, 0.0, 0.0])
    delta = 1.5
    error = (output.squeeze(1) - target).abs()
    by_hand = torch.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta)).mean()
    torch.testing.assert_close(losses.get("huber", delta=delta)(output, target), by_hand)


# ---- classification ----------------------------------------------------------------------------
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_cross_entropy_equals_torch_with_label_smoothing(smoothing):
    output, target = torch.randn(B, C, generator=_gen(7)), torch.randint(0, C, (B,), generator=_gen(8))
    oracle = lambda o, t: F.cross_entropy(o, t, label_smoothing=smoothing)  # noqa: E731
    _assert_same(losses.get("cross_entropy", label_smoothing=smoothing), oracle, output, target)


def test_cross_entropy_label_smoothing_equals_hand_computed_formula():
    output, target = torch.randn(B, C, generator=_gen(9)), torch.randint(0, C, (B,), generator=_gen(10))
    eps = 0.2
    log_p = torch.log_softmax(output.double(), dim=1)
    nll = -log_p[torch.arange(B), target]
    uniform = -log_p.mean(dim=1)
    by_hand = ((1 - eps) * nll + eps * uniform).mean()
    value = losses.get("cross_entropy", label_smoothing=eps)(output, target)
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5)


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 1.5])
def test_cross_entropy_rejects_label_smoothing_outside_unit_interval(smoothing):
    with pytest.raises(ValueError, match=r"label_smoothing=.* must be a number >= 0 and < 1"):
        losses.get("cross_entropy", label_smoothing=smoothing)


@pytest.mark.parametrize("shape", [(B, 1), (B,)])
def test_bce_with_logits_equals_torch_on_one_logit_and_integer_targets(shape):
    output, target = torch.randn(*shape, generator=_gen(11)), torch.randint(0, 2, (B,), generator=_gen(12))
    oracle = lambda o, t: F.binary_cross_entropy_with_logits(o.reshape(-1), t.float())  # noqa: E731
    _assert_same(losses.get("bce_with_logits"), oracle, output, target)


def test_bce_with_logits_equals_hand_computed_log_likelihood():
    output, target = torch.randn(B, 1, generator=_gen(13)), torch.randint(0, 2, (B,), generator=_gen(14))
    p = torch.sigmoid(output.squeeze(1).double())
    by_hand = -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()
    value = losses.get("bce_with_logits")(output, target)
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5)


def _binary_hinge(margin, target):
    sign = target.to(margin.dtype) * 2 - 1
    return torch.clamp(1 - sign * margin.reshape(-1), min=0).mean()


@pytest.mark.parametrize("shape", [(B, 1), (B,)])
def test_binary_hinge_on_zero_one_targets_equals_hand_computed(shape):
    output, target = torch.randn(*shape, generator=_gen(15)) * 2, torch.randint(0, 2, (B,), generator=_gen(16))
    _assert_same(losses.get("hinge"), _binary_hinge, output, target)


def test_binary_hinge_known_values():
    margins = torch.tensor([[2.0], [0.5], [-0.5], [-3.0]])
    target = torch.tensor([1, 1, 0, 1])
    # max(0, 1 - 2), max(0, 1 - 0.5), max(0, 1 - 0.5), max(0, 1 + 3)
    assert losses.get("hinge")(margins, target).item() == pytest.approx((0 + 0.5 + 0.5 + 4) / 4)


def _multiclass_hinge(output, target):
    """sum over j != y of max(0, 1 - x_y + x_j), divided by the number of classes, mean over rows."""
    true = output.gather(1, target[:, None])
    terms = torch.clamp(1 - true + output, min=0)
    terms = terms.masked_fill(F.one_hot(target, output.shape[1]).bool(), 0)
    return (terms.sum(1) / output.shape[1]).mean()


def test_multiclass_hinge_equals_torch_and_hand_computed():
    output, target = torch.randn(B, C, generator=_gen(17)), torch.randint(0, C, (B,), generator=_gen(18))
    _assert_same(losses.get("hinge"), F.multi_margin_loss, output, target)
    _assert_same(losses.get("hinge"), _multiclass_hinge, output, target)


# ---- get ---------------------------------------------------------------------------------------
def test_get_builds_every_named_loss():
    assert set(losses.LOSSES) == {"mse", "mae", "huber", "cross_entropy", "bce_with_logits", "hinge"}
    assert isinstance(losses.get("cross_entropy"), losses.CrossEntropyLoss)
    assert losses.get("huber", delta=2.5).delta == 2.5
    assert losses.get("cross_entropy", label_smoothing=0.1).label_smoothing == 0.1


def test_get_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown loss 'rmse'.*choose one of .*'mse'.*or pass a callable"):
        losses.get("rmse")


def test_get_passes_a_callable_through_unchanged():
    def my_loss(output, target):
        return (output - target).abs().max()

    assert losses.get(my_loss) is my_loss
    module = torch.nn.SmoothL1Loss()
    assert losses.get(module) is module


def test_cross_entropy_on_sequence_outputs_scores_every_position():
    gen = torch.Generator().manual_seed(0)
    output, target = torch.randn(3, 5, 7, generator=gen), torch.randint(0, 7, (3, 5), generator=gen)
    expected = F.cross_entropy(output.transpose(1, 2), target)  # torch's (B, C, T) layout
    assert torch.allclose(losses.get("cross_entropy")(output, target), expected)
