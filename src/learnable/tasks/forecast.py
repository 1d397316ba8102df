"""Forecast a numeric series: the next ``horizon`` values from the last ``window`` ones, with an RNN.

:class:`Forecaster` is the one-object path from a series to a tested forecaster. ``fit`` splits
the series into consecutive time blocks (train, validation, test; see
:mod:`learnable.data.windows`), learns the scaling on the training block only, cuts sliding
windows, trains an :class:`~learnable.models.RNN` (LSTM, GRU or plain RNN) with the
:class:`~learnable.train.Learner` (MSE, AdamW, gradient clipping, early stopping on the validation
block) and measures it on the test block against two baselines a forecaster must beat:

- naive: every future value equals the last one seen;
- seasonal naive (with ``season``): every future value equals the value one season earlier.

With ``relative=True`` (the default) the network sees each window relative to its last value and
predicts the change from it, so a zero output is the naive forecast and a trending series (whose
future leaves the training range) needs no extrapolation of levels the network never saw.

Example:
    >>> import numpy as np
    >>> t = np.arange(400)
    >>> series = np.sin(2 * np.pi * t / 20) + 0.01 * t
    >>> forecaster = Forecaster(window=20, horizon=3, num_epochs=5).fit(series)   # doctest: +SKIP
    >>> forecaster.predict(series[-20:]).shape                                     # doctest: +SKIP
    (3,)
    >>> forecaster.metrics_["mae"] < forecaster.metrics_["naive_mae"]             # doctest: +SKIP
    True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.callbacks.basic import EarlyStopping, GradientClipping
from learnable.callbacks.events import Callback
from learnable.data.loader import check_batch_size
from learnable.data.windows import (
    WindowSplit,
    as_series,
    check_window,
    chronological_bounds,
    sliding_windows,
    split_windows,
)
from learnable.model_contents import probe
from learnable.model_file import load_model, save_model
from learnable.models.rnn import CELLS, RNN
from learnable.optim.optimizers import OptimizerConfig
from learnable.train.learner import Learner, check_num_epochs
from learnable.train.seed import seed_everything
from learnable.utils.params import Params
from learnable.utils.validation import brief, check_choice, check_count, check_flag, finite, quote, whole


class Forecaster(Params):
    """Learn to forecast a series with an RNN; scikit-learn style (``fit`` returns self, learned state ends in ``_``).

    Args:
        window: past steps each forecast reads.
        horizon: future steps each forecast gives.
        cell: "lstm", "gru" or "rnn"; hidden_size, num_layers, dropout: the network's size.
        relative: read windows relative to their last value and predict changes (good for trends).
        season: the season length in steps (12 for monthly data with a yearly cycle), for the
            seasonal-naive baseline; None for no seasonal baseline. Needs ``window >= season``.
        num_epochs: the most epochs; early stopping ends sooner after ``patience`` epochs without a
            better validation loss (and keeps the best epoch's weights).
        lr, batch_size: the AdamW learning rate and the windows per batch.
        validation, test: fractions of the series (its latest steps) held out, in time order.
        seed: one seed for the initial weights and the batch order.
        device: "auto", "cpu" or "cuda"; progress: print one line per epoch.

    Learned: ``network_`` (the RNN, on the CPU), ``scaling_`` (the training block's mean and std),
    ``metrics_`` (test MAE/RMSE of the model and the baselines, in the series' units),
    ``history_`` (the Learner's history), ``training_`` (epochs, best epoch, seconds, block bounds).
    """

    kind = "forecaster"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, window: int = 24, horizon: int = 1, *, cell: str = "lstm", hidden_size: int = 64,
                 num_layers: int = 1, dropout: float = 0.0, relative: bool = True, season: int | None = None,
                 num_epochs: int = 200, lr: float = 3e-3, batch_size: int = 32, validation: float = 0.1,
                 test: float = 0.2, patience: int = 20, seed: int = 0, device: str = "auto",
                 progress: bool = False) -> None:
        self.window, self.horizon, self.cell, self.hidden_size = window, horizon, cell, hidden_size
        self.num_layers, self.dropout, self.relative, self.season = num_layers, dropout, relative, season
        self.num_epochs, self.lr, self.batch_size, self.patience = num_epochs, lr, batch_size, patience
        self.validation, self.test, self.seed, self.device, self.progress = validation, test, seed, device, progress

    # ---- training ---------------------------------------------------------------------------------
    def fit(self, series: Any, callbacks: Sequence[Callback] = ()) -> Forecaster:
        """Train on ``series`` (a 1-D array, list or pandas Series in time order) and test on its last block.

        ``callbacks`` go to the :class:`~learnable.train.Learner`, e.g. ``RecordRun`` to record the run
        (its epochs, statistics and report) in a run store.

        Example:
            >>> Forecaster(window=12, num_epochs=3).fit(np.sin(np.arange(300) / 3))   # doctest: +SKIP
        """
        self.check_settings()
        values = self._as_series(series, "series")
        # Cut once unscaled, only for its clear errors on blocks too short, before anything is learned.
        split_windows(values, self.window, self.horizon, validation=self.validation, test=self.test)
        a, b = chronological_bounds(len(values), self.validation, self.test)
        train = values[:a]  # the scaling is learned on the training block only
        scaling = {"mean": float(train.mean()), "std": float(train.std()) or 1.0}
        parts = split_windows(self._scale(values, scaling), self.window, self.horizon, validation=self.validation,
                              test=self.test)
        start = time.perf_counter()
        learner = self._learner(parts, callbacks)
        learner.fit(self.num_epochs)
        # Set only now, together: a failed refit leaves a fitted forecaster exactly as it was.
        self.network_, self.scaling_ = learner.model.cpu().eval(), scaling
        self.history_ = learner.history
        self.training_ = _training_summary(learner, time.perf_counter() - start, len(values), parts)
        self.metrics_ = self.evaluate(values[b - self.window:]) if b < len(values) else {}
        return self

    def _learner(self, parts: WindowSplit, extra: Sequence[Callback]) -> Learner:
        seed_everything(self.seed)  # the initial weights
        model = RNN(in_features=1, out_features=self.horizon, cell=self.cell, hidden_size=self.hidden_size,
                    num_layers=self.num_layers, dropout=self.dropout)
        validation = None if parts.validation is None else self._examples(*parts.validation)
        callbacks = [GradientClipping(1.0)]  # a recurrent network's gradient can spike (it is a deep net in time)
        if validation is not None:
            callbacks.append(EarlyStopping(patience=self.patience, restore_best=True))
        callbacks += list(extra)
        return Learner(model, self._examples(*parts.train), loss="mse", optimizer=OptimizerConfig("adamw", lr=self.lr),
                       batch_size=self.batch_size, validation=validation, callbacks=callbacks, device=self.device,
                       seed=self.seed, progress=self.progress)

    def _examples(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled windows (N, window, 1) and targets (N, horizon) as the network sees them."""
        if not self.relative:
            return X, y
        last = X[:, -1:, 0]  # (N, 1)
        return X - last[:, :, None], y - last

    # ---- forecasting --------------------------------------------------------------------------------
    def predict(self, recent: Any) -> np.ndarray:
        """The next ``horizon`` values after ``recent`` (at least ``window`` values; the last ``window`` are read).

        Returns a (horizon,) float64 array in the series' units.

        Example:
            >>> forecaster.predict(series[-24:])   # doctest: +SKIP
            array([412.1, 413.0, 413.6])
        """
        self._check_fitted()
        values = self._as_series(recent, "recent")
        if len(values) < self.window:
            raise ValueError(
                f"recent has {len(values)} values; the forecaster reads the last window={self.window}. "
                f"Pass at least {self.window} values of the series, ending with the latest."
            )
        return self._forecast(values[None, -self.window:])[0]

    def _forecast(self, windows: np.ndarray) -> np.ndarray:
        """Forecasts (N, horizon) in the series' units for raw windows (N, window)."""
        scaled = self._scale(windows)  # (N, window), float64
        inputs, _ = self._examples(scaled[:, :, None], scaled[:, -1:])
        inputs = torch.from_numpy(inputs.astype(np.float32))  # (N, window, 1)
        with torch.no_grad():
            outputs = torch.cat([self.network_(chunk) for chunk in inputs.split(4096)]).double().numpy()  # (N, horizon)
        if self.relative:
            outputs = outputs + scaled[:, -1:]
        return outputs * self.scaling_["std"] + self.scaling_["mean"]

    def evaluate(self, series_part: Any) -> dict[str, float]:
        """MAE and RMSE of the model, the naive and (with ``season``) the seasonal-naive forecasts on every
        window of ``series_part``, in the series' units; each window's first ``window`` steps are its history.

        ``metrics_`` is this on the test block with the ``window`` steps before it.
        """
        self._check_fitted()
        values = self._as_series(series_part, "series_part")
        if len(values) < self.window + self.horizon:
            raise ValueError(
                f"series_part has {len(values)} steps; evaluate needs at least window + horizon = "
                f"{self.window + self.horizon}: a window of history and the horizon after it."
            )
        X, y = sliding_windows(values, self.window, self.horizon, dtype=np.float64)  # exact, in the series' units
        windows = X[:, :, 0]  # (N, window)
        forecasts = {"": self._forecast(windows), "naive_": np.repeat(windows[:, -1:], self.horizon, axis=1)}
        if self.season is not None:
            forecasts["seasonal_naive_"] = seasonal_naive(windows, self.horizon, self.season)
        metrics: dict[str, float] = {}
        for prefix, forecast in forecasts.items():
            error = forecast - y  # (N, horizon)
            metrics[f"{prefix}mae"] = float(np.abs(error).mean())
            metrics[f"{prefix}rmse"] = float(np.sqrt((error**2).mean()))
        metrics["windows"] = len(y)
        return metrics

    # ---- saving -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Save as ``model.safetensors`` + ``model.json`` (settings, scaling, metrics, history) atomically."""
        self._check_fitted()
        info = {self.kind: {"settings": self.get_params(), "scaling": self.scaling_, "metrics": self.metrics_,
                               "training": self.training_},
                "history": self.history_}
        return save_model(directory, self.network_, info)

    @classmethod
    def load(cls, directory: str | Path) -> Forecaster:
        """Load a forecaster saved by :meth:`save` (JSON and raw tensors, never a pickle)."""
        network, info = load_model(directory)
        saved = info.get(cls.kind)
        if not isinstance(saved, dict) or not isinstance(saved.get("settings"), dict) or not isinstance(network, RNN):
            raise ValueError(
                f"'{directory}' holds a learnable model but not a Forecaster (no '{cls.kind}' entry with an RNN); "
                "load it with learnable.model_file.load_model or learnable.load."
            )
        try:
            forecaster = cls(**saved["settings"])
            _check_saved(forecaster, network, saved.get("scaling"))
        except (TypeError, ValueError) as error:
            raise ValueError(f"'{directory}' has damaged forecaster settings in model.json: "
                             f"{quote(str(error))}") from None
        forecaster.network_, forecaster.scaling_ = network, dict(saved["scaling"])
        forecaster.metrics_, forecaster.training_ = saved.get("metrics", {}), saved.get("training", {})
        forecaster.history_ = info.get("history", [])
        return forecaster

    # ---- checks -------------------------------------------------------------------------------------
    def _scale(self, values: np.ndarray, scaling: dict[str, float] | None = None) -> np.ndarray:
        scaling = self.scaling_ if scaling is None else scaling
        return (values - scaling["mean"]) / scaling["std"]

    def _as_series(self, series: Any, name: str) -> np.ndarray:
        values = as_series(series, name)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]  # one column: (T, 1) -> (T,)
        if values.ndim != 1:
            raise ValueError(
                f"{name} has shape {values.shape}; a Forecaster forecasts one series: pass a 1-D array, list or "
                "pandas Series (for several series, fit one Forecaster each)."
            )
        return values

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise ValueError(
                "this Forecaster is not fitted yet; call .fit(series) or Forecaster.load(directory) first."
            )

    def check_settings(self) -> None:
        """Raise a clear ValueError/TypeError on a setting ``fit`` would refuse (before any data is read)."""
        check_window(self.window, self.horizon)
        check_choice("cell", self.cell, tuple(sorted(CELLS)))
        check_count("season", self.season, "12 for monthly data", allow_none=True)
        if self.season is not None and self.season > self.window:
            raise ValueError(
                f"season={self.season} is longer than window={self.window}; the seasonal-naive baseline reads "
                "the value one season back from the window: use window >= season."
            )
        check_num_epochs(self.num_epochs)
        check_batch_size(self.batch_size)
        OptimizerConfig("adamw", lr=self.lr).check()
        chronological_bounds(100, self.validation, self.test)  # the fractions' own errors
        check_flag("relative", self.relative)
        if self.validation:
            check_count("patience", self.patience, "10 epochs")
        RNN(in_features=1, out_features=self.horizon, cell=self.cell, hidden_size=self.hidden_size,
            num_layers=self.num_layers, dropout=self.dropout)  # the network's own errors, before any data is read


def _training_summary(learner: Learner, seconds: float, steps: int, parts: WindowSplit) -> dict[str, Any]:
    """What ``training_`` records of a fit: epochs, the epoch kept, time, and where the blocks start."""
    stopper = next((c for c in learner.callbacks if isinstance(c, EarlyStopping)), None)
    return {"epochs": learner.epoch, "best_epoch": stopper.best_epoch if stopper else learner.epoch,
            "seconds": seconds, "stop_reason": learner.stop_reason, "steps": steps,
            "validation_start": parts.bounds[0], "test_start": parts.bounds[1], "train_windows": len(parts.train[0])}


def seasonal_naive(windows: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The seasonal-naive forecast (N, horizon) for windows (N, window): step ``h`` repeats the value
    ``season * ceil(h / season)`` steps before it (the latest value of the same phase of the season).

    Example:
        >>> seasonal_naive(np.array([[1.0, 2.0, 3.0, 4.0]]), horizon=3, season=2).tolist()
        [[3.0, 4.0, 3.0]]
    """
    window = windows.shape[1]
    steps = np.arange(1, horizon + 1)
    back = season * np.ceil(steps / season).astype(int)  # (horizon,)
    return windows[:, window - 1 + steps - back]  # (N, horizon)


def _check_saved(forecaster: Forecaster, network: RNN, scaling: Any) -> None:
    """Raise unless a loaded forecaster's scaling and settings fit its network (on load, not at the first forecast)."""
    if not isinstance(scaling, dict):
        raise ValueError(f"scaling={brief(scaling, 60)}; expected an object with the series' mean and std")
    finite(scaling.get("mean"), "scaling mean")
    finite(scaling.get("std"), "scaling std", positive=True)
    window, horizon = whole(forecaster.window, "window", 1), whole(forecaster.horizon, "horizon", 1)
    if not isinstance(forecaster.relative, bool):
        raise ValueError(f"relative={brief(forecaster.relative, 60)} is not true or false")
    steps = min(window, 8)  # the network reads windows of any length: a short one shows its input and output
    outputs = probe(network, (1, steps, 1), f"the settings describe windows of {window} values")  # (1, horizon)
    if tuple(outputs.shape) != (1, horizon):
        raise ValueError(f"horizon={horizon}, but the network forecasts {tuple(outputs.shape[1:])} steps")


__all__ = ["Forecaster", "seasonal_naive"]
