"""Per-layer statistics: the numbers match what they claim, sampled at the interval, no training change."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from learnable import Learner
from learnable.callbacks import Statistics


def _data(rows=256, features=6):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(rows, features, generator=gen)
    return X, (X[:, 0] > 0).long()


def _fit(model, every=2, epochs=1, **options):
    learner = Learner(model, _data(), validation=None, batch_size=32, progress=False,
                      callbacks=[Statistics(every=every)], **options)
    return learner.fit(epochs)


def test_dead_relus_from_a_negative_bias_are_counted():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    with torch.no_grad():
        model[2].bias.fill_(-100.0)  # the second ReLU never fires
    stats = _fit(model).history[-1]["stats"]
    assert stats["activations"]["3"]["dead"] == 1.0
    assert stats["activations"]["1"]["dead"] < 0.5


def test_saturated_tanh_is_measured():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))
    with torch.no_grad():
        model[0].weight.mul_(1000.0)
    stats = _fit(model).history[-1]["stats"]
    assert stats["activations"]["1"]["saturated"] > 0.9


def test_sampling_interval_and_parameter_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    learner = _fit(model, every=4, optimizer="sgd", lr=0.1)
    stats = learner.history[-1]["stats"]
    assert stats["samples"] == 2  # 8 steps, sampled at steps 0 and 4
    assert set(stats["parameters"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    weight = stats["parameters"]["0.weight"]
    assert weight["norm"] > 0 and weight["grad_norm"] > 0
    # plain SGD: the update is lr * gradient, so the ratio is lr * |g| / |w| at each sample
    assert weight["update_ratio"] == pytest.approx(0.1 * weight["grad_norm"] / weight["norm"], rel=0.3)
    assert all(math.isfinite(v) for p in stats["parameters"].values() for v in p.values())


def test_statistics_do_not_change_training():
    def run(callbacks):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
        Learner(model, _data(), validation=None, batch_size=32, progress=False, callbacks=callbacks).fit(2)
        return model

    plain, watched = run([]), run([Statistics(every=1)])
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), watched.parameters(), strict=True))


def test_hooks_are_removed_between_samples():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    learner = _fit(model, every=3)
    assert not model[1]._forward_hooks
    assert learner.history[-1]["stats"]["samples"] == 3


def test_a_bad_interval_is_refused():
    with pytest.raises(ValueError, match=r"Statistics every=0 must be a whole number >= 1, for example .*, or 'auto'"):
        Statistics(every=0)


def test_the_learner_watches_by_default_about_twice_an_epoch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    learner = Learner(model, _data(), validation=None, batch_size=32, progress=False).fit(2)  # 8 steps per epoch
    assert [type(c).__name__ for c in learner.callbacks].count("Statistics") == 1
    assert [e["stats"]["samples"] for e in learner.history] == [2, 2]  # every 4 steps
    assert learner.history[-1]["lr"] == pytest.approx(1e-3)


def test_statistics_none_turns_it_off_and_a_callback_of_your_own_replaces_the_default():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    off = Learner(model, _data(), validation=None, progress=False, statistics=None).fit(1)
    assert "stats" not in off.history[-1]
    own = Learner(model, _data(), validation=None, batch_size=32, progress=False, callbacks=[Statistics(every=8)])
    assert [type(c).__name__ for c in own.callbacks].count("Statistics") == 1
    assert own.fit(1).history[-1]["stats"]["samples"] == 1


def test_activation_histograms_count_every_sampled_value_in_range():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))
    stats = _fit(model, every=2).history[-1]["stats"]  # 8 steps of 32 rows: 4 samples
    histogram = stats["activations"]["1"]["histogram"]
    assert len(histogram["counts"]) == 40
    assert sum(histogram["counts"]) == 4 * 32 * 16  # every sampled value counted once
    assert -1.1 < histogram["low"] < histogram["high"] < 1.1  # tanh's range, widened by 5%


def test_histogram_oracle_on_one_sample():
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2))
    captured = []
    model[1].register_forward_hook(lambda m, i, o: captured.append(o.detach().clone()))
    stats = _fit(model, every=100).history[-1]["stats"]  # one sample: step 0
    values = captured[1].double().flatten().numpy()  # captured[0] is the Learner's two-row shape check
    histogram = stats["activations"]["1"]["histogram"]
    edges = np.linspace(histogram["low"], histogram["high"], 41)
    expected, _ = np.histogram(values, bins=edges)
    assert histogram["counts"] == expected.tolist()


def test_a_run_resumed_mid_epoch_keeps_the_epochs_statistics(tmp_path):
    from learnable.callbacks import Checkpoint

    def learner(callbacks=()):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
        return Learner(model, _data(), validation=None, batch_size=32, progress=False, statistics=2,
                       callbacks=list(callbacks))

    whole = learner().fit(2).history

    class Crash(Checkpoint):
        def after_batch(self, learner):
            super().after_batch(learner)
            if learner.step == 11:
                raise SystemExit("crash")

    with pytest.raises(SystemExit):
        learner([Crash(tmp_path, every_steps=1)]).fit(2)
    resumed = learner().fit(2, resume=tmp_path).history
    assert resumed[-1]["stats"] == whole[-1]["stats"]


class _Shared(nn.Module):
    """One ReLU module applied after layers of two widths, and a parameter the loss never reaches."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Linear(6, 6)
        self.a, self.b, self.c = nn.Linear(6, 16), nn.Linear(16, 8), nn.Linear(8, 2)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.c(self.act(self.b(self.act(self.a(x)))))


