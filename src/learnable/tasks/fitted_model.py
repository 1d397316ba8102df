"""A trained model that predicts from raw rows: what ``learnable.fit`` returns and ``learnable.load`` reads.

:class:`FittedModel` pairs the trained network with the :class:`~learnable.data.Schema` that turns
raw rows (a DataFrame, arrays, images or texts) into its inputs, so ``predict`` takes data as the
user has it. :func:`learnable.load` reads any saved learnable model back as what it was saved as.

Example:
    >>> import learnable
    >>> X, y, _ = learnable.data.datasets.load("iris")
    >>> model = learnable.fit(X, y, seed=0)
    >>> model.save("iris-model")                            # doctest: +SKIP
    >>> learnable.load("iris-model").predict(X.head(2))     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from learnable import metrics as metric_lib
from learnable.callbacks.augment import tta_predict
from learnable.data.schema import Schema
from learnable.model_contents import probe
from learnable.model_file import INFO, kind_of, load_model, save_model
from learnable.models import CNN, LinearSVM
from learnable.utils.validation import brief, is_whole, quote


def metrics_for(name: str, task: str) -> list[str]:
    if task == "regression":
        return ["rmse", "mae", "r2"]
    names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1"]
    if task == "binary":
        names.append("roc_auc")
    if name != "svm":
        names.append("log_loss")
    return names


class FittedModel:
    """A trained network with the schema that turns raw rows into its inputs.

    What ``fit`` learned ends in ``_``, as in every learnable model (scikit-learn's contract).

    Attributes:
        network_: the trained ``nn.Module`` (on the CPU, in eval mode).
        schema_: the :class:`Schema` learned on the training split.
        task_, classes_: the task and, for classification, the class names (from ``schema_``).
        metrics_: test-split metrics in the target's own units (empty without a test split).
        training_: the model's name, epochs, best epoch, seconds and how it was trained.
        history_: one dict of metrics per training epoch.
        data_summary_, evaluation_: what the doctor and the report read of the data and the test split
            (set by ``fit``, not saved).
    """

    kind = "fitted_model"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, network: nn.Module, schema: Schema, history: list | None = None) -> None:
        self.network_ = network.cpu().eval()
        self.schema_ = schema
        self.history_ = history or []
        self.metrics_: dict[str, float] = {}
        self.training_: dict[str, Any] = {}
        self.data_summary_: dict[str, Any] = {}  # what the doctor knows of the training data (not saved)
        self.evaluation_: dict[str, Any] = {}  # test-split confusion matrix or residuals, worst examples (not saved)

    @property
    def task_(self) -> str:
        return self.schema_.task

    @property
    def classes_(self) -> list[Any] | None:
        return self.schema_.classes

    def _outputs(self, X: Any) -> torch.Tensor:
        return self.forward(torch.from_numpy(self.schema_.transform(X)))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's raw outputs for already-encoded inputs (rows, features), in chunks, without gradients."""
        with torch.no_grad():
            return torch.cat([self.network_(chunk) for chunk in inputs.split(4096)])

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values (regression) or class names, one per row of ``X``."""
        outputs = self._outputs(X)
        if self.task_ == "regression":
            return self.schema_.decode_target(outputs[:, 0].double().numpy())
        return self.schema_.decode_target(metric_lib.predicted_labels(outputs).numpy())

    def predict_proba(self, X: Any, tta: int = 0) -> np.ndarray:
        """Class probabilities, shape (rows, classes), columns in the order of ``classes``.

        ``tta`` (CNNs only): average over the plain images and this many augmented views of each
        (test-time augmentation, :func:`~learnable.callbacks.augment.tta_predict`), e.g. 8.
        """
        if self.task_ == "regression":
            raise ValueError("predict_proba is for classifiers; this model predicts numbers. Use predict.")
        if isinstance(self.network_, LinearSVM):
            raise ValueError("a linear SVM gives margins, not probabilities; train model='logistic' for them.")
        if tta:
            if not isinstance(self.network_, CNN):
                raise ValueError(f"tta={tta!r} is for image models (a CNN); this model is a "
                                 f"{type(self.network_).__name__}. Leave tta at 0.")
            probabilities = tta_predict(self, X, num_views=tta).double()  # (N, K), or (N, 1) for binary
        elif self.task_ == "binary":
            probabilities = torch.sigmoid(self._outputs(X)[:, :1].double())
        else:
            probabilities = torch.softmax(self._outputs(X).double(), dim=1)
        if self.task_ == "binary":
            return torch.cat([1 - probabilities, probabilities], dim=1).numpy()
        return probabilities.numpy()

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """All the task's metrics on ``(X, y)``, in the target's units."""
        outputs, target = self._outputs(X), torch.as_tensor(np.array(self.schema_.encode_target(y)))
        if self.task_ == "regression":
            outputs = outputs * self.schema_.target_std + self.schema_.target_mean
            target = target.double() * self.schema_.target_std + self.schema_.target_mean
        results = {}
        for metric_name in metrics_for(getattr(self.network_, "name", ""), self.task_):
            metric = metric_lib.get(metric_name)
            metric.update(outputs.double(), target)
            results[metric_name] = metric.compute()
        return results

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classification, R2 for regression (as scikit-learn's ``score``)."""
        return self.evaluate(X, y)["r2" if self.task_ == "regression" else "accuracy"]

    def save(self, directory: str | Path) -> Path:
        """Save as ``model.safetensors`` + ``model.json`` in ``directory`` (atomically)."""
        state = {"schema": self.schema_.to_dict(), "metrics": self.metrics_, "training": self.training_}
        return save_model(directory, self.network_, {self.kind: state, "history": self.history_})

    @classmethod
    def load(cls, directory: str | Path) -> FittedModel:
        """Load a model saved by :meth:`save`; never unpickles."""
        network, info = load_model(directory)
        kind = kind_of(info)
        if kind is None:
            raise ValueError(
                f"'{directory}' holds a bare network (saved by Learner.save), not a fitted model "
                "with a schema; load it with learnable.model_file.load_model."
            )
        if kind != cls.kind:
            raise ValueError(f"'{directory}' holds a {kind.replace('_', ' ')}, not a model from learnable.fit; "
                             "load it with learnable.load in Python" + (" or use `learnable generate` / `learnable "
                             "score`." if kind == "language_model" else "."))
        state, history = info[cls.kind], info.get("history", [])
        try:
            if not isinstance(state, dict):
                raise ValueError(f"'{cls.kind}' is {brief(state, 80)}; expected an object with the schema")
            schema = Schema.from_dict(state.get("schema"))
            check_network(schema, network)
            _check_record(state, history)
        except (TypeError, ValueError) as error:
            raise ValueError(f"'{Path(directory) / INFO}' is damaged: {quote(str(error), 300)}") from None
        fitted = cls(network, schema, history=history)
        fitted.metrics_, fitted.training_ = state.get("metrics", {}), state.get("training", {})
        return fitted

    def record(self) -> dict[str, Any]:
        """This model's training as the doctor and the report read a run (no step losses)."""
        return {"name": self.training_.get("model", "model"), "status": "finished", "epochs": self.history_,
                "steps": [], "data": self.data_summary_, "config": {}, "versions": {},
                "summary": {"test": self.metrics_, **self.training_}, "details": {"evaluation": self.evaluation_}}

    def diagnose(self) -> list[Any]:
        """The doctor's findings on how this model trained (see :func:`learnable.insight.diagnose`)."""
        from learnable.insight import diagnose

        return diagnose(self.record())

    def report(self, path: str | Path) -> Path:
        """Write the HTML report of this model's training to ``path`` (an .html file)."""
        from learnable.insight import write_report

        return write_report(self.record(), path)

    def best_epoch_metrics(self) -> dict[str, float]:
        """The history entry of the epoch whose weights were kept (the last one without early stopping)."""
        epoch = self.training_.get("best_epoch") or len(self.history_)
        return self.history_[epoch - 1] if self.history_ else {}

    def summary(self) -> str:
        """A few lines on what was trained and how well it does on the test split."""
        lines = [f"task: {self.task_}" + (f" ({len(self.classes_)} classes)" if self.classes_ else "")]
        if self.training_.get("task_note"):
            lines.append(self.training_["task_note"])
        if self.training_:
            t = self.training_
            lines.append(f"model: {t['model']}, {t['epochs']} epochs, {t['seconds']:.1f}s")
        if self.history_:
            best = self.best_epoch_metrics()
            lines.append(f"kept epoch {best['epoch']}: " + ", ".join(
                f"{k} {v:.4f}" for k, v in best.items() if k in ("train_loss", "val_loss")))
        if self.metrics_:
            lines.append("test: " + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics_.items()))
        if self.training_.get("test_note"):
            lines.append(self.training_["test_note"])
        return "\n".join(lines)


