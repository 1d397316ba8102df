"""Class labels: the NumPy dtype predictions come back in, and how model.json stores them.

A classifier predicts its training labels, so they go into model.json, which holds bools, numbers and
strings. Labels of any other type (bytes, dates, tuples) are refused when the model is fitted, not
when it is saved. The labels' dtype is stored next to them, so a model predicts, before and after
``save``/``load``, an array of the dtype of its training labels, as scikit-learn's ``classes_`` does:
int labels give an int array, strings a ``<U`` array, never an object array that ``np.save`` can
write only with pickle.

Example:
    >>> import numpy as np
    >>> dtype = labels_dtype(np.array([2, 0, 5], dtype=np.int32))
    >>> labels_array([0, 2, 5], dtype.str)
    array([0, 2, 5], dtype=int32)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from learnable.data.validate import plain
from learnable.utils.validation import brief, numpy_dtype, quote

LABEL_KINDS = "biufUO"  # dtype kinds JSON can carry: bools, ints, floats, strings, and objects holding those
JSON_LABELS = (bool, int, float, str)


def labels_dtype(labels: Any, name: str = "y") -> np.dtype:
    """The dtype of predicted labels for training labels ``labels`` (array, Series or Index).

    Bools and numbers keep their own dtype (pandas' nullable ones their NumPy one), strings are ``<U``
    and a mix of strings and numbers is object. Raises a TypeError naming the labels' type when
    model.json could not store them (bytes, dates, tuples).

    Example:
        >>> labels_dtype(pd.Series(["cat", "dog"], dtype=object)), labels_dtype(pd.Series([1, 0], dtype="Int64"))
        (dtype('<U3'), dtype('int64'))
    """
    dtype = getattr(labels, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        return labels_dtype(dtype.categories, name)
    dtype = getattr(dtype, "numpy_dtype", dtype)  # pandas' Int64 / boolean / Float64 -> int64 / bool / float64
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return dtype
    values = [plain(value) for value in pd.unique(np.asarray(labels, dtype=object).ravel())]
    odd = next((value for value in values if not isinstance(value, JSON_LABELS)), None)
    if odd is not None:
        raise TypeError(_refusal(odd, name))
    dtype = _values_dtype(values)
    if dtype.kind == "O":
        examples = {type(value).__name__: value for value in reversed(values)}  # the first of each type
        kinds = sorted(examples)
        raise TypeError(f"{name}: labels mix {' and '.join(kinds)} (for example "
                        f"{' and '.join(repr(examples[kind]) for kind in kinds)}); predictions take one type. "
                        "Please give every label one type first, e.g. y.astype(str).")
    return dtype


def _values_dtype(values: list[Any]) -> np.dtype:
    """bool, int64, float64 (ints and floats together) or ``<U`` for plain labels; object for any other mix."""
    kinds = {bool if isinstance(v, bool) else str if isinstance(v, str) else float for v in values}
    if len(kinds) > 1:
        return np.dtype(object)
    return np.dtype(bool) if kinds == {bool} else np.asarray(values).dtype


def labels_array(classes: list[Any], dtype: Any) -> np.ndarray:
    """The labels read from model.json as an array of their saved ``dtype`` (from the values when None).

    The dtype is checked first (:func:`classes_dtype`), so a damaged or crafted one is a short
    ValueError, never an allocation of gigabytes.

    Example:
        >>> labels_array(["a", "b"], None).dtype, labels_array([1.0, 2.0], "<f4").dtype
        (dtype('<U1'), dtype('float32'))
    """
    if dtype is None:  # a model saved before the dtype was recorded: read from the values (object for a mix)
        dtype = _values_dtype(classes).str
    return np.array(classes, dtype=classes_dtype(dtype, classes))


def classes_dtype(dtype: Any, classes: list[Any]) -> np.dtype:
    """The saved dtype ``dtype`` of the labels ``classes`` when it holds them exactly; else a short ValueError.

    A bool, number, string or object dtype; a string one exactly as wide as the longest label (a
    ``<U9`` for 3-letter labels would pad them, a ``<U1`` cut them, a ``<U400000000`` allocate 1.6 GB
    per label).

    Example:
        >>> classes_dtype("<U3", ["cat", "dog"])
        dtype('<U3')
        >>> classes_dtype("<U400000000", ["cat", "dog"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: class labels of dtype <U400000000 do not fit the labels ['cat', 'dog']: expected '<U3', ...
    """
    parsed = numpy_dtype(dtype, LABEL_KINDS)
    if parsed is None:
        raise ValueError(f"class labels of dtype {quote(dtype, 60)} cannot be read back; expected one of the kinds "
                         f"{LABEL_KINDS!r} (bools, numbers, strings). The model file is damaged: train it again.")
    longest = max((len(label) for label in classes if isinstance(label, str)), default=0)
    if parsed.kind == "U" and parsed.itemsize != 4 * longest:
        raise ValueError(f"class labels of dtype {quote(dtype, 60)} do not fit the labels {brief(classes, 80)}: "
                         f"expected '<U{longest}', as wide as the longest label. The model file is damaged: "
                         "train it again.")
    return parsed


def _refusal(value: Any, name: str) -> str:
    kind = type(value).__name__
    if isinstance(value, bytes):
        fix = "decode them to str first, e.g. y.str.decode('utf-8') or [label.decode() for label in y]"
    else:
        fix = "convert them to str (y.astype(str)) or to numbers first"
    return (f"{name}: labels are {kind} (for example {value!r:.40}); a classifier's labels must be bools, numbers "
            f"or strings, which the saved model can store. Please {fix}.")
