"""The one-liner: ``learnable.fit(X, y)`` returns a fitted model that predicts from raw rows.

``fit`` validates the data, infers the task, holds out validation and test splits, learns the
schema on the training split, picks a model, trains it with early stopping and measures it on the
test split. It is built only on the public API of the layer below: ``prepare``, the models and the
:class:`Learner`.

Example:
    >>> import learnable
    >>> X, y, _ = learnable.data.datasets.load("iris")
    >>> model = learnable.fit(X, y, seed=0)
    >>> model.predict(X.head(2)).tolist()
    ['setosa', 'setosa']
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from learnable.callbacks.augment import Augment
from learnable.callbacks.basic import EarlyStopping, LRSchedule
from learnable.callbacks.events import Callback
from learnable.data.loader import check_batch_size
from learnable.data.prepare import prepare
from learnable.data.schema import Schema
from learnable.data.table_files import read_table
from learnable.data.task import check_task_name
from learnable.data.validate import MISSING
from learnable.insight.data_summary import summarize_data
from learnable.models import CNN, MLP, LinearRegressionNet, LinearSVM, LogisticRegressionNet, TextClassifier
from learnable.models.base import check_dropout
from learnable.optim.optimizers import OptimizerConfig
from learnable.runs.recorder import learner_data_summary
from learnable.tasks.evaluation import evaluate_examples
from learnable.tasks.fitted_model import FittedModel, metrics_for
from learnable.train.learner import Learner, check_num_epochs
from learnable.train.seed import seed_everything
from learnable.utils.validation import check_choice, check_count, check_positive

MODEL_NAMES = ("auto", "linear", "logistic", "svm", "mlp", "cnn", "gru", "transformer")
SMALL_TEST = 30  # test rows below which fit says its test scores are rough
TEXT_MODELS = ("gru", "transformer")  # TextClassifier encoders: they read token ids, not a table


@dataclass
class FitRecipe:
    """How ``fit`` trains one of its models (``RECIPES[name]``) when the user gives no settings."""

    lr: float
    num_epochs: int
    patience: int
    weight_decay: float = 0.0
    schedule: str = "constant"  # a ScheduleConfig name, over the whole of num_epochs
    max_batch_size: int = 64  # the default batch is a tenth of the training rows, 16 to this many


RECIPES = {
    "linear": FitRecipe(lr=1e-2, num_epochs=300, patience=20),
    "logistic": FitRecipe(lr=1e-2, num_epochs=300, patience=20),
    "svm": FitRecipe(lr=1e-2, num_epochs=300, patience=20),
    "mlp": FitRecipe(lr=1e-3, num_epochs=200, patience=15, weight_decay=1e-4),
    "cnn": FitRecipe(lr=1e-2, num_epochs=8, patience=4, weight_decay=1e-4, schedule="one_cycle"),
    # Text models sit at chance for several epochs before they find word order: small batches (more steps
    # per epoch) and patience get them there (measured on the generated reviews, tests/tasks/test_fitting_text.py).
    "gru": FitRecipe(lr=3e-3, num_epochs=30, patience=8, weight_decay=1e-4, max_batch_size=32),
    "transformer": FitRecipe(lr=1e-3, num_epochs=30, patience=10, weight_decay=1e-2, max_batch_size=32),
}


def fit(
    X: Any,
    y: Any,
    *,
    model: str = "auto",
    task: str = "auto",
    num_epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    validation: float = 0.1,
    test: float = 0.1,
    seed: int = 0,
    progress: bool = False,
    device: str = "auto",
    callbacks: Sequence[Callback] = (),
    resume: str | Path | None = None,
    augment: bool = True,
    missing: str = "impute",
    hidden_sizes: Sequence[int] | None = None,
    dropout: float | None = None,
    weight_decay: float | None = None,
    patience: int | None = None,
) -> FittedModel:
    """Train a model on ``X`` (features) and ``y`` (target) and return it fitted.

    Args:
        X: a DataFrame, 2-D array, tensor or list of rows (images may be (N, H, W) arrays), a list
            of texts (or a DataFrame whose only column is text), or the path of a CSV/Parquet file.
        y: the target, one value per row: numbers (regression) or labels (classification); with
            a file path as X, the name of the target column.
        model: "auto" (a CNN for images, a GRU for text, an MLP otherwise), "linear", "logistic",
            "svm", "mlp", "cnn", or for text "gru" or "transformer".
        task: "auto", "regression", "binary" or "multiclass".
        num_epochs: the most epochs to train; early stopping usually ends sooner.
        lr, batch_size: training settings; defaults depend on the model and the data size.
        validation, test: fractions held out for early stopping and for the final test.
        seed: one seed for the split, the initial weights and the batch order.
        progress: print one line (or a bar) per epoch.
        device: "auto" (a GPU when there is one), "cpu" or "cuda".
        callbacks: extra Learner callbacks, e.g. ``RecordRun`` to record the run in a run store
            or ``Checkpoint`` to save checkpoints.
        resume: a checkpoint file or folder written during a ``fit`` call with the same arguments;
            training continues exactly where it stopped.
        augment: for a CNN, shift, rotate and scale each training batch a little (an
            :class:`~learnable.callbacks.augment.Augment` with its defaults); ignored by other models.
        missing: what a missing cell (NaN, None, NA) of a table is: "impute" (data: a number takes
            its column's training median and a 0/1 "is missing" input marks it, a category becomes
            "(missing)"; predict does the same) or "error" (refused, naming the column and rows).
        hidden_sizes, dropout: the MLP's hidden layer widths and dropout (model "mlp", or "auto" on a table);
            by default (128, 64), or (256, 128) from 100 inputs on, and 0.1.
        weight_decay, patience: AdamW's weight decay and early stopping's patience in epochs; by default
            the model's recipe (:data:`RECIPES`).
    """
    start = time.perf_counter()
    if num_epochs is not None:
        check_num_epochs(num_epochs)  # the other settings are checked by _setup, before the data is read
    tuning = {"hidden_sizes": hidden_sizes, "dropout": dropout, "weight_decay": weight_decay, "patience": patience}
    setup = _setup(X, y, model=model, task=task, lr=lr, batch_size=batch_size, validation=validation, test=test,
                   seed=seed, progress=progress, device=device, callbacks=callbacks, augment=augment, missing=missing,
                   tuning=tuning)
    learner, data, stopper = setup.learner, setup.data, setup.stopper
    learner.data_summary = _data_summary(data)
    learner.fit(setup.recipe.num_epochs if num_epochs is None else num_epochs, resume=resume)
    fitted = FittedModel(learner.model, data.schema, history=learner.history)
    fitted.data_summary_ = learner_data_summary(learner)
    augmented = any(isinstance(c, Augment) for c in learner.callbacks)
    fitted.training_ = {"model": setup.name, "epochs": learner.epoch, "best_epoch": stopper.best_epoch if stopper
                        else learner.epoch, "batch_size": setup.batch_size, "seed": seed, "augment": augmented,
                        "stop_reason": learner.stop_reason, "seconds": time.perf_counter() - start,
                        "task_note": data.task_note}
    if data.raw_test is not None:
        fitted.metrics_ = fitted.evaluate(*data.raw_test)
        fitted.training_["test_note"] = small_test_note(len(data.raw_test[1]), data.schema.task)
        try:
            fitted.evaluation_ = evaluate_examples(fitted, *data.raw_test)
        except (ValueError, TypeError, RuntimeError, IndexError) as error:  # the report's extras never cost the model
            warnings.warn(f"no test-split examples for the report: {error}", RuntimeWarning, stacklevel=2)
    return fitted


def small_test_note(rows: int, task: str = "binary") -> str | None:
    """A caveat for test metrics measured on fewer than ``SMALL_TEST`` rows, where one row moves them a lot.

    Example:
        >>> print(small_test_note(15, "multiclass"))
        the test split has only 15 rows: one row more or less right moves accuracy by 6.7 points; ...
        >>> small_test_note(300) is None
        True
    """
    if rows >= SMALL_TEST:
        return None
    moves = ("one badly predicted row can move R2 and the errors a lot" if task == "regression" else
             f"one row more or less right moves accuracy by {100 / rows:.1f} points")
    return f"the test split has only {rows} rows: {moves}; read the test scores as rough, or give fit more rows " \
           "(or test=0.2)."


def _data_summary(data: Any) -> dict[str, Any]:
    """What the doctor knows of the training data; for text, without per-feature checks on token ids."""
    schema = data.schema
    summary = summarize_data(data.train, data.validation, data.test, task=schema.task,
                             feature_names=schema.encoded_names(), standardized=schema.text is None,
                             classes=schema.classes, image_shape=schema.image_shape)
    if schema.text is not None:  # a token's position and id are no scale, constant or threshold of anything
        for key in ("scale", "constant_features", "perfect_predictors"):
            summary.pop(key, None)
        summary["text"] = {"column": schema.text, "vocabulary": schema.vocab_size, "max_length": schema.max_length}
    return summary


def lr_find(X: Any, y: Any, *, model: str = "auto", task: str = "auto", batch_size: int | None = None,
            seed: int = 0, device: str = "auto", num_steps: int = 100, missing: str = "impute"):
    """Sweep the learning rate for the model ``fit`` would train on this data; suggest a rate.

    Example:
        >>> X, y, _ = learnable.data.datasets.load("wine")          # doctest: +SKIP
        >>> learnable.lr_find(X, y).suggestion                  # doctest: +SKIP
    """
    setup = _setup(X, y, model=model, task=task, lr=None, batch_size=batch_size, validation=0.1, test=0.1,
                   seed=seed, progress=False, device=device, callbacks=(), augment=False, missing=missing, tuning={})
    return setup.learner.lr_find(num_steps=num_steps)


@dataclass
class _Setup:
    learner: Learner
    data: Any
    name: str
    recipe: FitRecipe
    stopper: EarlyStopping | None
    batch_size: int


def _setup(X: Any, y: Any, *, model: str, task: str, lr: float | None, batch_size: int | None, validation: float,
           test: float, seed: int, progress: bool, device: str, callbacks: Sequence[Callback],
           augment: bool, missing: str, tuning: dict[str, Any]) -> _Setup:
    """Validate and split the data, build the model and the Learner that ``fit`` trains (``tuning``: fit's
    hidden_sizes, dropout, weight_decay and patience, None where not given)."""
    tuning = {key: value for key, value in tuning.items() if value is not None}
    check_settings(model=model, task=task, lr=lr, batch_size=batch_size, missing=missing, **tuning)
    if not isinstance(augment, bool):
        raise TypeError(f"augment={augment!r} must be True or False.")
    if isinstance(X, (str, Path)):
        if not isinstance(y, str):
            raise TypeError(f"with a file path as X, y must name the target column; got {type(y).__name__}.")
        X, y = read_table(X, target=y)
    seed_everything(seed)
    text = True if model in TEXT_MODELS else None if model == "auto" else False
    data = prepare(X, y, task=task, validation=validation, test=test, seed=seed, text=text, missing=missing)
    name = _auto_model(data.schema) if model == "auto" else model
    network = _build(name, data.schema, tuning)
    recipe = RECIPES[name]
    size = int(np.clip(len(data.train[1]) // 10, 16, recipe.max_batch_size)) if batch_size is None else batch_size
    stopper = EarlyStopping(patience=tuning.get("patience", recipe.patience)) if data.validation else None
    schedule = [LRSchedule(recipe.schedule)] if recipe.schedule != "constant" else []
    augmentation = [Augment()] if augment and name == "cnn" else []  # image shape from the CNN's config
    learner = Learner(
        network,
        data.train,
        loss=_loss_for(name, data.schema.task),
        optimizer=OptimizerConfig("adamw", lr=recipe.lr if lr is None else lr,
                                  weight_decay=tuning.get("weight_decay", recipe.weight_decay)),
        batch_size=size,
        validation=data.validation,
        metrics=metrics_for(name, data.schema.task),
        callbacks=[*schedule, *augmentation, *([stopper] if stopper else []), *callbacks],
        device=device,
        seed=seed,
        progress=progress,
    )
    return _Setup(learner, data, name, recipe, stopper, size)


def check_settings(*, model: str = "auto", task: str = "auto", num_epochs: int | None = None,
                   lr: float | None = None, batch_size: int | None = None, missing: str = "impute",
                   hidden_sizes: Sequence[int] | None = None, dropout: float | None = None,
                   weight_decay: float | None = None, patience: int | None = None) -> None:
    """Raise on a setting ``fit`` would refuse, before any data is read or a run recorded."""
    check_choice("missing", missing, MISSING)
    if (hidden_sizes is not None or dropout is not None) and model not in ("auto", "mlp"):
        raise ValueError(f"hidden_sizes and dropout shape the MLP, but model={model!r}; use model='mlp' (or 'auto' "
                         "on a table), or leave them out.")
    if hidden_sizes is not None:
        if not isinstance(hidden_sizes, (list, tuple)) or not hidden_sizes:
            raise ValueError(f"hidden_sizes={hidden_sizes!r} must be a list of layer widths, for example (128, 64).")
        for width in hidden_sizes:
            check_count("hidden_sizes", width, 64)
    if dropout is not None:
        check_dropout("fit", dropout)
    if weight_decay is not None:
        check_positive("weight_decay", weight_decay, "1e-4", allow_zero=True)
    if patience is not None:
        check_count("patience", patience, 10)
    check_model_name(model)
    check_task_name(task)
    if num_epochs is not None:
        check_num_epochs(num_epochs)
    if lr is not None:
        OptimizerConfig("adamw", lr=lr).check()
    if batch_size is not None:
        check_batch_size(batch_size)


def check_model_name(model: str) -> None:
    """Raise unless ``model`` is one of :data:`MODEL_NAMES`."""
    if model not in MODEL_NAMES:
        raise ValueError(f"unknown model {model!r}; choose one of {list(MODEL_NAMES)}.")


def _auto_model(schema: Schema) -> str:
    """A GRU for text, a CNN for images of at least 8x8 pixels, an MLP for everything else."""
    if schema.text is not None:
        return "gru"
    shape = schema.image_shape
    return "cnn" if shape is not None and len(shape) in (2, 3) and min(shape[-2:]) >= 8 else "mlp"


def _build(name: str, schema: Schema, tuning: dict[str, Any]) -> nn.Module:
    inputs, outputs, task = schema.num_features, schema.num_outputs, schema.task
    if name in TEXT_MODELS:  # prepare(text=True) made sure the schema is a text one
        deep = {"num_layers": 2, "hidden_size": 128} if name == "transformer" else {}  # one block learns too little
        return TextClassifier(vocab_size=schema.vocab_size, out_features=outputs, encoder=name,
                              max_length=schema.max_length, **deep)
    if name == "linear":
        if task != "regression":
            raise ValueError("model='linear' is for regression; for classes use 'logistic' or 'svm'.")
        return LinearRegressionNet(in_features=inputs)
    if name in ("logistic", "svm"):
        if task == "regression":
            raise ValueError(f"model='{name}' is for classification; for numbers use 'linear' or 'mlp'.")
        cls = LogisticRegressionNet if name == "logistic" else LinearSVM
        return cls(in_features=inputs, num_classes=len(schema.classes))
    if name == "cnn":
        shape = schema.image_shape
        if shape is None or len(shape) not in (2, 3):
            raise ValueError(
                "model='cnn' needs images: pass X shaped (N, H, W) or (N, C, H, W), not a flat table."
            )
        channels = 1 if len(shape) == 2 else shape[0]
        return CNN(in_channels=channels, image_size=tuple(shape[-2:]), out_features=outputs, residual=True)
    if name != "mlp" and ("hidden_sizes" in tuning or "dropout" in tuning):
        raise ValueError(f"hidden_sizes and dropout shape the MLP, but model='auto' chose a {name} for this data; "
                         "leave them out, or pass model='mlp'.")
    hidden = tuple(tuning.get("hidden_sizes") or ((256, 128) if inputs >= 100 else (128, 64)))
    return MLP(in_features=inputs, out_features=outputs, hidden_sizes=hidden, dropout=tuning.get("dropout", 0.1))


def _loss_for(name: str, task: str) -> str:
    if name == "svm":
        return "hinge"
    return {"regression": "mse", "binary": "bce_with_logits", "multiclass": "cross_entropy"}[task]
