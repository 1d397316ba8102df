"""Metrics against scikit-learn on random data, accumulated over several update() calls."""

import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
import torch

from learnable import metrics

N = 240
BATCHES = [37, 100, 64, 39]  # uneven batch sizes that sum to N


def _batches(output, target):
    return zip(torch.split(output, BATCHES), torch.split(target, BATCHES), strict=True)


def _compute(name, output, target):
    """The metric accumulated over the batches of (output, target)."""
    metric = metrics.get(name)
    for out, tgt in _batches(output, target):
        metric.update(out, tgt)
    return metric.compute()


def _sklearn(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division and absent-class warnings
        return float(function(*args, **kwargs))


def _softmax(scores):
    return torch.softmax(scores.double(), dim=1).numpy()


def _sigmoid(logits):
    return torch.sigmoid(logits.double().reshape(-1)).numpy()


LABEL_METRICS = {
    "accuracy": lambda t, p: skm.accuracy_score(t, p),
    "balanced_accuracy": lambda t, p: skm.balanced_accuracy_score(t, p),
    "precision": lambda t, p: skm.precision_score(t, p, average="macro", zero_division=0),
    "recall": lambda t, p: skm.recall_score(t, p, average="macro", zero_division=0),
    "f1": lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0),
}


def _multiclass(seed, classes=4):
    gen = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (N,), generator=gen)
    # Scores that favour the true class, so the scores are neither perfect nor chance.
    scores = torch.randn(N, classes, generator=gen) + 1.5 * torch.nn.functional.one_hot(target, classes)
    return scores, target


def _binary(seed, shape=(N, 1)):
    gen = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 2, (N,), generator=gen)
    logits = torch.randn(*shape, generator=gen) + (target.float() - 0.5).reshape(-1, *shape[1:])
    return logits, target


@pytest.mark.parametrize("name", sorted(LABEL_METRICS))
@pytest.mark.parametrize("seed", [0, 1])
def test_label_metrics_on_multicolumn_scores_equal_sklearn(name, seed):
    scores, target = _multiclass(seed)
    expected = _sklearn(LABEL_METRICS[name], target.numpy(), scores.argmax(1).numpy())
    assert _compute(name, scores, target) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name", sorted(LABEL_METRICS))
@pytest.mark.parametrize("shape", [(N, 1), (N,)])
def test_label_metrics_on_one_logit_per_row_equal_sklearn(name, shape):
    logits, target = _binary(2, shape)
    predicted = (logits.reshape(-1) > 0).long().numpy()
    expected = _sklearn(LABEL_METRICS[name], target.numpy(), predicted)
    assert _compute(name, logits, target) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name", sorted(LABEL_METRICS))
def test_label_metrics_with_absent_and_never_predicted_classes_equal_sklearn(name):
    scores, target = _multiclass(3, classes=5)
    target = torch.where(target == 4, torch.zeros_like(target), target)  # class 4 never occurs
    scores[:, 4] += 10 * (torch.arange(N) % 7 == 0)  # ... but is predicted now and then
    scores[:, 3] = -100  # class 3 occurs but is never predicted
    predicted = scores.argmax(1)
    assert 4 in predicted and 3 not in predicted and 3 in target and 4 not in target
    expected = _sklearn(LABEL_METRICS[name], target.numpy(), predicted.numpy())
    assert _compute(name, scores, target) == pytest.approx(expected, abs=1e-12)


def test_accuracy_docstring_example():
    metric = metrics.get("accuracy")
    metric.update(torch.tensor([[2.0, 0.1], [0.3, 0.9]]), torch.tensor([0, 0]))
    assert metric.compute() == 0.5


@pytest.mark.parametrize("shape", [(N, 1), (N,)])
def test_roc_auc_with_ties_equals_sklearn(shape):
    logits, target = _binary(4, shape)
    logits = torch.round(logits * 2) / 2  # few distinct values: many ties across both classes
    assert len(torch.unique(logits)) < 15
    expected = skm.roc_auc_score(target.numpy(), logits.reshape(-1).numpy())
    assert _compute("roc_auc", logits, target) == pytest.approx(expected, abs=1e-12)


def test_roc_auc_on_two_column_scores_uses_the_score_difference():
    scores, target = _multiclass(5, classes=2)
    expected = skm.roc_auc_score(target.numpy(), _softmax(scores)[:, 1])
    assert _compute("roc_auc", scores, target) == pytest.approx(expected, abs=1e-12)