def _check_record(state: dict[str, Any], history: Any) -> None:
    """Raise unless model.json's metrics, training and history have the types summary() and the report read."""
    metrics, training = state.get("metrics", {}), state.get("training", {})
    if not isinstance(metrics, dict) or not all(isinstance(v, (int, float)) for v in metrics.values()):
        raise ValueError(f"'metrics' is {brief(metrics, 80)}; expected an object of numbers")
    if not isinstance(history, list) or not all(isinstance(epoch, dict) for epoch in history):
        raise ValueError(f"'history' is {brief(history, 80)}; expected a list of one object per epoch")
    if not isinstance(training, dict) or (training and not (
            isinstance(training.get("model"), str) and is_whole(training.get("epochs"))
            and isinstance(training.get("seconds"), (int, float)))):
        raise ValueError(f"'training' is {brief(training, 80)}; expected an object with the model, epochs and seconds")


def check_network(schema: Any, network: nn.Module) -> None:
    """Raise unless ``network`` reads the rows ``schema`` encodes and gives the outputs its task needs.

    One row goes through the network: zeros of the encoded width for a table, or the highest token id
    of the vocabulary at every position for text (an embedding too small for the vocabulary fails).
    """
    if schema.text is not None:  # (1, max_length) ids, all the highest
        what = f"the schema encodes each row as {schema.max_length} token ids below {schema.vocab_size}"
        outputs = probe(network, (1, schema.max_length), what, schema.vocab_size - 1, torch.int64)
    else:  # (1, features)
        what = f"the schema encodes each row as {schema.num_features} columns"
        outputs = probe(network, (1, schema.num_features), what)
    if outputs.ndim != 2 or outputs.shape[1] != schema.num_outputs:
        what = "regression" if schema.task == "regression" else f"{schema.task} task of {len(schema.classes)} classes"
        raise ValueError(f"the network gives {tuple(outputs.shape[1:])} outputs per row, but the schema's {what} "
                         f"needs {schema.num_outputs}")
