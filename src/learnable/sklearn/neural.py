"""Neural networks with scikit-learn's interface: an MLP trained by learnable's Learner.

:class:`NeuralNetClassifier` and :class:`NeuralNetRegressor` build a :class:`learnable.models.MLP` and
train it with the :class:`~learnable.train.Learner` (AdamW, mini-batches, optional early stopping on a
held-out fraction). They go through the Learner, not ``learnable.fit``: ``fit`` holds out its own
validation and test splits and encodes tables itself, while a scikit-learn estimator must train on
exactly the rows it is given (often a few dozen, inside cross-validation) and leave preprocessing to the
``Pipeline``, so scale X there (``StandardScaler``).

Training is seeded by ``random_state`` (the initial weights, the dropout masks and the batch order), so
two fits with the same whole-number ``random_state`` give the same network; the global random state of
PyTorch is left as it was. The fitted network is kept on the CPU (``network_``), so a fitted estimator
pickles and predicts anywhere; it predicts in float64 from the float32-trained weights, so a row's
prediction does not depend on the other rows predicted with it.

Example:
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NeuralNetClassifier(random_state=0)).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from learnable.callbacks import EarlyStopping
from learnable.models import MLP
from learnable.optim import OptimizerConfig
from learnable.sklearn._adapter import as_seed
from learnable.train import Learner
from learnable.train.inputs import resolve_device
from learnable.utils.validation import check_count, check_flag, check_number

PREDICT_ROWS = 65536  # rows per forward pass at predict time: bounded memory for big X


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed PyTorch's generators for a block and restore them afterwards (the user's global state is kept).

    Only the CPU generator and, for a CUDA ``device``, that GPU's: ``torch.manual_seed`` would also seed
    every GPU, which ``fork_rng`` does not restore, so a CPU fit would change the user's CUDA random state.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if devices:
            with torch.cuda.device(devices[0]):
                torch.cuda.manual_seed(seed)
        yield


class NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: settings, training with the Learner, the forward pass.

    Args:
        hidden_sizes: the widths of the hidden layers; ``()`` is a linear model.
        activation: "relu", "gelu", "tanh" or "sigmoid".
        dropout: the dropout rate after each hidden layer, in [0, 1).
        num_epochs: passes over the training rows (fewer with early stopping).
        lr: AdamW's learning rate.
        batch_size: rows per step (at most the number of rows).
        weight_decay: AdamW's decoupled weight decay.
        early_stopping: hold out ``validation_fraction`` of the rows and stop when their loss has not
            improved for ``patience`` epochs, keeping the best epoch's weights.
        validation_fraction, patience: see ``early_stopping``.
        random_state: None (fresh randomness each fit), a whole number or a ``RandomState``.
        device: where to train: "auto" (CUDA when present), "cpu" or "cuda". Predictions run on the CPU.
        verbose: print one line per epoch.

    Attributes (after ``fit``): ``network_`` (the trained MLP, on the CPU, in float64), ``history_`` (one dict of
    metrics per epoch), ``n_iter_`` (epochs trained), ``loss_`` (the last epoch's training loss),
    ``n_features_in_``.
    """

    def __init__(self, hidden_sizes: tuple[int, ...] = (64,), *, activation: str = "relu", dropout: float = 0.0,
                 num_epochs: int = 200, lr: float = 1e-3, batch_size: int = 200, weight_decay: float = 1e-4,
                 early_stopping: bool = False, validation_fraction: float = 0.1, patience: int = 10,
                 random_state: Any = None, device: str = "auto", verbose: bool = False) -> None:
        self.hidden_sizes, self.activation, self.dropout = hidden_sizes, activation, dropout
        self.num_epochs, self.lr, self.batch_size, self.weight_decay = num_epochs, lr, batch_size, weight_decay
        self.early_stopping, self.validation_fraction, self.patience = early_stopping, validation_fraction, patience
        self.random_state, self.device, self.verbose = random_state, device, verbose

    def _train(self, X: np.ndarray, targets: np.ndarray, loss: str, outputs: int) -> None:
        """Train a new MLP from X (N, F) float32 to ``targets`` with ``loss``; set the fitted attributes."""
        self._check_settings()
        seed, device = as_seed(self.random_state), resolve_device(self.device)
        with seeded(seed, device):
            model = MLP(in_features=X.shape[1], out_features=outputs, hidden_sizes=tuple(self.hidden_sizes),
                        activation=self.activation, dropout=self.dropout)
            stopper = [EarlyStopping(patience=self.patience)] if self.early_stopping else []
            learner = Learner(model, (X, targets), loss=loss, batch_size=min(self.batch_size, len(X)),
                              optimizer=OptimizerConfig("adamw", lr=self.lr, weight_decay=self.weight_decay),
                              validation=self.validation_fraction if self.early_stopping else None,
                              callbacks=stopper, device=device, seed=seed, progress=self.verbose, statistics=None)
            learner.fit(self.num_epochs)
        # Kept in float64 (the trained float32 weights, exactly): a row's prediction then does not depend on
        # which other rows share its batch, as float32's batch-size-dependent kernels would make it.
        self.network_ = learner.model.cpu().double().eval()
        self.history_ = learner.history
        self.n_iter_, self.loss_ = learner.epoch, self.history_[-1]["train_loss"]

    def _check_settings(self) -> None:
        check_flag("early_stopping", self.early_stopping)
        if self.early_stopping:  # the fraction held out to decide when to stop
            check_number("validation_fraction", self.validation_fraction, 0, 1, "0.1 with early_stopping=True",
                         low_open=True, high_open=True)
        check_count("batch_size", self.batch_size, 200)

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's raw outputs (N, outputs) for X, in float64, after scikit-learn's input checks."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with torch.no_grad():
            outputs = [self.network_(torch.from_numpy(np.array(rows))) for rows in np.split(X, _cuts(len(X)))]
        return torch.cat(outputs).numpy()


