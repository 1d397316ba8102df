"""The doctor's rules for a supervised training run: what went wrong (or is about to), in plain words.

Each rule reads a run's record (its epochs' metrics and statistics, the sampled step losses, the data
summary, the status) and returns :class:`Finding` objects: a severity, the evidence (numbers, epochs,
layers), what it means and what to do. The rules about the data live in :mod:`learnable.insight.doctor.data`;
:func:`diagnose_training` applies both to a record.

Example:
    >>> record = {"epochs": [{"epoch": e, "train_loss": 1 / e, "val_loss": 0.5 + e / 10} for e in range(1, 11)]}
    >>> [finding.code for finding in diagnose_training(record)]
    ['overfitting']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from learnable.insight.doctor.data import (
    class_imbalance,
    constant_features,
    leakage,
    perfect_predictor,
    unscaled_inputs,
)
from learnable.insight.doctor.finding import Finding, apply_rules, format_number
from learnable.insight.record import last_stats, series, stats_epochs

# Losses whose value for the best constant prediction is known from the data summary.
BASELINES = {"CrossEntropyLoss": "entropy", "BCEWithLogitsLoss": "entropy", "MSELoss": "variance"}
__all__ = ["EXPLAINS", "RULES", "diagnose_training"]


# ---- the rules: training dynamics -------------------------------------------------------------------
def non_finite(record: dict[str, Any]) -> list[Finding]:
    error = record.get("error") or ""
    losses = [e[k] for e in record.get("epochs", []) for k in ("train_loss", "val_loss") if k in e]
    skipped = max([e.get("skipped_steps", 0) for e in record.get("epochs", [])], default=0)
    bad = not np.isfinite(losses).all() or "NonFiniteError" in error or "not finite" in error
    if not bad and not skipped:
        return []
    evidence = error.split("\n")[0] if error else ""
    if skipped:
        skipped_note = f"{skipped} step(s) skipped because the loss or gradients were not finite"
        evidence = f"{evidence}; {skipped_note}" if evidence else skipped_note
    if not evidence:
        evidence = "the recorded loss is infinite or NaN"
    return [Finding(
        "non_finite", "critical", "Training diverged: the loss became NaN or infinite", evidence,
        "Once a loss or a gradient is not finite, every weight it touches becomes NaN and the model is lost. "
        "The usual cause is a learning rate too high for this model and data; inputs with huge values or "
        "a log of zero can cause it too.",
        "Lower the learning rate 10x (`learnable lr-find` suggests one), add GradientClipping(max_norm=1.0), "
        "and check the inputs are scaled.")]


def divergence(record: dict[str, Any]) -> list[Finding]:
    train = series(record, "train_loss")
    finite = train[np.isfinite(train)]
    if len(finite) < 3 or np.isnan(train).any():
        return []
    best, last = finite.min(), finite[-1]
    if last > 2 * best + 1e-3 and last > finite[0]:
        epoch = int(np.argmin(finite)) + 1
        return [Finding(
            "divergence", "critical", "The training loss grew instead of falling",
            f"train loss {format_number(finite[0])} in epoch 1, lowest {format_number(best)} in epoch {epoch}, "
            f"{format_number(last)} in epoch {len(finite)}",
            "On the data it is trained on, gradient descent should lower the loss. A loss that climbs back "
            "means the steps overshoot: the learning rate is too high, or the schedule raises it too far.",
            "Lower the learning rate 3-10x, or use a schedule that decays it (cosine, step).")]
    return []


def learning_rate_too_high(record: dict[str, Any]) -> list[Finding]:
    ratios = _update_ratios(record)
    steps = np.array([loss for _, loss in record.get("steps", [])], dtype=np.float64)
    evidence = []
    if ratios and np.median(ratios[0][1]) > 0.3:
        evidence.append(f"each step changes the weights by {format_number(np.median(ratios[0][1]))} of their size "
                        f"(median over layers, epoch {ratios[0][0]}); about 0.001 is typical")
    elif len(ratios) >= 3 and np.median(ratios[-1][1]) > 0.03:  # still large steps once training has settled
        evidence.append(f"each step still changes the weights by {format_number(np.median(ratios[-1][1]))} "
                        f"of their size in epoch {ratios[-1][0]} (median over layers); about 0.001 is typical")
    swing = _epoch_swing(record)
    if swing is not None:
        evidence.append(f"the training loss swings up and down by {swing * 100:.0f}% of its level from epoch to "
                        "epoch in the second half of training")
    tail = steps[len(steps) // 2:]
    tail = tail[np.isfinite(tail)]
    if len(tail) >= 8 and np.median(tail) > 0:
        jumps = np.abs(np.diff(tail)) / np.median(tail)
        if np.median(jumps) > 0.5 and tail[-len(tail) // 4:].mean() >= 0.9 * tail[: len(tail) // 4].mean():
            evidence.append(f"the step loss jumps by {format_number(np.median(jumps) * 100)}% of its level "
                            "from one sample to the next in the second half of training, without trending down")
    if not evidence:
        return []
    return [Finding(
        "learning_rate_too_high", "warning", "The learning rate looks too high", "; ".join(evidence),
        "Steps that are large compared with the weights overshoot the minimum: the loss oscillates or "
        "explodes instead of settling.",
        "Lower the learning rate 3-10x; `learnable lr-find` (or Learner.lr_find) suggests a rate.")]


def _epoch_swing(record: dict[str, Any]) -> float | None:
    """How much a training loss that alternates up and down moves, relative to its level (>= 6 epochs).

    Only the training loss: a small validation split makes its loss jump by chance.
    """
    loss = series(record, "train_loss")
    if len(loss) < 6 or not np.isfinite(loss).all():
        return None
    half = loss[len(loss) // 2 - 1:]
    steps = np.diff(half)
    turns = int((np.sign(steps[1:]) != np.sign(steps[:-1])).sum())
    swing = float(np.abs(steps).mean() / max(np.median(half), 1e-12))
    if turns >= 2 and swing > 0.25 and np.abs(steps).mean() > 0.05 * loss[0]:  # not noise near a zero loss
        return swing
    return None


def learning_rate_too_low(record: dict[str, Any]) -> list[Finding]:
    train = series(record, "train_loss")
    steps = [loss for _, loss in record.get("steps", [])]
    ratios = _update_ratios(record)
    if len(train) < 3 or not np.isfinite(train).all() or not ratios:
        return []
    start = steps[0] if steps else train[0]
    drop = (start - train.min()) / max(abs(start), 1e-12)
    ratio = float(np.median(np.concatenate([r for _, r in ratios])))
    if drop < 0.05 and ratio < 1e-4:
        return [Finding(
            "learning_rate_too_low", "warning", "The learning rate looks too low: the loss barely moves",
            f"train loss {format_number(start)} at the start, {format_number(train.min())} at best after "
            f"{len(train)} epochs ({drop * 100:.1f}% lower); each step changes the weights by "
            f"{format_number(ratio)} of their size (median); about 0.001 is typical",
            "Steps this small need thousands of epochs to get anywhere.",
            "Raise the learning rate 10-100x; `learnable lr-find` suggests a rate.")]
    return []


def overfitting(record: dict[str, Any]) -> list[Finding]:
    train, val = series(record, "train_loss"), series(record, "val_loss")
    if len(val) < 4 or not np.isfinite(val).all() or not np.isfinite(train).all():
        return []
    best = int(np.argmin(val))
    summary = record.get("summary") or {}
    kept = summary.get("kept_epoch", summary.get("best_epoch"))  # the Learner's, or fit's name for it
    after = len(val) - 1 - best
    rise = val[-1] / max(val[best], 1e-12) - 1
    train_fell = train[-1] < 0.9 * train[best]
    steady = (val[-3:] >= 1.05 * val[best]).all()  # risen and staying up, not one noisy epoch
    kept_good = isinstance(kept, int) and 1 <= kept <= len(val) and val[kept - 1] <= 1.05 * val[best]
    if after < 3 or rise < 0.15 or val[-1] - val[best] < 0.01 or not steady or not train_fell or kept_good:
        return []  # no rise to speak of, or early stopping kept weights from before it
    return [Finding(
        "overfitting", "warning", "Overfitting: validation loss rose while training loss fell",
        f"validation loss lowest in epoch {best + 1} ({format_number(val[best])}), {format_number(val[-1])} "
        f"by epoch {len(val)} ({rise * 100:.0f}% higher); training loss fell from {format_number(train[best])} "
        f"to {format_number(train[-1])}",
        "The model is memorising the training rows instead of learning what carries over to new ones.",
        "Stop earlier (EarlyStopping), add weight decay or dropout, use a smaller model, or get more data "
        "(data augmentation for images).")]


def underfitting(record: dict[str, Any]) -> list[Finding]:
    baseline = _baseline_loss(record)
    train, val = series(record, "train_loss"), series(record, "val_loss")
    if baseline is None or baseline <= 0 or len(train) == 0 or not np.isfinite(train).all():
        return []
    best = float(train.min())
    if best < 0.8 * baseline:
        return []
    val_note = f", validation {format_number(np.nanmin(val))}" if np.isfinite(val).any() else ""
    return [Finding(
        "underfitting", "warning", "Underfitting: the model barely beats a constant prediction",
        f"best training loss {format_number(best)}{val_note}; predicting the {_baseline_name(record)} for every row "
        f"scores {format_number(baseline)}",
        "The model has not found a pattern in the training data itself: it is too small or too constrained, "
        "was trained too briefly or with too low a learning rate, or the features carry little information "
        "about the target.",
        "Train longer or with a higher learning rate, use a bigger model (more or wider layers) with less "
        "weight decay or dropout, and check that the features relate to the target.")]


def still_improving(record: dict[str, Any]) -> list[Finding]:
    val = series(record, "val_loss")
    loss = val if len(val) and np.isfinite(val).all() else series(record, "train_loss")
    summary = record.get("summary") or {}
    if len(loss) < 4 or summary.get("stop_reason") or record.get("status") not in (None, "finished"):
        return []
    if not np.isfinite(loss).all() or loss[-1] > loss.min() or loss[-1] > 0.98 * loss[-4] or loss[-4] - loss[-1] < 1e-3:
        return []
    lr = series(record, "lr")
    if len(lr) == len(loss) and np.isfinite(lr).all() and lr[-1] <= 0.05 * lr.max():
        return []  # a schedule that anneals to ~0 (one-cycle, cosine) always ends at its best: planned, not cut short
    return [Finding(
        "still_improving", "info", "Still improving when training ended",
        f"the {'validation' if loss is val else 'training'} loss fell from {format_number(loss[-4])} "
        f"to {format_number(loss[-1])} in the last 3 epochs and was at its lowest in the last one",
        "Training stopped because it ran out of epochs, not because it stopped learning.",
        "Train for more epochs (early stopping will end it when validation stops improving).")]


# ---- the rules: inside the network --------------------------------------------------------------
def _layers_above(record: dict[str, Any], key: str, threshold: float) -> dict[str, float]:
    """Activation layers whose ``key`` fraction ("dead" or "saturated") in the last epoch is >= threshold."""
    layers = last_stats(record).get("activations", {})
    return {name: a[key] for name, a in layers.items() if a.get(key, 0.0) >= threshold}


def dead_units(record: dict[str, Any]) -> list[Finding]:
    dead = _layers_above(record, "dead", 0.5)
    if not dead:
        return []
    worst = max(dead.values())
    evidence = ", ".join(f"layer '{n}': {f * 100:.0f}% of units never active" for n, f in dead.items())
    return [Finding(
        "dead_relus", "critical" if worst >= 0.9 else "warning", "Dead ReLUs: many units never activate",
        evidence + " (in the sampled batches of the last epoch)",
        "A ReLU unit whose input is negative for every example outputs zero and gets zero gradient, so it "
        "never learns again. A learning rate too high, a bad initialisation or a negative bias kills them.",
        "Lower the learning rate, use the default (Kaiming) initialisation with zero biases, add batch norm, "
        "or use LeakyReLU/GELU, which keep a gradient for negative inputs.")]


def saturation(record: dict[str, Any]) -> list[Finding]:
    saturated = _layers_above(record, "saturated", 0.5)
    if not saturated:
        return []
    evidence = ", ".join(f"layer '{n}': {f * 100:.0f}% of outputs saturated" for n, f in saturated.items())
    return [Finding(
        "saturation", "warning", "Saturated tanh/sigmoid units", evidence + " (last epoch)",
        "A tanh or sigmoid near its flat ends passes almost no gradient back, so the layers below learn slowly.",
        "Scale the inputs, use a smaller initialisation or learning rate, add normalisation, or use ReLU/GELU.")]


def gradients(record: dict[str, Any]) -> list[Finding]:
    params = last_stats(record).get("parameters", {})
    weights = [(n, p) for n, p in params.items() if n.endswith("weight") and p.get("norm", 0) > 0 and "grad_norm" in p]
    if len(weights) < 2:
        return []
    first, last = weights[0], weights[-1]
    found = []
    ratio = first[1]["grad_norm"] / max(last[1]["grad_norm"], 1e-30)
    if ratio < 1e-3 or all(p["grad_norm"] < 1e-7 for _, p in weights):
        found.append(Finding(
            "vanishing_gradients", "warning", "Vanishing gradients: the first layers barely learn",
            f"gradient norm {format_number(first[1]['grad_norm'])} at '{first[0]}' against "
            f"{format_number(last[1]['grad_norm'])} at "
            f"'{last[0]}' ({format_number(ratio)}x; last epoch)",
            "The gradient shrinks on its way back through the layers, so the layers nearest the input hardly "
            "change. Deep stacks of sigmoid/tanh and poor initialisation cause it.",
            "Use ReLU/GELU activations, the default (Kaiming) initialisation, batch norm, residual "
            "connections, or fewer layers."))
    relative = {n: p["grad_norm"] / p["norm"] for n, p in weights}
    exploding = {n: r for n, r in relative.items() if r > 10}
    if exploding:
        worst = max(exploding, key=exploding.get)
        found.append(Finding(
            "exploding_gradients", "warning", "Exploding gradients",
            f"gradient norm {format_number(exploding[worst])}x the weight norm at '{worst}' (last epoch); "
            f"{len(exploding)} of {len(weights)} weight tensors above 10x",
            "Gradients far larger than the weights make every step a jump: training is unstable or diverges.",
            "Add GradientClipping(max_norm=1.0), lower the learning rate, and use normalisation layers."))
    return found


# ---- the rules: the run as a whole ----------------------------------------------------------------
def no_validation(record: dict[str, Any]) -> list[Finding]:
    train = series(record, "train_loss")
    if len(train) == 0 or "val_loss" in (record.get("epochs") or [{}])[-1]:
        return []
    return [Finding(
        "no_validation", "info", "No validation data",
        "the run measured only the training loss",
        "Without held-out data, overfitting cannot be seen and early stopping cannot work.",
        "Pass validation= to the Learner (a fraction such as 0.2, or an (X, y) pair).")]


def run_state(record: dict[str, Any]) -> list[Finding]:
    epochs, status = record.get("epochs") or [], record.get("status")
    if status == "running":
        return [Finding(
            "still_running", "info", "The run is still running, or its process was killed",
            f"status 'running' with {len(epochs)} epoch(s) recorded",
            "The findings cover only the epochs recorded so far.",
            "Check again when it ends; a killed run continues with `learnable train --resume RUN`.")]
    if not epochs and status in ("failed", "interrupted", "finished"):
        return [Finding(
            "no_epochs", "warning", "No epoch was recorded", f"the run {status} before its first epoch ended",
            "There is nothing to diagnose yet: the curves and statistics are written at each epoch's end.",
            "See the run's error (`learnable runs show RUN`); fix it and train again.")]
    return []


# ---- helpers -----------------------------------------------------------------------------------
def _update_ratios(record: dict[str, Any]) -> list[tuple[int, np.ndarray]]:
    """Per epoch with statistics: the update-to-weight ratios of the weight tensors."""
    out = []
    for epoch, stats in stats_epochs(record):
        values = [p["update_ratio"] for n, p in stats.get("parameters", {}).items()
                  if n.endswith("weight") and isinstance(p.get("update_ratio"), (int, float))]
        values = [v for v in values if math.isfinite(v)]
        if values:
            out.append((epoch, np.array(values)))
    return out


def _baseline_loss(record: dict[str, Any]) -> float | None:
    data = record.get("data") or {}
    kind = BASELINES.get(data.get("loss", ""))
    if kind == "entropy" and data.get("classes"):
        counts = np.array(list(data["classes"].values()), dtype=np.float64)
        p = counts / counts.sum()
        return float(-(p * np.log(p)).sum())
    if kind == "variance" and data.get("target") and data["target"].get("columns", 1) == 1:
        return float(data["target"]["std"] ** 2)
    return None


def _baseline_name(record: dict[str, Any]) -> str:
    return "class frequencies" if (record.get("data") or {}).get("classes") else "mean target"


# A finding that explains another makes it redundant: (cause, the symptoms it explains).
EXPLAINS = {
    "non_finite": {"divergence", "overfitting", "underfitting", "still_improving", "learning_rate_too_low",
                   "no_epochs"},
    "divergence": {"overfitting", "underfitting", "still_improving", "learning_rate_too_low"},
    "learning_rate_too_high": {"overfitting", "underfitting", "still_improving", "learning_rate_too_low"},
    "dead_relus": {"vanishing_gradients", "underfitting", "learning_rate_too_low"},
    "vanishing_gradients": {"underfitting", "learning_rate_too_low"},
    "learning_rate_too_low": {"underfitting", "still_improving"},
    "unscaled_inputs": {"underfitting", "exploding_gradients", "learning_rate_too_high"},
}

RULES: list[Callable[[dict[str, Any]], list[Finding]]] = [
    non_finite, divergence, learning_rate_too_high, learning_rate_too_low, overfitting, underfitting,
    dead_units, saturation, gradients, unscaled_inputs, class_imbalance, leakage, perfect_predictor,
    constant_features, still_improving, no_validation, run_state,
]


def diagnose_training(record: dict[str, Any]) -> list[Finding]:
    """Every finding of the training and data rules for ``record``, most severe first."""
    return apply_rules(record, RULES, EXPLAINS,
                       "Record runs with `learnable train` or RecordRun so the record is complete.")
