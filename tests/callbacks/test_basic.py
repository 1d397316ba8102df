"""Events and callbacks on a tiny synthetic model: order, stopping, early stopping, clipping,
schedules, history, the non-finite guard and the progress lines."""

import io
import math

import pytest
import torch
from torch import nn

from learnable import Learner
from learnable.callbacks import (
    EVENTS,
    Callback,
    EarlyStopping,
    GradientClipping,
    LRSchedule,
    NonFiniteError,
    NonFiniteGuard,
    ProgressBar,
    StopTraining,
)

ROWS, FEATURES, CLASSES = 64, 3, 2


def _data(seed=0, rows=ROWS):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, FEATURES, generator=gen)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def _learner(callbacks=(), *, validation="pair", batch_size=32, lr=1e-2, **kwargs):
    torch.manual_seed(0)
    model = nn.Linear(FEATURES, CLASSES)
    if validation == "pair":
        validation = _data(seed=1, rows=32)
    options = {"loss": "cross_entropy", "optimizer": "sgd", "lr": lr, "batch_size": batch_size}
    options.update(kwargs)
    return Learner(
        model, _data(), validation=validation, callbacks=callbacks, progress=False, device="cpu", seed=0, **options
    )


class Recorder(Callback):
    """Records every event it sees, as (tag, event)."""

    def __init__(self, log, tag="rec", order=0):
        self.log, self.tag, self.order = log, tag, order
        for event in EVENTS:
            setattr(self, event, self._recorder(event))

    def _recorder(self, event):
        def record(learner):
            self.log.append((self.tag, event))

        return record


BATCH = ["before_batch", "after_predict", "after_loss", "after_backward", "after_step", "after_batch"]


def test_events_fire_in_the_documented_order_for_one_epoch_of_two_batches():
    log = []
    _learner([Recorder(log)]).fit(1)
    expected = (
        ["before_fit", "before_epoch"]
        + BATCH
        + BATCH
        + ["before_validate", "after_validate", "after_epoch", "after_fit"]
    )
    assert [event for _, event in log] == expected
    assert set(expected) == set(EVENTS)


def test_events_without_validation_skip_the_validation_events():
    log = []
    _learner([Recorder(log)], validation=None).fit(1)
    assert [event for _, event in log] == ["before_fit", "before_epoch"] + BATCH + BATCH + ["after_epoch", "after_fit"]


def test_callbacks_run_in_order_lowest_first_whatever_order_they_were_given():
    log = []
    callbacks = [Recorder(log, "late", order=7), Recorder(log, "early", order=-3), Recorder(log, "middle", order=0)]
    learner = _learner(callbacks)
    learner.fit(1)
    per_event = [tag for tag, event in log if event == "after_step"]
    assert per_event == ["early", "middle", "late"] * 2
    orders = [c.order for c in learner.callbacks]
    assert orders == sorted(orders)
    kinds = [type(c).__name__ for c in learner.callbacks]
    assert kinds[:2] == ["Statistics", "History"]  # statistics first, then History records before anyone can stop


def test_callback_sees_the_learner_state_at_each_event():
    seen = {}

    class Spy(Callback):
        def after_predict(self, learner):
            seen.setdefault("output", learner.output.shape)

        def after_loss(self, learner):
            seen.setdefault("loss", learner.loss.ndim)

        def after_backward(self, learner):
            seen.setdefault("grad", learner.model.weight.grad is not None)

        def after_epoch(self, learner):
            seen["epoch"] = learner.epoch
            seen["metrics"] = set(learner.metrics)

    _learner([Spy()], metrics=["accuracy"]).fit(2)
    assert seen["output"] == (32, CLASSES) and seen["loss"] == 0 and seen["grad"]
    assert seen["epoch"] == 2
    assert {"epoch", "train_loss", "val_loss", "val_accuracy", "seconds"} <= seen["metrics"]


def test_stop_training_in_after_batch_stops_at_once_and_still_calls_after_fit():
    log = []

    class StopAfterFirstBatch(Callback):
        order = 1

        def after_batch(self, learner):
            raise StopTraining("enough after one batch")

    learner = _learner([Recorder(log, order=0), StopAfterFirstBatch(), Recorder(log, "after", order=2)])
    weights = learner.model.weight.detach().clone()
    learner.fit(5)
    assert learner.stop_reason == "enough after one batch"
    assert learner.step == 1 and learner.epoch == 0 and learner.history == []
    assert [e for t, e in log if t == "rec"] == ["before_fit", "before_epoch", *BATCH, "after_fit"]
    # The later callback never saw the interrupted after_batch, but it did see after_fit.
    assert [e for t, e in log if t == "after"][-2:] == ["after_step", "after_fit"]
    assert not torch.equal(learner.model.weight, weights)  # the one step was taken
    assert not learner.model.training


