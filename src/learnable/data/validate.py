"""Turn what a user hands us into a DataFrame and a target, and refuse bad data with a clear message.

Everything here runs before any training step: a user mistake is reported as a ``ValueError`` or
``TypeError`` that says what was received, what was expected and how to fix it.

Example:
    >>> import numpy as np
    >>> X, y = as_features(np.eye(3)), as_target([0, 1, 0])
    >>> check_pair(X, y)
    >>> list(X.columns)
    ['x0', 'x1', 'x2']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

_MAX_ROWS_SHOWN = 5
NESTED = (list, tuple, dict, set, frozenset, np.ndarray)  # cells that hold several values, not one
NUMBER_KINDS = ("integer", "floating", "mixed-integer-float")  # pandas' infer_dtype names for numbers


def _to_numpy(data: Any) -> Any:
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    return data


def as_features(X: Any) -> pd.DataFrame:
    """Return the features as a DataFrame with string column names (x0, x1, ... for arrays).

    A dict is read as columns (``{"age": [30, 40]}``) or, with scalar values, as one row. A plain
    list, 1-D array or Series of strings is one column of texts (named "text", or the Series' name).

    Arrays with more than two dimensions (images) are flattened to one row per sample.
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"X is a string ({X!r}); expected a 2-D array, a DataFrame or a list of rows. "
            "To train on a file, pass its path with the target column: learnable.fit('data.csv', 'price')."
        )
    if is_text_sequence(X):
        name = str(X.name) if isinstance(X, pd.Series) and X.name is not None else "text"
        return pd.DataFrame({name: list(X)})
    if isinstance(X, pd.Series):
        raise ValueError(
            f"X is a single pandas Series '{X.name}' ({len(X)} values); learnable needs a 2-D table "
            "of features, one row per sample. Use X.to_frame() for one feature."
        )
    if isinstance(X, dict):  # {column: values}, or {column: value} for a single row
        scalar = all(np.ndim(v) == 0 for v in X.values())
        X = pd.DataFrame([X]) if scalar else pd.DataFrame(X)
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        duplicated = frame.columns[frame.columns.duplicated()].tolist()
        if duplicated:
            raise ValueError(f"X has duplicated column names {duplicated}; give each column a unique name.")
        return _typed_columns(frame)
    array = np.asarray(_to_numpy(X))
    if array.ndim == 0:
        raise ValueError(f"X is a single value ({array!r}); expected a 2-D array of shape (rows, features).")
    if array.ndim == 1:
        raise ValueError(
            f"X is 1-D with shape {array.shape}; expected 2-D (rows, features). "
            "Use X.reshape(-1, 1) for one feature per row, or X.reshape(1, -1) for one row."
        )
    if array.ndim > 2:
        array = array.reshape(array.shape[0], -1)  # (N, H, W) -> (N, H*W)
    return _typed_columns(pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]))


