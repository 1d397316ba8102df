"""The doctor: each planted fault, trained for real in a second or two, triggers its finding; healthy runs none.

The planted runs go through the three ways a run reaches the doctor: a Learner after ``fit`` (its
``record_of``), a record read back from the run store (``RecordRun`` + ``RunStore.load_record``) and ``learnable.fit``'s
``FittedModel.diagnose``; one goes through the ``learnable doctor`` command. The rules are also checked on
hand-made records.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import learnable
from learnable import Learner
from learnable.callbacks import EarlyStopping, NonFiniteError
from learnable.cli import app
from learnable.insight import Finding, diagnose
from learnable.insight.doctor import SEVERITIES
from learnable.runs import RecordRun, RunStore
from learnable.runs.recorder import record_of

runner = CliRunner()


def _data(rows=600, features=8, seed=0):
    """A well-posed binary classification: a noisy linear boundary."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, features, generator=gen)
    w = torch.randn(features, generator=gen)
    y = (X @ w + 0.3 * torch.randn(rows, generator=gen) > 0).long()
    return X, y


def _mlp(features=8, hidden=32, depth=2, activation=nn.ReLU, outputs=2):
    torch.manual_seed(0)
    layers, width = [], features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, outputs))


def _codes(findings):
    return [f.code for f in findings]


def _find(findings, code):
    found = [f for f in findings if f.code == code]
    assert found, f"no {code} in {_codes(findings)}"
    return found[0]


def _train(model, data, epochs, **options):
    return Learner(model, data, progress=False, **options).fit(epochs)


def _recorded(tmp_path, name, model, data, callbacks=(), step_interval=10, **options):
    """A Learner that records its run (RecordRun) in a run store in tmp_path; the store, the run id, the Learner."""
    store = RunStore(tmp_path)
    run_id = store.create(name)
    recorder = RecordRun(store, run_id, step_interval=step_interval)
    learner = Learner(model, data, progress=False, callbacks=[recorder, *callbacks], **options)
    return store, run_id, learner


# ---- healthy runs: nothing to report -------------------------------------------------------------
def test_a_healthy_learner_run_has_no_findings():
    learner = _train(_mlp(), _data(), 100, lr=1e-2, callbacks=[EarlyStopping(patience=5)])
    assert learner.stop_reason  # early stopping ended it, keeping the best weights
    assert diagnose(record_of(learner)) == []


@pytest.mark.parametrize("name", ["wine", "breast-cancer"])
def test_fit_on_a_real_dataset_has_no_findings(name):
    X, y, _ = learnable.data.datasets.load(name)
    model = learnable.fit(X, y, seed=0)
    assert model.data_summary_["standardized"] is True  # fit's own data summary reached the doctor
    assert model.diagnose() == []
    assert diagnose(model) == []  # an object with a record() method


def test_the_doctor_reads_records_and_says_how_to_make_one_of_a_learner():
    learner = _train(_mlp(), _data(rows=64), 1)
    with pytest.raises(TypeError, match=r"reads a run record .*got a Learner\. For a Learner pass "
                                        r"learnable\.runs\.recorder\.record_of\(learner\)"):
        diagnose(learner)


# ---- planted faults in the training dynamics -----------------------------------------------------
def test_adam_with_a_huge_learning_rate():
    learner = _train(_mlp(), _data(), 10, lr=3.0)
    findings = diagnose(record_of(learner))
    finding = _find(findings, "learning_rate_too_high")
    assert finding.severity == "warning"
    assert "of their size" in finding.evidence
    assert set(_codes(findings)) <= {"learning_rate_too_high", "dead_relus"}  # nothing unrelated