def test_stop_reason_is_cleared_by_the_next_fit():
    class StopOnce(Callback):
        fired = False

        def after_epoch(self, learner):
            if not self.fired:
                self.fired = True
                raise StopTraining("first fit only")

    learner = _learner([StopOnce()]).fit(3)
    assert learner.stop_reason == "first fit only" and learner.epoch == 1
    learner.fit(2)
    assert learner.stop_reason == "" and learner.epoch == 3


# ---- EarlyStopping -------------------------------------------------------------------------------
class Scripted(Callback):
    """Writes a scripted value of ``key`` into the metrics and snapshots the weights each epoch."""

    order = 0  # before EarlyStopping (10)

    def __init__(self, key, values):
        self.key, self.values, self.snapshots = key, values, {}

    def after_epoch(self, learner):
        learner.metrics[self.key] = self.values[learner.epoch - 1]
        self.snapshots[learner.epoch] = {k: v.clone() for k, v in learner.model.state_dict().items()}


def _assert_weights(model, state):
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)


def test_early_stopping_stops_after_patience_epochs_and_restores_the_best_weights():
    script = Scripted("score", [3.0, 2.0, 2.5, 2.1, 2.2, 1.0, 0.5])
    stopper = EarlyStopping(monitor="score", mode="min", patience=3)
    learner = _learner([script, stopper]).fit(7)
    assert learner.epoch == 5  # best in epoch 2, then 3, 4, 5 without improvement
    assert "score has not improved for 3 epochs" in learner.stop_reason
    assert "best 2 in epoch 2" in learner.stop_reason
    assert stopper.best == 2.0 and stopper.best_epoch == 2
    assert len(learner.history) == 5  # the stopping epoch is recorded too
    _assert_weights(learner.model, script.snapshots[2])
    assert not torch.equal(script.snapshots[2]["weight"], script.snapshots[5]["weight"])


def test_early_stopping_without_restore_keeps_the_last_weights():
    script = Scripted("score", [1.0, 2.0, 3.0])
    learner = _learner([script, EarlyStopping(monitor="score", mode="min", patience=2, restore_best=False)]).fit(5)
    assert learner.epoch == 3
    _assert_weights(learner.model, script.snapshots[3])


def test_early_stopping_min_delta_ignores_tiny_improvements():
    script = Scripted("score", [1.0, 0.99, 0.98, 0.5])
    learner = _learner([script, EarlyStopping(monitor="score", mode="min", patience=2, min_delta=0.05)]).fit(4)
    assert learner.epoch == 3


def test_early_stopping_on_val_accuracy_maximises_by_default():
    stopper = EarlyStopping(monitor="val_accuracy", patience=2)
    assert not stopper.minimize
    script = Scripted("val_accuracy", [0.5, 0.8, 0.7, 0.79, 0.9])
    learner = _learner([script, stopper], metrics=["accuracy"]).fit(5)
    assert learner.epoch == 4 and stopper.best == 0.8 and stopper.best_epoch == 2
    _assert_weights(learner.model, script.snapshots[2])


@pytest.mark.parametrize(
    ("monitor", "minimize"),
    [("val_loss", True), ("train_loss", True), ("val_rmse", True), ("val_log_loss", True), ("val_f1", False)],
)
def test_early_stopping_auto_mode_knows_which_way_is_better(monitor, minimize):
    assert EarlyStopping(monitor=monitor).minimize is minimize
    assert EarlyStopping(monitor=monitor, mode="max" if minimize else "min").minimize is not minimize


def test_early_stopping_on_real_validation_loss_stops_when_training_stalls():
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)  # nothing improves by 10
    learner = _learner([stopper]).fit(10)
    assert learner.epoch == 2 and stopper.best_epoch == 1
    assert stopper.best == pytest.approx(learner.history[0]["val_loss"])


def test_early_stopping_without_validation_data_fails_before_any_step():
    learner = _learner([EarlyStopping(monitor="val_loss")], validation=None)
    with pytest.raises(ValueError, match=r"monitors 'val_loss', but the Learner has no validation data"):
        learner.fit(2)
    assert learner.step == 0


