"""Anomaly detection and dimensionality reduction with an autoencoder.

An autoencoder trained to rebuild *normal* rows rebuilds them well and anything unlike them badly,
so the reconstruction error is an anomaly score. :class:`AnomalyDetector` scales the inputs (learned
on the training part only), holds out a validation split, trains a dense or convolutional
autoencoder (:mod:`learnable.models.autoencoder`) with the :class:`Learner` and early stopping on
the validation loss, and sets the threshold to a quantile of the validation rows' errors: with
``quantile=0.99`` about 1% of new normal rows are flagged. Its latent codes (:meth:`~AnomalyDetector.
transform`) are a learned dimensionality reduction; :func:`embed_2d` gives 2-D codes to plot with
:func:`learnable.insight.embedding.plot_embedding`.

Conventions: ``score_samples`` is higher for more anomalous rows (the opposite of scikit-learn's
IsolationForest, whose scores are higher for normal rows), and ``predict`` returns booleans, True
for an anomaly (IsolationForest returns -1 for an anomaly and 1 otherwise).

Example:
    >>> import learnable
    >>> data = learnable.data.datasets.load("digits")
    >>> zeros, sixes = data.images[data.y == 0], data.images[data.y == 6]
    >>> detector = AnomalyDetector(num_epochs=20, seed=0).fit(zeros)  # (N, 1, 8, 8) images: a conv autoencoder
    >>> bool(detector.predict(sixes).mean() > 0.5)  # most sixes are flagged
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.callbacks.basic import EarlyStopping
from learnable.callbacks.events import Callback
from learnable.data.loader import check_batch_size
from learnable.data.split import split_indices
from learnable.data.validate import as_rows
from learnable.model_contents import probe
from learnable.model_file import load_model, save_model
from learnable.models.autoencoder import Autoencoder, ConvAutoencoder
from learnable.train.learner import Learner, check_num_epochs
from learnable.train.seed import seed_everything
from learnable.train.speed import set_memory_format
from learnable.utils.params import Params
from learnable.utils.validation import (
    brief,
    check_choice,
    check_count,
    check_number,
    check_positive,
    finite,
    quote,
    whole,
)

MODELS = ("auto", "dense", "conv")
SCALINGS = ("auto", "standard", "minmax")
MIN_ROWS = 10  # in each of the training and validation parts


# ---- scaling ------------------------------------------------------------------------------------
@dataclass
class Scaling:
    """``(x - shift) / scale``: per feature ("standard": mean and standard deviation) or one pair for
    all values ("minmax": the minimum and the range, for pixels that share one unit)."""

    method: str
    shift: list[float]
    scale: list[float]

    @classmethod
    def learn(cls, rows: np.ndarray, method: str) -> Scaling:
        """Learn the scaling of ``rows`` (N, ...) (the training part only); constant values get scale 1."""
        flat = rows.reshape(len(rows), -1).astype(np.float64)  # (N, features)
        if method == "standard":
            shift, scale = flat.mean(0), flat.std(0)
        else:
            shift, scale = np.array([flat.min()]), np.array([flat.max() - flat.min()])
        scale[scale < 1e-12] = 1.0  # a constant feature is only shifted, as scikit-learn's scalers do
        return cls(method, shift.astype(np.float32).tolist(), scale.astype(np.float32).tolist())

    def transform(self, rows: np.ndarray) -> np.ndarray:
        shift, scale = np.asarray(self.shift, np.float32), np.asarray(self.scale, np.float32)
        flat = rows.reshape(len(rows), -1)  # (N, features)
        return ((flat - shift) / scale).reshape(rows.shape).astype(np.float32)


# ---- the detector -------------------------------------------------------------------------------
class AnomalyDetector(Params):
    """Learn what normal rows look like; score, flag and embed new rows by their reconstruction.

    Args:
        model: "dense" (fully connected; takes any rows), "conv" (images only) or "auto" (conv for
            images (N, C, H, W) or (N, H, W), dense for flat rows (N, features)).
        latent_size: the width of the code each row is squeezed into (2 for a plot).
        num_epochs: the most epochs to train; early stopping on the validation loss usually ends sooner.
        lr, batch_size: Adam's learning rate and the rows per batch.
        validation: the fraction of ``fit``'s rows held out for early stopping and the threshold.
        quantile: the threshold is this quantile of the validation rows' errors, in (0, 1): about
            ``1 - quantile`` of new normal rows are flagged.
        scaling: "standard" (per feature mean 0, std 1), "minmax" (all values to [0, 1] with one
            minimum and range) or "auto" (minmax for images, standard for flat rows).
        patience: epochs without a better validation loss before stopping (the best weights are kept).
        seed: one seed for the split, the initial weights and the batch order.
        device: where to train ("auto", "cpu", "cuda"); scores are always computed on the CPU, so
            they are the same after :meth:`save` and :meth:`load`.

    Attributes (after ``fit``): ``network_`` (the autoencoder, on the CPU), ``scaling_``,
    ``threshold_``, ``input_shape_`` (one row's shape), ``validation_rows_`` (indices into ``fit``'s
    X), ``validation_scores_``, ``history_`` (one dict per epoch), ``metrics_`` (on the validation rows:
    ``val_mean_score``, the mean reconstruction error of normal rows the network never trained on, and
    ``threshold``) and ``training_`` (the network, "dense" or "conv", epochs, best epoch, rows, seconds,
    why it stopped), as in every learnable model.
    """

    kind = "anomaly_detector"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, model: str = "auto", *, latent_size: int = 16, num_epochs: int = 100, lr: float = 1e-3,
                 batch_size: int = 64, validation: float = 0.2, quantile: float = 0.99, scaling: str = "auto",
                 patience: int = 10, seed: int = 0, device: str = "auto") -> None:
        self.model, self.latent_size, self.num_epochs, self.lr = model, latent_size, num_epochs, lr
        self.batch_size, self.validation, self.quantile, self.scaling = batch_size, validation, quantile, scaling
        self.patience, self.seed, self.device = patience, seed, device

    def fit(self, X: Any, callbacks: Sequence[Callback] = ()) -> AnomalyDetector:
        """Train on normal rows ``X`` ((N, features) or images (N, C, H, W) / (N, H, W)); returns self.

        ``callbacks`` go to the :class:`~learnable.train.Learner`, e.g. ``RecordRun`` to record the run.
        """
        start = time.perf_counter()
        self._check_settings()
        rows = as_rows(X)
        architecture = self._architecture(rows)
        train, held_out = self._split(len(rows))
        scaling = self.scaling if self.scaling != "auto" else ("minmax" if rows.ndim == 4 else "standard")
        scaling = Scaling.learn(rows[train], scaling)  # from the training part only
        seed_everything(self.seed)  # the initial weights
        network = _build(architecture, rows.shape[1:], self.latent_size)
        learner = self._train(network, scaling.transform(rows[train]), scaling.transform(rows[held_out]), callbacks)
        # The learned state is set only now: a failed fit leaves an already fitted detector as it was.
        self.network_, self.scaling_, self.input_shape_ = learner.model, scaling, tuple(rows.shape[1:])
        self.history_, self.validation_rows_ = learner.history, held_out
        self.validation_scores_ = self.score_samples(rows[held_out])
        self.threshold_ = float(np.quantile(self.validation_scores_, self.quantile))
        self.metrics_ = {"val_mean_score": float(self.validation_scores_.mean()), "threshold": self.threshold_}
        self.training_ = _training_summary(learner, architecture, len(train), time.perf_counter() - start)
        return self

    def _train(self, network: torch.nn.Module, train: np.ndarray, validation: np.ndarray,
               callbacks: Sequence[Callback]) -> Learner:
        """Fit ``network`` to rebuild the scaled training rows, with early stopping on the validation rows."""
        train, validation = torch.from_numpy(train), torch.from_numpy(validation)  # the target is the input
        learner = Learner(network, (train, train), loss="mse", optimizer="adam", lr=self.lr, batch_size=self.batch_size,
                          validation=(validation, validation), device=self.device, seed=self.seed,
                          callbacks=[EarlyStopping(patience=self.patience), *callbacks], progress=False,
                          statistics=None)
        learner.fit(self.num_epochs)  # the best epoch's weights are restored at the end
        learner.model.cpu().eval()
        set_memory_format(learner.model, torch.contiguous_format)  # as a loaded model has it: the same scores
        return learner

    # ---- using the fitted detector ----------------------------------------------------------------
    def score_samples(self, X: Any) -> np.ndarray:
        """The anomaly score of each row: its mean squared reconstruction error over all its (scaled)
        values, shape (N,), float64. Higher means more anomalous."""
        inputs = self._inputs(X)  # (N, *input_shape_), scaled
        with torch.no_grad():
            errors = [(self.network_(x) - x).square().flatten(1).mean(1) for x in inputs.split(1024)]  # (B,) each
        return torch.cat(errors).double().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """True for each row whose score is above ``threshold_`` (an anomaly), else False; shape (N,)."""
        return self.score_samples(X) > self.threshold_

    def transform(self, X: Any) -> np.ndarray:
        """The latent code of each row, shape (N, latent_size), float32: a learned dimensionality reduction."""
        inputs = self._inputs(X)
        with torch.no_grad():
            return torch.cat([self.network_.encode(x) for x in inputs.split(1024)]).numpy()

    embed = transform

    def reconstruct(self, X: Any) -> np.ndarray:
        """Each row rebuilt by the autoencoder, in ``X``'s units and the training rows' shape."""
        inputs = self._inputs(X)
        with torch.no_grad():
            rebuilt = torch.cat([self.network_(x) for x in inputs.split(1024)]).numpy()
        shift, scale = np.asarray(self.scaling_.shift, np.float32), np.asarray(self.scaling_.scale, np.float32)
        return (rebuilt.reshape(len(rebuilt), -1) * scale + shift).reshape(rebuilt.shape)

    def _inputs(self, X: Any) -> torch.Tensor:
        if not hasattr(self, "network_"):
            raise ValueError("this AnomalyDetector is not fitted yet; call fit(X_normal), or AnomalyDetector.load.")
        rows = match_shape(as_rows(X), self.input_shape_)
        return torch.from_numpy(self.scaling_.transform(rows))

    # ---- saving -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the autoencoder (safetensors) and the settings, scaling and threshold (model.json)."""
        if not hasattr(self, "network_"):
            raise ValueError("this AnomalyDetector is not fitted yet, so there is nothing to save; call fit first.")
        state = {"settings": self.get_params(), "input_shape": list(self.input_shape_),
                 "scaling": asdict(self.scaling_), "threshold": self.threshold_, "metrics": self.metrics_,
                 "training": self.training_}
        return save_model(directory, self.network_, {self.kind: state, "history": self.history_})

    @classmethod
    def load(cls, directory: str | Path) -> AnomalyDetector:
        """Load a detector written by :meth:`save` (JSON and raw tensors only; nothing is unpickled)."""
        network, info = load_model(directory)
        state = info.get(cls.kind)
        if not isinstance(state, dict) or not {"settings", "input_shape", "scaling", "threshold"} <= set(state):
            raise ValueError(
                f"'{directory}' holds a learnable model but not an AnomalyDetector (model.json has no complete "
                f"'{cls.kind}' entry); load it with learnable.model_file.load_model."
            )
        try:
            detector = cls(**state["settings"])
            detector.scaling_ = Scaling(**state["scaling"])
            _check_saved(detector.scaling_, state, network)
        except (TypeError, ValueError) as error:
            raise ValueError(f"'{directory}' has a damaged '{cls.kind}' entry in model.json: "
                             f"{quote(str(error))}") from None
        detector.network_, detector.history_ = network, info.get("history", [])
        detector.input_shape_, detector.threshold_ = tuple(state["input_shape"]), float(state["threshold"])
        detector.metrics_, detector.training_ = state.get("metrics", {}), state.get("training", {})
        return detector

    # ---- checks before training -------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("scaling", self.scaling, SCALINGS)
        check_number("quantile", self.quantile, 0, 1, "0.99 (flags about 1% of normal rows)", low_open=True,
                     high_open=True)
        check_number("validation", self.validation, 0, 1, "0.2 (holds out a fifth)", low_open=True, high_open=True)
        check_positive("lr", self.lr, "1e-3")
        check_num_epochs(self.num_epochs)
        check_batch_size(self.batch_size)
        check_count("patience", self.patience, "10 epochs")

    def _architecture(self, rows: np.ndarray) -> str:
        """The autoencoder to build: "conv" or "dense" (``model``, with "auto" resolved by the rows' shape)."""
        if self.model == "conv" and rows.ndim != 4:
            raise ValueError(
                f"model='conv' needs images shaped (N, C, H, W) or (N, H, W), got flat rows {rows.shape}; "
                "reshape them (e.g. X.reshape(-1, 1, 28, 28)) or use model='dense'."
            )
        if self.model == "auto":
            return "conv" if rows.ndim == 4 else "dense"
        return self.model

    def _split(self, num_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Seeded (training rows, validation rows); each part needs at least MIN_ROWS rows."""
        held_out = math.ceil(round(num_rows * self.validation, 9))
        if held_out < MIN_ROWS or num_rows - held_out < MIN_ROWS:
            needed = max(math.ceil(MIN_ROWS / self.validation), math.ceil(MIN_ROWS / (1 - self.validation)))
            raise ValueError(
                f"too few rows for a validation split: got {num_rows} rows, and validation={self.validation} "
                f"holds out {held_out}; the threshold and early stopping need at least {MIN_ROWS} rows in each "
                f"of the training and validation parts, so at least {needed} rows. Pass more normal rows."
            )
        parts = split_indices(num_rows, validation=self.validation, test=0.0, seed=self.seed)
        return np.sort(parts.train), np.sort(parts.validation)


def _build(architecture: str, row_shape: tuple[int, ...], latent_size: int) -> Autoencoder | ConvAutoencoder:
    """The autoencoder for rows of ``row_shape``: (features,) or (C, H, W)."""
    if architecture == "conv":
        channels = (16, 32) if min(row_shape[1:]) >= 4 else (16,)
        return ConvAutoencoder(in_channels=row_shape[0], image_size=row_shape[1:], channels=channels,
                               latent_size=latent_size)
    features = math.prod(row_shape)
    hidden = (256, 64) if features >= 256 else (64, 32)
    return Autoencoder(in_features=features, hidden_sizes=hidden, latent_size=latent_size)


def _training_summary(learner: Learner, architecture: str, train_rows: int, seconds: float) -> dict[str, Any]:
    """What ``training_`` records of a fit: the network, epochs, the epoch kept, rows, time, why it stopped."""
    stopper = next(c for c in learner.callbacks if isinstance(c, EarlyStopping))
    return {"model": architecture, "epochs": learner.epoch, "best_epoch": stopper.best_epoch or learner.epoch,
            "train_rows": train_rows, "seconds": seconds, "stop_reason": learner.stop_reason}


# ---- input checks ---------------------------------------------------------------------------------
def match_shape(rows: np.ndarray, row_shape: tuple[int, ...]) -> np.ndarray:
    """``rows`` in the training rows' shape: flat rows and images with the same values per row are
    reshaped; any other shape is an error."""
    if rows.shape[1:] == tuple(row_shape):
        return rows
    size = math.prod(row_shape)
    if (rows.ndim == 2 or len(row_shape) == 1) and rows[0].size == size:
        return rows.reshape(len(rows), *row_shape)
    raise ValueError(
        f"X has rows of shape {rows.shape[1:]} ({rows[0].size} values), but this detector was fitted on rows "
        f"of shape {tuple(row_shape)} ({size} values); pass rows with the same features as the training data."
    )


def embed_2d(X: Any, *, model: str = "auto", num_epochs: int = 100, seed: int = 0, device: str = "auto") -> np.ndarray:
    """Reduce rows or images ``X`` to 2-D points (N, 2): the codes of an autoencoder with a 2-wide latent.

    A non-linear alternative to PCA for a scatter plot; plot the points with
    :func:`learnable.insight.embedding.plot_embedding`.

    Example:
        >>> import learnable                                          # doctest: +SKIP
        >>> from learnable.insight import plot_embedding              # doctest: +SKIP
        >>> data = learnable.data.datasets.load("digits")              # doctest: +SKIP
        >>> points = embed_2d(data.X[:300], seed=0)                # doctest: +SKIP
        >>> plot_embedding(points, data.y[:300], path="digits.png")  # doctest: +SKIP
    """
    detector = AnomalyDetector(model, latent_size=2, num_epochs=num_epochs, seed=seed, device=device)
    return detector.fit(X).transform(X)


def _check_saved(scaling: Scaling, state: dict[str, Any], network: torch.nn.Module) -> None:
    """Raise unless a loaded detector's input shape, scaling and threshold fit its network (on load, not when
    it first scores)."""
    shape = state["input_shape"]
    if not isinstance(shape, list) or not shape:
        raise ValueError(f"input_shape={brief(shape, 60)}; expected the shape of one row, a list of whole numbers")
    for size in shape:
        whole(size, "input_shape", 1)
    outputs = probe(network, (1, *shape), f"input_shape={shape}")  # (1, *shape): the row rebuilt
    if outputs.numel() != math.prod(shape):
        raise ValueError(f"input_shape={shape}, but the network rebuilds rows of shape {tuple(outputs.shape[1:])}")
    features = math.prod(shape) if scaling.method == "standard" else 1
    for name in ("shift", "scale"):
        values = getattr(scaling, name)
        if scaling.method not in ("standard", "minmax") or not isinstance(values, list) or len(values) != features:
            raise ValueError(f"the {brief(scaling.method, 40)} scaling's {name} has {brief(values, 60)}; expected "
                             f"{features} numbers for rows of shape {shape}")
        for value in values:
            finite(value, f"scaling {name}", positive=name == "scale")
    finite(state["threshold"], "threshold")

