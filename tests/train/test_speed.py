"""The Learner's speed settings: channels-last, bfloat16 autocast, TF32 and torch.compile."""

import copy

import pytest
import torch
from torch import nn

from learnable import Learner
from learnable.train.speed import resolve_precision, tensor_float_32, to_channels_last, uses_channels_last


def _cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        # No bias before the batch norm: its gradient is ~0, and Adam would amplify rounding noise there.
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 3),
    )


def _images(rows=96, seed=1):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, 3, 8, 8, generator=gen)
    return X, (X[:, 0].mean((1, 2)) > 0).long() + (X[:, 1].mean((1, 2)) > 0.2).long()


def _fit(model, **settings):
    learner = Learner(model, _images(), loss="cross_entropy", lr=1e-2, batch_size=16, validation=None,
                      progress=False, device="cpu", **settings)
    return learner.fit(3)


def test_channels_last_trains_to_the_same_weights_as_the_default_layout():
    plain = _cnn()
    fast = copy.deepcopy(plain)
    _fit(plain, channels_last=False)
    learner = _fit(fast, channels_last="auto")
    assert learner.channels_last
    assert fast[0].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(fast.state_dict().values(), plain.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    X = _images()[0]
    torch.testing.assert_close(learner.predict(X), plain.eval()(X), rtol=1e-4, atol=1e-5)


def test_channels_last_is_auto_only_for_convolution_networks():
    assert uses_channels_last("auto", _cnn()) is True
    assert uses_channels_last("auto", nn.Linear(3, 2)) is False
    assert uses_channels_last(False, _cnn()) is False
    with pytest.raises(ValueError, match="channels_last='yes'"):
        uses_channels_last("yes", _cnn())
    assert to_channels_last(torch.zeros(2, 3, 4, 4)).is_contiguous(memory_format=torch.channels_last)
    labels = torch.zeros(2, 3, 4, 4, dtype=torch.long)
    assert to_channels_last(labels) is labels


def test_bf16_autocast_trains_close_to_float32_and_keeps_float32_weights():
    plain, fast = _cnn(), _cnn()
    full = _fit(plain, precision="float32")
    half = _fit(fast, precision="bf16")
    assert half.precision == "bf16" and half.closed_form is None
    assert all(p.dtype == torch.float32 for p in fast.parameters())
    assert half.history[-1]["train_loss"] == pytest.approx(full.history[-1]["train_loss"], rel=0.1)
    assert half.predict(_images()[0]).dtype == torch.float32


def test_bf16_on_an_affine_model_goes_through_autograd():
    from learnable.callbacks import Callback

    class RecordsGraph(Callback):
        def __init__(self):
            self.graphs = []

        def after_backward(self, learner):
            self.graphs.append(learner.loss.requires_grad)

    X, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    recorder = RecordsGraph()
    learner = Learner(nn.Linear(4, 2), (X, y), loss="cross_entropy", validation=(X, y), precision="bf16",
                      progress=False, device="cpu", callbacks=[recorder]).fit(2)
    assert learner.closed_form is not None  # built, but not taken under autocast
    assert recorder.graphs == [True] * learner.step == [True] * 2  # every step went through autograd
    assert torch.isfinite(torch.tensor(learner.history[-1]["val_loss"]))


def test_precision_auto_is_float32_on_the_cpu_and_bad_values_are_refused():
    assert resolve_precision("auto", torch.device("cpu")) == "float32"
    assert resolve_precision("tf32", torch.device("cpu")) == "tf32"
    with pytest.raises(ValueError, match=r"precision='fp16'.*'bf16'"):
        Learner(nn.Linear(2, 2), (torch.randn(8, 2), torch.zeros(8).long()), precision="fp16")
    with pytest.raises(ValueError, match="compile='yes'"):
        Learner(nn.Linear(2, 2), (torch.randn(8, 2), torch.zeros(8).long()), compile="yes")


def test_tf32_is_switched_on_only_on_cuda_and_restored():
    before = torch.backends.cuda.matmul.allow_tf32
    with tensor_float_32(torch.device("cpu"), "tf32"):
        assert torch.backends.cuda.matmul.allow_tf32 == before
    with tensor_float_32(torch.device("cuda"), "tf32"):
        assert torch.backends.cuda.matmul.allow_tf32 is True
    assert torch.backends.cuda.matmul.allow_tf32 == before


@pytest.mark.slow
def test_a_compiled_model_trains_to_the_same_weights():
    X = torch.randn(128, 6)
    y = (X[:, 0] > 0).long()

    def fit(compile):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
        Learner(model, (X, y), loss="cross_entropy", batch_size=32, validation=None, progress=False,
                device="cpu", compile=compile).fit(2)
        return model

    for a, b in zip(fit(True).parameters(), fit(False).parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


class _ViewNet(nn.Module):
    """A CNN that flattens with .view(), which needs the default (NCHW) layout."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        h = self.conv(x)
        return self.head(h.view(h.shape[0], -1))


def test_channels_last_auto_steps_back_for_a_model_that_views_its_activations():
    learner = _fit(_ViewNet())
    assert learner.channels_last is False and learner.history[-1]["epoch"] == 3
    assert learner.model.conv.weight.is_contiguous()
    with pytest.raises(ValueError, match=r"try channels_last=False"):
        _fit(_ViewNet(), channels_last=True)


def test_channels_last_touches_only_conv2d_kernels():
    model = nn.Sequential(nn.Conv3d(1, 2, 1), nn.Flatten(1, 2), nn.Conv2d(8, 2, 1))
    learner = Learner(model, (torch.randn(8, 1, 4, 4, 4), torch.randn(8, 2, 4, 4)), loss="mse", validation=None,
                      progress=False, device="cpu")
    assert learner.channels_last and model[2].weight.is_contiguous(memory_format=torch.channels_last)
    assert model[0].weight.is_contiguous()  # 5-D: untouched
    learner.fit(1)


def test_bf16_training_still_validates_and_predicts_in_float32():
    X = torch.randn(64, 3)
    y = X @ torch.tensor([300.0, 500.0, 700.0]) + 2000.0
    model = nn.Linear(3, 1)
    learner = Learner(model, (X, y), loss="mse", validation=(X, y), precision="bf16", progress=False, device="cpu")
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[300.0, 500.0, 700.0]]))
        model.bias.fill_(2000.0)
    torch.testing.assert_close(learner.predict(X).squeeze(1), y, rtol=0, atol=1e-3)  # bf16 would be off by ~8
    assert learner.validate()["val_loss"] < 1e-6


def test_precision_auto_keeps_float32_for_regression(monkeypatch):
    from learnable import losses

    assert resolve_precision("auto", torch.device("cpu"), losses.get("cross_entropy")) == "float32"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a GPU of compute capability 8.0
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    cuda = torch.device("cuda")
    assert resolve_precision("auto", cuda, losses.get("cross_entropy")) == "bf16"
    assert resolve_precision("auto", cuda, losses.get("mse")) == "float32"
    assert resolve_precision("auto", cuda, losses.get("mae")) == "float32"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # emulated bf16
    assert resolve_precision("auto", cuda, losses.get("cross_entropy")) == "float32"