def test_early_stopping_on_a_metric_the_run_does_not_measure_is_a_clear_error():
    learner = _learner([EarlyStopping(monitor="val_f1")])
    with pytest.raises(ValueError, match=r"monitors 'val_f1', which this run does not measure"):
        learner.fit(2)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"mode": "up"}, r"EarlyStopping mode='up' is not known; choose one of \['auto', 'min', 'max'\]"),
     ({"patience": 0}, r"EarlyStopping patience=0 must be a whole number >= 1")],
)
def test_early_stopping_rejects_bad_settings(options, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**options)


# ---- GradientClipping ----------------------------------------------------------------------------
class GradNorms(Callback):
    def __init__(self, order):
        self.order, self.norms = order, []

    def after_backward(self, learner):
        grads = [p.grad for p in learner.model.parameters()]
        self.norms.append(torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads])).item())


def test_gradient_clipping_bounds_the_global_gradient_norm():
    max_norm = 0.05
    before, after = GradNorms(order=-1), GradNorms(order=1)  # GradientClipping has order 0
    _learner([after, GradientClipping(max_norm), before]).fit(2)
    assert len(after.norms) == 4
    assert all(n > max_norm for n in before.norms)  # the bound really bites
    assert all(n <= max_norm * (1 + 1e-5) for n in after.norms)
    assert after.norms == pytest.approx([max_norm] * 4, rel=1e-4)


def test_gradient_clipping_leaves_small_gradients_alone():
    before, after = GradNorms(order=-1), GradNorms(order=1)
    _learner([before, GradientClipping(1e6), after]).fit(1)
    assert after.norms == pytest.approx(before.norms, rel=1e-7)


def test_gradient_clipping_rejects_a_non_positive_norm():
    with pytest.raises(ValueError, match=r"GradientClipping max_norm=0 must be a finite number > 0"):
        GradientClipping(0)


# ---- LRSchedule ----------------------------------------------------------------------------------
class StepRates(Callback):
    def __init__(self):
        self.rates = []

    def before_batch(self, learner):
        self.rates.append(learner.optimizer.param_groups[0]["lr"])


def test_lr_schedule_changes_the_rate_every_step_and_records_it():
    rates, lr = StepRates(), 0.1
    learner = _learner([LRSchedule("cosine", min_factor=0.1), rates], validation=None, lr=lr).fit(3)
    total = 6  # 3 epochs of 2 batches
    expected = [lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / total))) for k in range(total)]
    assert rates.rates == pytest.approx(expected)
    assert learner.metrics["lr"] == pytest.approx(0.1 * lr)


def test_lr_schedule_accepts_a_schedule_config_with_warmup():
    from learnable.optim import ScheduleConfig

    rates = StepRates()
    _learner([LRSchedule(ScheduleConfig("constant", warmup=0.5)), rates], validation=None, lr=0.1).fit(2)
    assert rates.rates == pytest.approx([0.001, 0.0505, 0.1, 0.1])


def test_history_records_the_learning_rate_of_each_epoch():
    learner = _learner([LRSchedule("step", step_fraction=0.5, gamma=0.1)], validation=None, lr=0.1).fit(2)
    assert [record["lr"] for record in learner.history] == pytest.approx([0.01, 0.001])


def test_lr_schedule_on_a_second_fit_runs_a_whole_schedule():
    rates = StepRates()
    learner = _learner([LRSchedule("cosine"), rates], validation=None, lr=0.1)
    learner.fit(2)
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    learner.fit(2)
    assert rates.rates[4] == pytest.approx(0.1)  # a fresh cosine starts at the full rate ...
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # ... and ends at 0


def test_one_cycle_on_a_second_fit_peaks_at_the_learning_rate_again():
    rates = StepRates()
    learner = _learner([LRSchedule("one_cycle"), rates], validation=None, lr=0.1, batch_size=8)
    learner.fit(2)
    assert max(rates.rates) == pytest.approx(0.1, rel=1e-2)
    learner.fit(2)
    assert max(rates.rates[16:]) == pytest.approx(0.1, rel=1e-2)


# ---- History -------------------------------------------------------------------------------------
def test_history_records_one_dict_per_epoch():
    learner = _learner(metrics=["accuracy"]).fit(3)
    history = learner.history
    assert [record["epoch"] for record in history] == [1, 2, 3]
    for record in history:
        assert {"epoch", "train_loss", "val_loss", "val_accuracy", "seconds"} <= set(record)
        assert math.isfinite(record["train_loss"]) and 0 <= record["val_accuracy"] <= 1
    assert history[0] is not history[1]  # copies, not the same live dict
    assert history[-1]["val_loss"] == pytest.approx(learner.validate()["val_loss"])