def test_a_module_called_twice_is_measured_per_call_and_unused_parameters_have_no_gradient():
    torch.manual_seed(0)
    stats = _fit(_Shared()).history[-1]["stats"]
    assert set(stats["activations"]) == {"act", "act#2"}
    assert "grad_norm" not in stats["parameters"]["unused.weight"]  # not a vanishing gradient: no gradient at all
    assert stats["parameters"]["a.weight"]["grad_norm"] > 0


def test_models_without_activation_modules_still_get_parameter_statistics():
    stats = _fit(nn.Linear(6, 2)).history[-1]["stats"]
    assert stats["samples"] == 4 and stats["activations"] == {}
    assert stats["parameters"]["weight"]["update_ratio"] > 0


def test_only_relus_can_die_and_sequences_count_features_as_units():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.1), nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    with torch.no_grad():
        model[0].bias.fill_(-0.5)  # a LeakyReLU below zero is not dead: it passes 0.1 of the gradient
        model[2].bias[:16] = -100.0  # half of the 32 features never fire, at every position
    X, y = torch.randn(64, 10, 4), torch.randint(0, 2, (64, 10))
    learner = Learner(model, (X, y), loss=lambda out, target: nn.functional.cross_entropy(out.flatten(0, 1),
                      target.flatten()), validation=None, batch_size=32, progress=False, statistics=1).fit(1)
    activations = learner.history[-1]["stats"]["activations"]
    assert "dead" not in activations["1"]  # LeakyReLU keeps a gradient below zero
    assert activations["3"]["dead"] == 0.5


def test_non_finite_activations_keep_finite_histogram_bounds():
    from learnable.callbacks import NonFiniteGuard

    X, y = _data()
    X[0, 0] = float("inf")
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    learner = Learner(model, (X, y), validation=None, batch_size=32, progress=False, statistics=1,
                      callbacks=[NonFiniteGuard("skip")], seed=0).fit(1)
    histogram = learner.history[-1]["stats"]["activations"]["1"]
    assert math.isfinite(histogram["histogram"]["low"]) and math.isfinite(histogram["histogram"]["high"])
    assert histogram.get("nonfinite", 0) > 0


def test_a_relu_on_a_one_dimensional_output_is_one_unit():
    class Squeeze(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear, self.act = nn.Linear(6, 1), nn.ReLU()

        def forward(self, x):
            return self.act(self.linear(x)[:, 0])

    X, y = _data()
    learner = Learner(Squeeze(), (X, y.float()), validation=None, batch_size=32, progress=False, statistics=1).fit(1)
    assert learner.history[-1]["stats"]["activations"]["act"]["dead"] in (0.0, 1.0)


def test_a_zero_weight_has_no_update_ratio_until_it_moves():
    model = nn.Linear(6, 2)
    with torch.no_grad():
        model.weight.zero_()
    stats = _fit(model, every=100).history[-1]["stats"]  # the only sample is step 0, with the weight at zero
    assert "update_ratio" not in stats["parameters"]["weight"] and "update_ratio" in stats["parameters"]["bias"]


class _Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        out, _ = self.lstm(x.unsqueeze(-1))  # (B, T, 8); the LSTM module itself returns a tuple
        return self.head(out[:, -1])


def test_an_lstm_is_measured_through_its_outputs():
    torch.manual_seed(0)
    model = _Recurrent()
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layer may be skipped as unmeasurable
        learner = Learner(model, (X[:, :5], y), validation=None, batch_size=32, progress=False,
                          callbacks=[Statistics(every=1)]).fit(1)
    lstm = learner.history[-1]["stats"]["activations"]["lstm"]
    with torch.no_grad():
        out, _ = model.lstm(X[:, :5].unsqueeze(-1))
    assert 0 < lstm["std"] < 1  # tanh-bounded hidden states
    assert abs(lstm["mean"]) < 1 and sum(lstm["histogram"]["counts"]) > 0
    assert out.abs().max() < 1 and 0 <= lstm["saturated"] < 0.5  # a fresh LSTM is far from saturation


def test_a_saturated_gru_is_reported():
    torch.manual_seed(0)
    model = _Recurrent()
    model.lstm = nn.GRU(1, 8, batch_first=True)
    with torch.no_grad():
        model.lstm.weight_ih_l0.fill_(1000.0)  # every candidate state is pushed to +-1
    X, y = _data()
    learner = Learner(model, (X[:, :5], y), validation=None, batch_size=32, progress=False,
                      callbacks=[Statistics(every=1)], optimizer="sgd", lr=1e-6).fit(1)
    assert learner.history[-1]["stats"]["activations"]["lstm"]["saturated"] > 0.5  # the doctor's threshold