def test_roc_auc_rejects_more_than_two_columns():
    scores, target = _multiclass(6, classes=3)
    with pytest.raises(ValueError, match="roc_auc .* binary"):
        metrics.get("roc_auc").update(scores, target)


def test_roc_auc_with_one_class_only_is_nan():
    metric = metrics.get("roc_auc")
    metric.update(torch.randn(10, 1), torch.ones(10, dtype=torch.long))
    assert math.isnan(metric.compute())


@pytest.mark.parametrize("shape", [(N, 1), (N,)])
def test_binary_log_loss_on_one_logit_equals_sklearn(shape):
    logits, target = _binary(7, shape)
    logits = logits.float()
    expected = skm.log_loss(target.numpy(), _sigmoid(logits), labels=[0, 1])
    assert _compute("log_loss", logits, target) == pytest.approx(expected, rel=1e-6)


def test_binary_log_loss_accepts_float_targets():
    logits, target = _binary(8)
    expected = skm.log_loss(target.numpy(), _sigmoid(logits), labels=[0, 1])
    assert _compute("log_loss", logits, target.float()) == pytest.approx(expected, rel=1e-6)


def test_multiclass_log_loss_equals_sklearn():
    scores, target = _multiclass(9)
    expected = skm.log_loss(target.numpy(), _softmax(scores), labels=[0, 1, 2, 3])
    assert _compute("log_loss", scores, target) == pytest.approx(expected, rel=1e-6)


def _regression(seed):
    gen = torch.Generator().manual_seed(seed)
    target = torch.randn(N, generator=gen) * 3 + 1
    output = (target + torch.randn(N, generator=gen)).reshape(N, 1)
    return output, target


REGRESSION_METRICS = {
    "rmse": lambda t, p: np.sqrt(skm.mean_squared_error(t, p)),
    "mae": skm.mean_absolute_error,
    "r2": skm.r2_score,
}


@pytest.mark.parametrize("name", sorted(REGRESSION_METRICS))
@pytest.mark.parametrize("seed", [0, 1])
def test_regression_metrics_equal_sklearn(name, seed):
    output, target = _regression(seed)
    expected = REGRESSION_METRICS[name](target.double().numpy(), output.reshape(-1).double().numpy())
    assert _compute(name, output, target) == pytest.approx(expected, rel=1e-9)


def test_r2_of_a_poor_model_is_negative_like_sklearn():
    output, target = _regression(3)
    output = -output
    expected = skm.r2_score(target.numpy(), output.reshape(-1).numpy())
    assert expected < 0
    assert _compute("r2", output, target) == pytest.approx(expected, rel=1e-6)


def test_one_update_equals_several_updates():
    scores, target = _multiclass(10)
    for name in ["accuracy", "f1", "log_loss"]:
        whole = metrics.get(name)
        whole.update(scores, target)
        assert whole.compute() == pytest.approx(_compute(name, scores, target), rel=1e-9)


def test_reset_forgets_earlier_updates():
    scores, target = _multiclass(11)
    metric = metrics.get("accuracy")
    metric.update(scores, torch.zeros_like(target))
    metric.reset()
    metric.update(scores, target)
    expected = skm.accuracy_score(target.numpy(), scores.argmax(1).numpy())
    assert metric.compute() == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(metrics.METRICS))
def test_compute_before_any_update_is_nan(name):
    assert math.isnan(metrics.get(name).compute())


def test_metric_registry_and_directions():
    assert set(metrics.METRICS) == {
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "rmse",
        "mae",
        "r2",
    }
    lower = {name for name, cls in metrics.METRICS.items() if not cls.higher_is_better}
    assert lower == {"log_loss", "rmse", "mae"}


def test_get_returns_a_fresh_metric_or_the_instance_given():
    first, second = metrics.get("accuracy"), metrics.get("accuracy")
    assert first is not second
    assert metrics.get(first) is first


def test_get_unknown_metric_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown metric 'auc'; choose one of .*'roc_auc'"):
        metrics.get("auc")


def test_predicted_labels_reads_one_column_as_a_logit_and_several_as_scores():
    assert metrics.predicted_labels(torch.tensor([[0.3], [-0.2], [0.0]])).tolist() == [1, 0, 0]
    assert metrics.predicted_labels(torch.tensor([0.3, -0.2])).tolist() == [1, 0]
    assert metrics.predicted_labels(torch.tensor([[0.1, 0.5, 0.2], [2.0, 0.0, 1.0]])).tolist() == [1, 0]