def test_sgd_with_a_huge_learning_rate_recorded_in_the_run_store(tmp_path):
    store, run_id, learner = _recorded(tmp_path, "sgd-lr-30", _mlp(), _data(), optimizer="sgd", lr=30.0,
                                       step_interval=1)
    learner.fit(10)
    record = store.load_record(run_id)
    assert record["status"] == "finished" and len(record["steps"]) == learner.step  # every step's loss came back
    findings = diagnose(record)
    evidence = _find(findings, "learning_rate_too_high").evidence
    assert "each step changes the weights by" in evidence
    assert "the step loss jumps by" in evidence  # read from the recorded step losses, which a Learner lacks
    assert set(_codes(findings)) <= {"learning_rate_too_high", "dead_relus"}
    # the symptoms a too-high rate explains are not reported on their own
    assert not {"underfitting", "overfitting", "learning_rate_too_low"} & set(_codes(findings))


def test_a_loss_that_overflows_is_a_critical_non_finite_finding(tmp_path):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(256, 4, generator=gen)
    y = X @ torch.randn(4, 1, generator=gen)  # regression: MSE
    model = _mlp(features=4, outputs=1)
    store, run_id, learner = _recorded(tmp_path, "nan", model, (X, y), optimizer="sgd", lr=1e6)
    with pytest.raises(NonFiniteError):
        learner.fit(5)
    record = store.load_record(run_id)
    assert record["status"] == "failed"
    assert record["data"]["loss"] == "MSELoss"
    findings = diagnose(record)
    assert _codes(findings) == ["non_finite"]
    finding = findings[0]
    assert finding.severity == "critical"
    assert finding.evidence.startswith("NonFiniteError: the training loss became NaN or infinite")
    assert "\n" not in finding.evidence


def test_a_learning_rate_far_too_low():
    findings = diagnose(record_of(_train(_mlp(), _data(), 10, lr=1e-7)))
    assert _codes(findings) == ["learning_rate_too_low"]
    assert "barely moves" in findings[0].title


def test_tiny_data_with_a_big_mlp_overfits():
    X, y = _data(rows=60, features=20, seed=1)
    learner = _train(_mlp(features=20, hidden=256, depth=3), (X, y), 200, lr=1e-3, validation=0.5, batch_size=16)
    findings = diagnose(record_of(learner))
    assert _codes(findings) == ["overfitting"]
    assert "validation loss lowest in epoch" in findings[0].evidence


# ---- planted faults inside the network -----------------------------------------------------------
def _dead_relu_model():
    model = _mlp(hidden=64)
    with torch.no_grad():
        model[0].bias.fill_(-6.0)  # the first ReLU layer never fires
    return model


def test_a_negative_bias_kills_the_relus():
    findings = diagnose(record_of(_train(_dead_relu_model(), _data(), 10, lr=1e-3)))
    assert _codes(findings) == ["dead_relus"]
    finding = findings[0]
    assert finding.severity == "critical"
    assert "layer '1': 100% of units never active" in finding.evidence