def _typed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its object columns checked for nested cells, and those holding only numbers typed so."""
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_object_dtype(dtype):  # only object columns can hold lists, or numbers untyped
            check_cells(frame[name], "column")
            frame[name] = numbers_typed(frame[name])
    return frame


def numbers_typed(column: pd.Series) -> pd.Series:
    """An object column that holds only numbers (as JSON records or ``astype(object)`` give) as numbers.

    Example:
        >>> numbers_typed(pd.Series([1.5, 2], dtype=object)).dtype
        dtype('float64')
    """
    if pd.api.types.is_object_dtype(column.dtype) and pd.api.types.infer_dtype(column, skipna=True) in NUMBER_KINDS:
        return column.infer_objects()
    return column


def check_cells(column: pd.Series, what: str = "column") -> None:
    """Raise if ``column`` holds lists, arrays, dicts or sets: learnable reads one value per cell.

    Such columns come from nested Parquet files or JSON records. ``what`` names the column in the
    message: "column" for a feature, "target" for y.

    Example:
        >>> check_cells(pd.Series([[1, 2], [3, 4]], name="pixels"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: column 'pixels' holds list values (row 0), for example [1, 2]; ...
    """
    if not pd.api.types.is_object_dtype(column.dtype):
        return
    if pd.api.types.infer_dtype(column, skipna=True) not in ("mixed", "mixed-integer"):
        return  # all strings, numbers, bools or dates: a fast check in C
    nested = column.map(lambda value: isinstance(value, NESTED)).to_numpy(dtype=bool)
    if nested.any():
        row = int(np.flatnonzero(nested)[0])
        value = column.iloc[row]
        fix = (f"Expand or drop that column: pd.DataFrame(X['{column.name}'].tolist()) makes one column per "
               "element." if what == "column" else "Pass one label or number per row.")
        raise ValueError(
            f"{what} '{column.name}' holds {type(value).__name__} values (row {row}), for example {value!r:.40}; "
            f"learnable needs one number or category in each cell. {fix}"
        )


def is_text_sequence(X: Any) -> bool:
    """Whether ``X`` is a plain list, tuple, 1-D array or Series of strings: texts, one per row."""
    one_dimensional = isinstance(X, (list, tuple, pd.Series)) or (isinstance(X, np.ndarray) and X.ndim == 1)
    return one_dimensional and len(X) > 0 and all(isinstance(value, str) for value in X)


def as_target(y: Any) -> pd.Series:
    """Return the target as a pandas Series named after its column (``target`` for arrays)."""
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(
                f"y is a DataFrame with {y.shape[1]} columns {list(y.columns)[:5]}; expected one target "
                "column. Pass y[column] for the column you want to predict."
            )
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        target = y.reset_index(drop=True).rename(str(y.name) if y.name is not None else "target")
        check_cells(target, "target")
        return numbers_typed(target)
    array = np.asarray(_to_numpy(y))
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"y has shape {array.shape}; expected one target value per row, shape (rows,). "
            "learnable predicts a single target column."
        )
    target = pd.Series(array, name="target")
    check_cells(target, "target")
    return numbers_typed(target)


MISSING = ("impute", "error")  # what fit does with a missing cell: learn to fill it, or refuse the table


def check_features(X: pd.DataFrame, missing: str = "error") -> None:
    """Raise if the features are empty or hold infinite values, or (with ``missing="error"``) missing ones;
    columns are named, rows by the labels of X's index.

    ``missing="impute"``: a NaN, None or NA cell is data (the schema fills it and marks it); infinity
    is still refused, since no value stands in for it.

    Example:
        >>> check_features(pd.DataFrame({"a": [1.0, None]}), missing="impute")
    """
    if X.shape[0] == 0:
        raise ValueError("X has no rows; learnable needs at least one sample to learn from.")
    if X.shape[1] == 0:
        raise ValueError(f"X has {X.shape[0]} rows but no columns; give it at least one feature.")
    numeric = X.select_dtypes(include=["number", "bool"])
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    infinite = pd.DataFrame(np.isinf(values), index=X.index, columns=numeric.columns)
    _refuse(infinite, "infinite", "a finite value", lambda column: f"X['{column}'].replace([np.inf, -np.inf], np.nan)")
    if missing == "impute":
        return
    _refuse(numeric.isna(), "missing", "a value", lambda column: f"X['{column}'].fillna(X['{column}'].median())")
    text = X.drop(columns=numeric.columns).isna()
    _refuse(text, "missing", "a value", lambda column: f"X['{column}'].fillna('missing')")


def _refuse(bad: pd.DataFrame, what: str, value: str, fill: Any) -> None:
    """Raise for the first column of ``bad`` (a boolean frame) with a True cell, naming rows by index label."""
    columns = bad.columns[bad.any(axis=0).to_numpy()]
    if not len(columns):
        return
    column = columns[0]
    rows = bad.index[bad[column].to_numpy()]
    raise ValueError(
        f"column '{column}' has {len(rows)} {what} values (rows {rows_text(rows)}){_others(columns)}; "
        f"learnable needs {value} in every cell. Fill them (for example {fill(column)}) or drop those rows."
    )


def check_target(y: pd.Series) -> None:
    """Raise if the target is empty or has missing or infinite values."""
    if len(y) == 0:
        raise ValueError("y has no rows; learnable needs a target value for every sample.")
    missing = y.isna().to_numpy().copy()
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        missing |= ~np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"target '{y.name}' has {len(rows)} missing or infinite values (rows {rows_text(rows)}); "
            "learnable needs a target for every row. Drop those rows first."
        )


def check_pair(X: pd.DataFrame, y: pd.Series, missing: str = "error") -> None:
    """Check features and target together: both valid (``missing``: see :func:`check_features`), and one
    target per row."""
    if len(X) != len(y):
        raise ValueError(
            f"X has {len(X)} rows but y has {len(y)} values; expected one target per row. "
            "Check that X and y come from the same table and were filtered the same way."
        )
    check_features(X, missing)
    check_target(y)


def plain(value: Any) -> Any:
    """A JSON-native Python value for a NumPy scalar, so messages and model.json read naturally."""
    return value.item() if isinstance(value, np.generic) else value


def rows_text(rows: Any) -> str:
    """Rows for an error message (positions, or the labels of the user's index): the first few, then "...".
    ``rows_text(np.arange(3))`` is '0, 1, 2'."""
    shown = ", ".join(str(plain(r)) for r in list(rows[:_MAX_ROWS_SHOWN]))
    return shown + (", ..." if len(rows) > _MAX_ROWS_SHOWN else "")


def _others(columns: pd.Index) -> str:
    if len(columns) == 1:
        return ""
    return f"; columns {list(columns[1:4])}{' ...' if len(columns) > 4 else ''} have them too"


def as_rows(X: Any, name: str = "X", dtype: Any = np.float32) -> np.ndarray:
    """``X`` as an array of rows (float32 by default), (N, features) or images (N, C, H, W), after checking it.

    (N, H, W) images get one channel. Raises a clear error for 1-D, empty, non-numeric or
    non-finite input. The unsupervised estimators (k-means, PCA, the anomaly detector) read X with it.
    """
    if hasattr(X, "to_numpy"):  # pandas
        X = X.to_numpy()
    elif isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    array = np.asarray(X)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}; encode text columns first.")
    if array.ndim == 1 or array.ndim == 0 or array.ndim > 4:
        raise ValueError(
            f"{name} has shape {array.shape}; expected rows (N, features), or images (N, C, H, W) or (N, H, W). "
            "For a single feature use X.reshape(-1, 1); for a single row use X.reshape(1, -1)."
        )
    if array.ndim == 3:
        array = array[:, None]  # (N, H, W) -> (N, 1, H, W)
    if len(array) == 0 or array[0].size == 0:
        raise ValueError(f"{name} has shape {array.shape}, with no rows or no values per row; pass some data.")
    array = array.astype(dtype, copy=False)
    if array.dtype.kind == "f":
        with np.errstate(over="ignore"):  # a sum that overflows to inf just means: look closer
            if np.isfinite(array.sum()):  # one fast pass: all finite
                return array
    bad = ~np.isfinite(array.reshape(len(array), -1)).all(1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f"{name} has {len(rows)} row(s) with NaN or infinite values (rows [{rows_text(rows)}]); "
                         "drop or impute them first.")
    return array


def as_matrix(X: Any, dtype: torch.dtype | None = None, name: str = "X") -> torch.Tensor:
    """``X`` (array, DataFrame, tensor; images are flattened) as a checked CPU tensor (N, F) of ``dtype``.

    ``dtype`` None follows the input as scikit-learn does: float32 stays float32, anything else becomes
    float64. No copy is made when X already is a C-ordered NumPy array of that dtype, so the result may
    share memory with X: callers must not write into it.

    Example:
        >>> as_matrix(np.eye(3, dtype=np.float32)).dtype, as_matrix([[1, 2]]).dtype
        (torch.float32, torch.float64)
    """
    if dtype is None:
        dtype = torch.float32 if str(getattr(X, "dtype", "")).removeprefix("torch.") == "float32" else torch.float64
    rows = np.ascontiguousarray(as_rows(X, name, dtype=np.float32 if dtype == torch.float32 else np.float64))
    if not rows.flags.writeable:  # torch tensors cannot be read-only (a memory map, a pandas view): copy
        rows = rows.copy()
    return torch.from_numpy(rows.reshape(len(rows), -1))


def output_like(result: torch.Tensor, X: Any) -> np.ndarray | torch.Tensor:
    """What a classic estimator returns for input X: the tensor (on the device) for a tensor X, else NumPy.

    Example:
        >>> type(output_like(torch.zeros(2), [[1.0], [2.0]])).__name__
        'ndarray'
    """
    return result if isinstance(X, torch.Tensor) else result.cpu().numpy()
