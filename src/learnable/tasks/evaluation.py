"""What a fitted model gets wrong on held-out rows, kept as plain JSON for the report.

:func:`evaluate_examples` runs a fitted model on the test split and records the confusion matrix
(classification), the residuals (regression), the highest-loss examples (as images for image data)
and, for two numeric features, the decision surface on a grid. ``learnable.fit`` keeps the result as
the model's ``evaluation_``; :mod:`learnable.insight` only draws that dict (``plots.confusion_matrix``,
``residuals``, ``decision_surface``, ``worst_examples``), it never runs a model.

Example:
    >>> import learnable
    >>> X, y, _ = learnable.data.datasets.load("iris")
    >>> model = learnable.fit(X, y, seed=0)
    >>> evaluation = evaluate_examples(model, X, y)
    >>> len(evaluation["confusion"]["matrix"])
    3
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from learnable.tasks.fitted_model import FittedModel

MAX_EXAMPLES = 12
MAX_RESIDUALS = 2000
GRID = 80
MAX_POINTS = 1000  # test points drawn on the decision surface


def evaluate_examples(model: FittedModel, X: Any, y: Any) -> dict[str, Any]:
    """Confusion matrix or residuals, the worst examples and (2 features) the decision surface.

    Args:
        model: a fitted model (``learnable.fit``'s result).
        X, y: raw held-out rows and targets, as ``fit`` accepts them.
    """
    schema = model.schema_
    inputs = torch.from_numpy(schema.transform(X))
    target = torch.as_tensor(np.array(schema.encode_target(y)))
    outputs = model.forward(inputs).double()
    if schema.task == "regression":
        result = _regression(outputs[:, 0], target.double(), schema)
    else:
        result = _classification(outputs, target, schema)
    worst = np.argsort(-np.asarray(result.pop("losses")), kind="stable")[:MAX_EXAMPLES]
    result["worst"] = [_example(i, X, inputs, result, schema) for i in worst.tolist()]
    for key in ("predicted_values", "targets", "confidence"):  # per-row lists: only the worst rows are kept
        result.pop(key, None)
    if schema.num_features == 2 and not schema.categories and schema.image_shape is None and schema.text is None:
        result["surface"] = _surface(model, inputs, target, schema)
    return result


def _classification(outputs: torch.Tensor, target: torch.Tensor, schema: Any) -> dict[str, Any]:
    k = len(schema.classes)
    if schema.task == "binary":
        probabilities = torch.sigmoid(outputs[:, 0])
        probabilities = torch.stack([1 - probabilities, probabilities], dim=1)
    else:
        probabilities = torch.softmax(outputs, dim=1)
    predicted = probabilities.argmax(dim=1)
    losses = -torch.log(probabilities[torch.arange(len(target)), target].clamp(min=1e-12))
    matrix = torch.zeros(k, k, dtype=torch.long).index_put_((target, predicted), torch.ones_like(target),
                                                            accumulate=True)
    names = [str(c) for c in schema.classes]
    return {"task": schema.task, "confusion": {"classes": names, "matrix": matrix.tolist()},
            "losses": losses.tolist(), "predicted_values": predicted.tolist(), "targets": target.tolist(),
            "confidence": probabilities.max(dim=1).values.tolist()}


def _regression(outputs: torch.Tensor, target: torch.Tensor, schema: Any) -> dict[str, Any]:
    predicted = outputs * schema.target_std + schema.target_mean  # back in the target's units
    actual = target * schema.target_std + schema.target_mean
    keep = torch.linspace(0, len(actual) - 1, min(len(actual), MAX_RESIDUALS)).long()
    return {"task": "regression", "residuals": {"actual": actual[keep].tolist(), "predicted": predicted[keep].tolist()},
            "losses": ((predicted - actual) ** 2).tolist(), "predicted_values": predicted.tolist(),
            "targets": actual.tolist()}


def _example(index: int, X: Any, inputs: torch.Tensor, result: dict[str, Any], schema: Any) -> dict[str, Any]:
    """One held-out example: what it was, what the model said, and its image or its feature values."""
    example: dict[str, Any] = {"row": index}
    if result["task"] == "regression":
        example["actual"], example["predicted"] = result["targets"][index], result["predicted_values"][index]
    else:
        classes = result["confusion"]["classes"]
        example["actual"] = classes[result["targets"][index]]
        example["predicted"] = classes[result["predicted_values"][index]]
        example["confidence"] = result["confidence"][index]
    if schema.image_shape is not None:
        image = inputs[index].reshape(*schema.image_shape)
        if image.ndim == 3:  # (C, H, W): grey for one channel, colour (H, W, 3) for three, else the first
            image = image.permute(1, 2, 0) if image.shape[0] == 3 else image[0]
        low, high = image.min(), image.max()
        image = (image - low) / (high - low).clamp(min=1e-12)  # (H, W) or (H, W, 3) in [0, 1]
        example["image"] = image.round(decimals=3).tolist()
    else:
        row = schema.align(X).iloc[index]
        example["features"] = {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
    return example


def _surface(model: FittedModel, inputs: torch.Tensor, target: torch.Tensor, schema: Any) -> dict[str, Any]:
    """The predicted class (or value) over a grid spanning the held-out points, in raw units."""
    mean, std = torch.tensor(schema.mean, dtype=torch.float64), torch.tensor(schema.std, dtype=torch.float64)
    low, high = inputs.double().min(dim=0).values - 0.5, inputs.double().max(dim=0).values + 0.5
    axes = [torch.linspace(low[i].item(), high[i].item(), GRID) for i in range(2)]
    grid = torch.cartesian_prod(*axes).float()  # (GRID*GRID, 2), standardised
    with torch.no_grad():
        out = model.network_(grid).double()
    if schema.task == "regression":
        values = out[:, 0] * schema.target_std + schema.target_mean
    elif schema.task == "binary":
        values = torch.sigmoid(out[:, 0])  # probability of the second class
    else:
        values = out.argmax(dim=1).double()
    raw_axes = [(axes[i].double() * std[i] + mean[i]).tolist() for i in range(2)]
    keep = torch.linspace(0, len(inputs) - 1, min(len(inputs), MAX_POINTS)).long()
    points = inputs[keep].double() * std + mean
    return {"features": list(schema.numeric), "x": raw_axes[0], "y": raw_axes[1],
            "values": values.reshape(GRID, GRID).T.tolist(),  # rows follow y
            "points": points.tolist(), "targets": target[keep].tolist(), "task": schema.task}