def _cuts(rows: int) -> list[int]:
    """Where to split ``rows`` rows into chunks of PREDICT_ROWS."""
    return list(range(PREDICT_ROWS, rows, PREDICT_ROWS))


class NeuralNetClassifier(ClassifierMixin, NeuralNet):
    """A multilayer perceptron classifier trained with cross-entropy by learnable's Learner.

    Labels may be any values scikit-learn accepts (ints, strings); ``classes_`` holds them sorted.
    See :class:`NeuralNet` for the arguments; ``score`` is the accuracy.

    Example:
        >>> X, y = [[0.0], [0.2], [0.9], [1.0]], ["no", "no", "yes", "yes"]
        >>> model = NeuralNetClassifier(num_epochs=300, lr=0.05, random_state=0).fit(X, y)
        >>> model.predict([[0.1], [0.95]]).tolist()
        ['no', 'yes']
    """

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Train on X (n_samples, n_features) and labels y (n_samples,); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y holds only one class ({self.classes_[0]!r}); a classifier needs at least 2 "
                             "classes to tell apart.")
        self._train(X, indices.astype(np.int64), "cross_entropy", len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """The probability of each class, shape (n_samples, n_classes), columns in ``classes_`` order."""
        logits = self._outputs(X)  # (N, K)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, shape (n_samples,)."""
        indices = self._outputs(X).argmax(axis=1)  # first: it raises NotFittedError before fit
        return self.classes_[indices]


class NeuralNetRegressor(MultiOutputMixin, RegressorMixin, NeuralNet):
    """A multilayer perceptron regressor trained with the mean squared error by learnable's Learner.

    The targets are standardised for training (so their scale needs no tuning of ``lr``) and the
    predictions mapped back. y may be (n_samples,) or (n_samples, n_targets) for several targets at once.
    See :class:`NeuralNet` for the arguments; ``score`` is R^2.

    Example:
        >>> import numpy as np
        >>> X = np.linspace(-1, 1, 50)[:, None]
        >>> model = NeuralNetRegressor(random_state=0, lr=0.01).fit(X, 3 * X[:, 0] + 1)
        >>> model.score(X, 3 * X[:, 0] + 1) > 0.99
        True
    """

    def fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """Train on X (n_samples, n_features) and targets y (n_samples,) or (n_samples, n_targets); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True, multi_output=True)
        y = y.astype(np.float64)
        self.y_mean_, scale = y.mean(axis=0), y.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)  # a constant target: nothing to scale
        targets = ((y - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._train(X, targets, "mse", 1 if y.ndim == 1 else y.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets: (n_samples,) if fitted on a 1-D y, else (n_samples, n_targets)."""
        predicted = self._outputs(X) * self.y_scale_ + self.y_mean_  # (N, T)
        return predicted[:, 0] if np.ndim(self.y_mean_) == 0 else predicted
