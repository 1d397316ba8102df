"""The doctor's rules about the data: scales, classes, leakage, constant and perfectly predictive features.

Each rule reads the data summary a run recorded (:func:`learnable.insight.summarize_data`).

Example:
    >>> record = {"data": {"classes": {"cat": 95, "dog": 5}}}
    >>> [f.code for f in class_imbalance(record)]
    ['class_imbalance']
"""

from __future__ import annotations

from typing import Any

from learnable.insight.doctor.finding import Finding, format_number


def unscaled_inputs(record: dict[str, Any]) -> list[Finding]:
    data = record.get("data") or {}
    scale = data.get("scale")
    if not scale or data.get("standardized"):
        return []
    median = scale["median_std"]
    far = [f for f in scale["largest"] if max(f["std"], abs(f["mean"])) > 100 * max(median, 1e-12)
           or max(f["std"], abs(f["mean"])) > 1e3]
    if not far:
        return []
    shown = ", ".join(f"'{f['feature']}' (std {format_number(f['std'])}, mean {format_number(f['mean'])})"
                      for f in far[:5])
    return [Finding(
        "unscaled_inputs", "warning", "Unscaled inputs: some features are far larger than the others",
        f"{shown}; the median feature std is {format_number(median)}",
        "One learning rate has to suit every weight. A feature thousands of times larger than the others "
        "dominates the first layer and its gradients, so training is slow or unstable.",
        "Standardise each feature (subtract the training mean, divide by the training std); learnable.fit "
        "and `learnable train` do this for you.")]


def class_imbalance(record: dict[str, Any]) -> list[Finding]:
    counts = (record.get("data") or {}).get("classes") or {}
    if len(counts) < 2:
        return []
    largest, smallest = max(counts, key=counts.get), min(counts, key=counts.get)
    ratio = counts[largest] / max(counts[smallest], 1)
    if ratio < 5:
        return []
    share = counts[largest] / sum(counts.values())
    return [Finding(
        "class_imbalance", "warning", "Class imbalance",
        f"class '{largest}' has {counts[largest]} training rows, class '{smallest}' only {counts[smallest]} "
        f"({ratio:.0f}x fewer); always predicting '{largest}' is already {share * 100:.0f}% accurate",
        "Accuracy hides the rare classes: a model can look good while never predicting them.",
        "Judge by balanced_accuracy, recall and the confusion matrix; collect more rows of the rare classes, "
        "or oversample them.")]


def leakage(record: dict[str, Any]) -> list[Finding]:
    data = record.get("data") or {}
    duplicates, rows_of = data.get("duplicates") or {}, data.get("rows") or {}
    repeated = duplicates.get("train_repeats", 0) / max(rows_of.get("train", 0), 1)
    if repeated >= 0.5:
        return []  # few distinct rows (e.g. a handful of categories): held-out copies are expected, not a leak
    found = []
    for split in ("validation", "test"):
        shared, rows = duplicates.get(split, 0), rows_of.get(split, 0)
        if shared and rows:
            share = shared / rows
            found.append(Finding(
                f"duplicates_{split}", "warning" if share >= 0.01 and share > 2 * repeated else "info",
                f"Rows of the {split} split also appear in training (leakage)",
                f"{shared} of {rows} {split} rows ({shared / rows * 100:.1f}%) are identical to a training row",
                f"The model has seen those rows' answers, so the {split} score overstates how it does on new data.",
                "Remove duplicate rows before splitting (pandas: df.drop_duplicates()), or split by group "
                "so that copies stay on one side."))
    return found


def constant_features(record: dict[str, Any]) -> list[Finding]:
    names = (record.get("data") or {}).get("constant_features") or []
    if not names:
        return []
    return [Finding(
        "constant_features", "info", "Constant features",
        f"{len(names)} feature(s) have one value in every training row: {', '.join(map(str, names[:10]))}",
        "A feature that never changes carries no information; it only costs memory and time.",
        "Drop those columns.")]


def perfect_predictor(record: dict[str, Any]) -> list[Finding]:
    found = (record.get("data") or {}).get("perfect_predictors") or []
    if not found:
        return []
    shown = "; ".join(f"'{f['feature']}': {f['how']}" for f in found[:5])
    return [Finding(
        "perfect_predictor", "warning", "A single feature predicts the target perfectly", shown,
        "Real data rarely has one column that decides the answer: usually it is the target in disguise "
        "(recorded after the outcome, an ID sorted by label, a copy of the label). A model trained on it "
        "will fail on new data.",
        "Check how that column is made; drop it if it would not be known at prediction time.")]