def test_history_train_loss_is_the_mean_of_the_batch_losses():
    class BatchLosses(Callback):
        losses = []

        def after_batch(self, learner):
            self.losses.append(learner.loss.item())

    batches = BatchLosses()
    learner = _learner([batches], validation=None).fit(1)
    assert learner.history[0]["train_loss"] == pytest.approx(sum(batches.losses) / 2)


# ---- NonFiniteGuard ------------------------------------------------------------------------------
def test_non_finite_guard_raises_naming_the_epoch_and_the_first_bad_step():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(ROWS, FEATURES, generator=gen) * 1e25  # (X w)^2 overflows float32
    y = torch.randn(ROWS, generator=gen)
    learner = Learner(nn.Linear(FEATURES, 1), (X, y), loss="mse", validation=None, progress=False, device="cpu")
    with pytest.raises(NonFiniteError, match=r"NaN or infinite at step 1 \(epoch 1\): training diverged.*Lower"):
        learner.fit(5)
    assert learner.epoch == 1 and learner.outcome == "failed"


def test_non_finite_guard_raises_on_a_huge_learning_rate():
    learner = Learner(nn.Linear(FEATURES, 1), (_data()[0], _data()[0].sum(1)), loss="mse", optimizer="sgd",
                      lr=1e10, batch_size=8, validation=None, progress=False, device="cpu")
    with pytest.raises(NonFiniteError, match=r"diverged.*1e\+10"):
        learner.fit(10)
    assert learner.epoch < 10


def test_non_finite_guard_skip_leaves_the_weights_unchanged_and_counts():
    X, y = _data()
    X[3] = float("nan")  # every epoch, the batch holding row 3 has a NaN loss
    model = nn.Linear(FEATURES, 2)
    learner = Learner(model, (X, y), loss="cross_entropy", batch_size=8, validation=None, progress=False,
                      device="cpu", callbacks=[NonFiniteGuard("skip")])
    learner.fit(3)
    assert learner.skipped_steps == 3 and learner.history[-1]["skipped_steps"] == 3
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(math.isfinite(h["train_loss"]) for h in learner.history)


def test_a_skipped_step_changes_nothing():
    model = nn.Linear(2, 2)
    before = [p.detach().clone() for p in model.parameters()]
    X, y = torch.full((4, 2), float("inf")), torch.tensor([0, 1, 0, 1])
    learner = Learner(model, (X, y), batch_size=4, validation=None, progress=False, device="cpu",
                      callbacks=[NonFiniteGuard("skip")])
    learner.fit(1)
    assert learner.skipped_steps == 1
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert learner.optimizer.state_dict()["state"] == {}  # Adam never stepped


def test_non_finite_guard_policy_is_checked():
    with pytest.raises(ValueError, match=r"NonFiniteGuard policy='ignore' is not known; choose one of \['raise'"):
        NonFiniteGuard("ignore")


# ---- ProgressBar ---------------------------------------------------------------------------------
def test_progress_bar_prints_one_plain_line_per_epoch_to_a_file():
    out = io.StringIO()
    learner = _learner([ProgressBar(file=out)], metrics=["accuracy"]).fit(3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        record = learner.history[epoch - 1]
        assert line.startswith(f"epoch {epoch}/3  ")
        assert f"train_loss {record['train_loss']:.4f}" in line
        assert f"val_loss {record['val_loss']:.4f}" in line
        assert f"val_accuracy {record['val_accuracy']:.4f}" in line
        assert line.endswith("s")
    assert "\x1b" not in out.getvalue()  # no terminal escape codes in a file


def test_progress_bar_prints_the_stop_reason():
    out = io.StringIO()
    script = Scripted("score", [1.0, 2.0, 3.0])
    _learner([ProgressBar(file=out), script, EarlyStopping(monitor="score", mode="min", patience=1)]).fit(3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # the stopping epoch is printed, then the reason
    assert lines[1].startswith("epoch 2/3")
    assert lines[2].startswith("stopped: score has not improved for 1 epochs")


def test_progress_bar_prints_a_stop_reason_with_brackets_verbatim():
    class Stop(Callback):
        def after_epoch(self, learner):
            raise StopTraining("target [val_loss] reached")

    out = io.StringIO()
    _learner([ProgressBar(file=out), Stop()]).fit(2)
    assert out.getvalue().splitlines()[-1] == "stopped: target [val_loss] reached"


def test_progress_false_adds_no_progress_bar():
    assert not any(isinstance(c, ProgressBar) for c in _learner().callbacks)