def test_the_doctor_command_on_a_run_with_dead_relus(tmp_path):
    store, _, learner = _recorded(tmp_path, "dead", _dead_relu_model(), _data(), lr=1e-3)
    learner.fit(10)
    store.close()
    result = runner.invoke(app, ["doctor", "last", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "dead, finished, 10 epochs" in result.stdout
    assert "[critical] Dead ReLUs: many units never activate" in result.stdout
    assert "evidence: layer '1'" in result.stdout
    assert "fix:" in result.stdout


def test_the_doctor_command_on_a_healthy_run(tmp_path):
    store, _, learner = _recorded(tmp_path, "healthy", _mlp(), _data(), lr=1e-2,
                                  callbacks=[EarlyStopping(patience=5)])
    learner.fit(100)
    store.close()
    result = runner.invoke(app, ["doctor", "last", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Nothing found" in result.stdout
    assert "fix:" not in result.stdout


@pytest.mark.parametrize("run, fragment", [("no-such-run", "no run 'no-such-run'"), ("last", "no runs")],
                         ids=["unknown-run", "empty-store"])
def test_the_doctor_command_on_a_missing_run_is_a_one_line_error(tmp_path, run, fragment):
    RunStore(tmp_path).close()
    result = runner.invoke(app, ["doctor", run, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_a_deep_sigmoid_network_has_vanishing_gradients():
    model = _mlp(hidden=32, depth=12, activation=nn.Sigmoid)
    findings = diagnose(record_of(_train(model, _data(), 10, optimizer="sgd", lr=1e-2)))
    assert _codes(findings) == ["vanishing_gradients"]
    assert "at '0.weight'" in findings[0].evidence  # the first layer, against the last


# ---- planted faults in the data ------------------------------------------------------------------
def test_one_feature_a_thousand_times_larger_is_unscaled():
    X, y = _data()
    X = X.clone()
    X[:, 3] *= 1e4
    findings = diagnose(record_of(_train(_mlp(), (X, y), 10, lr=1e-3)))
    finding = _find(findings, "unscaled_inputs")
    assert finding.evidence.startswith("'x3' (std")
    assert "'x0'" not in finding.evidence and "'x2'" not in finding.evidence
    assert set(_codes(findings)) <= {"unscaled_inputs", "exploding_gradients"}  # a consequence, fairly reported


def test_validation_rows_copied_from_training():
    X, y = _data()
    findings = diagnose(record_of(_train(_mlp(), (X[:500], y[:500]), 10, validation=(X[:100], y[:100]), lr=1e-2)))
    finding = _find(findings, "duplicates_validation")
    assert finding.severity == "warning"
    assert finding.evidence.startswith("100 of 100 validation rows (100.0%)")
    assert set(_codes(findings)) <= {"duplicates_validation", "still_improving"}


def _table(rows=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 5)), columns=["a", "b", "c", "d", "e"])
    return X, rng


def test_fit_with_imbalanced_classes():
    X, rng = _table()
    rare = rng.random(len(X)) < 0.05
    X.loc[rare, "a"] += 4.0  # the rare class is learnable, so the imbalance is the only problem
    y = np.where(rare, "rare", "common")
    findings = learnable.fit(X, y, seed=0, num_epochs=30).diagnose()
    finding = _find(findings, "class_imbalance")
    assert "class 'common'" in finding.evidence and "class 'rare'" in finding.evidence
    assert set(_codes(findings)) <= {"class_imbalance", "still_improving"}


def test_fit_with_a_constant_column():
    X, _ = _table()
    y = np.where(X["a"] + X["b"] > 0, "yes", "no")
    findings = learnable.fit(X.assign(const=7.0), y, seed=0, num_epochs=10).diagnose()
    finding = _find(findings, "constant_features")
    assert finding.severity == "info"
    assert finding.evidence.endswith(": const")
    assert set(_codes(findings)) <= {"constant_features", "still_improving"}


def test_fit_with_a_column_that_is_the_label():
    X, _ = _table()
    y = np.where(X["a"] + X["b"] > 0, "yes", "no")
    findings = learnable.fit(X.assign(leak=(y == "yes").astype(float)), y, seed=0, num_epochs=10).diagnose()
    finding = _find(findings, "perfect_predictor")
    assert finding.evidence == "'leak': 1 threshold(s) on it separate every class"
    assert set(_codes(findings)) <= {"perfect_predictor", "still_improving"}


def test_fit_with_a_regression_target_leak():
    X, rng = _table()
    y = 2 * X["a"] + X["b"] + 0.5 * rng.normal(size=len(X))
    findings = learnable.fit(X.assign(leak=2 * y + 1), y, seed=0, num_epochs=10).diagnose()
    finding = _find(findings, "perfect_predictor")
    assert finding.evidence == "'leak': correlation +1.0000 with the target"
    assert set(_codes(findings)) <= {"perfect_predictor", "still_improving"}


# ---- the rules on hand-made records --------------------------------------------------------------
def _epochs(train, val=None, **extra):
    val = val if val is not None else [None] * len(train)
    return [{"epoch": i + 1, "train_loss": t, **({"val_loss": v} if v is not None else {}), **extra}
            for i, (t, v) in enumerate(zip(train, val, strict=True))]


OVERFIT_TRAIN = [1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05]
OVERFIT_VAL = [1.0, 0.8, 0.7, 0.75, 0.85, 0.95, 1.1, 1.3]  # lowest in epoch 3


def test_overfitting_on_a_hand_made_record():
    findings = diagnose({"epochs": _epochs(OVERFIT_TRAIN, OVERFIT_VAL)})
    assert _codes(findings) == ["overfitting"]
    assert findings[0].evidence.startswith("validation loss lowest in epoch 3 (0.7), 1.3 by epoch 8 (86% higher)")


def test_overfitting_is_not_reported_when_early_stopping_kept_the_best_weights():
    record = {"epochs": _epochs(OVERFIT_TRAIN, OVERFIT_VAL), "summary": {"kept_epoch": 3}}
    assert "overfitting" not in _codes(diagnose(record))
    fitted = {"epochs": _epochs(OVERFIT_TRAIN, OVERFIT_VAL), "summary": {"best_epoch": 3}}  # fit's name for it
    assert "overfitting" not in _codes(diagnose(fitted))
    other = {"epochs": _epochs(OVERFIT_TRAIN, OVERFIT_VAL), "summary": {"kept_epoch": 8}}  # kept the last weights
    assert "overfitting" in _codes(diagnose(other))


def test_overfitting_ignores_a_tiny_absolute_rise():
    train = [0.5, 0.1, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002]
    val = [0.5, 0.01, 0.0015, 0.002, 0.0025, 0.003, 0.0033, 0.0035]  # 133% higher, but by 0.002
    assert diagnose({"epochs": _epochs(train, val)}) == []


def test_overfitting_needs_the_training_loss_to_fall():
    val = OVERFIT_VAL
    assert "overfitting" not in _codes(diagnose({"epochs": _epochs([0.5] * len(val), val)}))


def _stats(dead, update_ratio):
    weight = {"norm": 1.0, "grad_norm": 0.1, "update_ratio": update_ratio}
    return {"activations": {"1": {"dead": dead}, "3": {"dead": 0.0}},
            "parameters": {"0.weight": weight, "0.bias": weight, "2.weight": weight, "4.weight": weight}}


def test_a_cause_suppresses_the_symptoms_it_explains():
    flat = [0.693, 0.692, 0.692, 0.691]
    slow = {"epochs": _epochs(flat, flat, stats=_stats(dead=0.0, update_ratio=1e-6))}
    assert _codes(diagnose(slow)) == ["learning_rate_too_low"]
    dead = {"epochs": _epochs(flat, flat, stats=_stats(dead=1.0, update_ratio=1e-6))}
    findings = diagnose(dead)
    assert _codes(findings) == ["dead_relus"]  # the dead units explain why nothing moves
    assert findings[0].severity == "critical"
    half = {"epochs": _epochs(flat, flat, stats=_stats(dead=0.6, update_ratio=1e-6))}
    assert [(f.code, f.severity) for f in diagnose(half)] == [("dead_relus", "warning")]


def test_non_finite_explains_the_rest():
    train = [1.0, 0.5, 0.4, float("nan")]
    record = {"epochs": _epochs(train, train), "status": "failed",
              "error": "NonFiniteError: the training loss became NaN\nmore lines"}
    findings = diagnose(record)
    assert _codes(findings) == ["non_finite"]
    assert findings[0].evidence == "NonFiniteError: the training loss became NaN"


def test_findings_are_sorted_critical_then_warning_then_info():
    # overfitting (a warning) comes before dead_units (critical) in the rules, constant features last
    record = {"epochs": _epochs(OVERFIT_TRAIN, OVERFIT_VAL), "data": {"constant_features": ["z"]}}
    record["epochs"][-1]["stats"] = _stats(dead=1.0, update_ratio=1e-3)
    findings = diagnose(record)
    assert _codes(findings) == ["dead_relus", "overfitting", "constant_features"]
    severities = [SEVERITIES.index(f.severity) for f in findings]
    assert severities == sorted(severities) == [0, 1, 2]


def test_no_validation_and_the_record_of_a_fitted_model_in_details():
    record = {"epochs": _epochs([0.7, 0.69, 0.7]), "details": {"data": {"classes": {"a": 50, "b": 5}}}}
    assert _codes(diagnose(record)) == ["class_imbalance", "no_validation"]


def test_a_finding_as_a_dict():
    finding = diagnose({"epochs": _epochs(OVERFIT_TRAIN, OVERFIT_VAL)})[0]
    assert isinstance(finding, Finding)
    as_dict = finding.to_dict()
    assert list(as_dict) == ["code", "severity", "title", "evidence", "explanation", "fix"]
    assert as_dict["code"] == "overfitting" and as_dict["severity"] in SEVERITIES
    assert all(isinstance(value, str) and value for value in as_dict.values())


def test_an_empty_record_has_no_findings():
    assert diagnose({}) == []
    assert diagnose({"epochs": []}) == []


def test_sgd_whose_validation_loss_swings_from_epoch_to_epoch_has_a_learning_rate_too_high():
    learner = _train(_mlp(), _data(), 10, optimizer="sgd", lr=3.0)
    finding = _find(diagnose(record_of(learner)), "learning_rate_too_high")
    assert "still changes the weights by" in finding.evidence
    assert "overfitting" not in _codes(diagnose(record_of(learner)))  # explained by the oversized steps


def test_sgd_at_a_sensible_rate_is_healthy():
    assert diagnose(record_of(_train(_mlp(), _data(), 10, optimizer="sgd", lr=0.3))) == []


def test_overfitting_is_quiet_when_the_kept_epoch_is_as_good_as_the_best():
    train = [1, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05]
    val = [1, 0.8, 0.7, 0.6999, 0.85, 0.95, 1.1, 1.3]
    epochs = [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val, strict=True))]
    assert _codes(diagnose({"epochs": epochs, "summary": {"kept_epoch": 3}})) == []
    assert _codes(diagnose({"epochs": epochs, "summary": {"kept_epoch": 8}})) == ["overfitting"]


def test_a_run_without_epochs_is_not_called_healthy():
    assert _codes(diagnose({"epochs": [], "status": "running"})) == ["still_running"]
    failed = diagnose({"epochs": [], "status": "failed", "error": "ValueError: bad"})
    assert _codes(failed) == ["no_epochs"] and failed[0].severity == "warning"
    assert _codes(diagnose({"epochs": [], "status": "finished"})) == ["no_epochs"]


def test_copies_in_data_with_few_distinct_rows_are_not_leakage():
    record = {"data": {"rows": {"train": 1600, "validation": 200}, "duplicates": {
        "train_repeats": 1580, "validation": 200}}}
    assert diagnose(record) == []
    record["data"]["duplicates"]["train_repeats"] = 10
    assert _codes(diagnose(record)) == ["duplicates_validation"]


def test_still_improving_is_not_reported_when_the_schedule_annealed_to_zero():
    falling = [1.0, 0.8, 0.6, 0.5, 0.4, 0.3]
    constant = [{**e, "lr": 1e-3} for e in _epochs(falling, falling)]
    assert "still_improving" in _codes(diagnose({"epochs": constant}))
    annealed = [{**e, "lr": lr} for e, lr in zip(_epochs(falling, falling), [1e-3, 1e-2, 8e-3, 4e-3, 1e-3, 1e-6],
                                                  strict=True)]
    assert "still_improving" not in _codes(diagnose({"epochs": annealed}))  # one-cycle's planned end
