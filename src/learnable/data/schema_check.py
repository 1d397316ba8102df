"""Checks of a schema read back from model.json, before a model predicts with it.

A schema from a file may be damaged or crafted: ``classes: null`` would fail at predict time with an
IndexError, a ``mean`` list shorter than the numeric columns would silently shift every column's
scaling. :func:`check_schema` checks every field's type and that the lengths agree with each other, and raises
one short ValueError naming the field. (That a loaded network reads the rows the schema encodes is
checked by :func:`learnable.tasks.fitted_model.check_network`.)

Example:
    >>> check_schema({"feature_names": ["a"], "task": "regression", "numeric": ["a"], "mean": [0.0], "std": [2.0]})
    >>> check_schema({"feature_names": ["a"], "task": "binary", "numeric": ["a"], "mean": [0.0], "std": [2.0],
    ...               "classes": None})
    Traceback (most recent call last):
    ...
    ValueError: schema field 'classes' is None; a binary model needs 2 distinct class labels (bools, numbers, strings).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from learnable.data.dates import DATE_PARTS, part_names
from learnable.data.labels import classes_dtype
from learnable.data.tokenizer import Tokenizer
from learnable.data.validate import MISSING
from learnable.utils.validation import brief, finite, is_whole

TASKS = ("regression", "binary", "multiclass")
LABEL_TYPES = (bool, int, float, str)
MAX_TEXT_LENGTH = 100_000  # tokens per text; learnable cuts texts far shorter (schema.MAX_TEXT_TOKENS)


def check_schema(data: Any, fields: Collection[str] | None = None) -> None:
    """Raise a ValueError naming the first field of ``data`` (a :meth:`Schema.to_dict`) that is wrong;
    given ``fields``, one that is not among them, too."""
    if not isinstance(data, dict):
        raise ValueError(f"the schema is {type(data).__name__}, expected an object of fields")
    unknown = sorted(str(name) for name in data if fields is not None and name not in fields)
    if unknown:
        raise ValueError(f"the schema has unknown fields {brief(unknown[:5], 100)}: a newer learnable wrote it (then "
                         "upgrade learnable), or it is damaged")
    names = _strings(data, "feature_names", distinct=True)
    if not names:
        raise ValueError("schema field 'feature_names' is empty; a model reads at least one column")
    if data.get("task") not in TASKS:
        raise ValueError(f"schema field 'task' is {brief(data.get('task'), 60)}; expected one of {list(TASKS)}")
    if not isinstance(data.get("target_name", ""), str):
        raise ValueError(f"schema field 'target_name' is {brief(data['target_name'], 60)}; expected a column name")
    _check_target(data)
    if data.get("text") is not None:
        _check_text(data, names)
    else:
        _check_table(data, names)


def _check_target(data: dict[str, Any]) -> None:
    finite(data.get("target_mean", 0.0), "schema target_mean")
    finite(data.get("target_std", 1.0), "schema target_std", positive=True)  # the targets' spread
    task, classes = data["task"], data.get("classes")
    if task == "regression":
        if classes is not None:
            raise ValueError("schema field 'classes' holds labels, but the task is regression; expected None")
        return
    wanted = "2" if task == "binary" else "2 or more"
    if (not isinstance(classes, list) or not all(isinstance(c, LABEL_TYPES) for c in classes)
            or len({_label_key(c) for c in classes}) != len(classes) or len(classes) < 2
            or (task == "binary" and len(classes) != 2)):
        raise ValueError(f"schema field 'classes' is {brief(classes, 80)}; a {task} model needs {wanted} distinct "
                         "class labels (bools, numbers, strings).")
    _check_classes_dtype(data.get("classes_dtype"), classes)


def _label_key(label: Any) -> tuple[str, Any]:
    return type(label).__name__, label  # 1, 1.0 and True are different labels


def _check_classes_dtype(dtype: Any, classes: list[Any]) -> None:
    """The labels' saved NumPy dtype must hold them exactly (:func:`classes_dtype`)."""
    if dtype is None:
        return
    try:
        classes_dtype(dtype, classes)
    except ValueError as error:
        raise ValueError(f"schema field 'classes_dtype': {error}") from None


def _check_table(data: dict[str, Any], names: list[str]) -> None:
    numeric = _strings(data, "numeric", distinct=True)
    categories = data.get("categories", {})
    if not isinstance(categories, dict) or not all(
            isinstance(values, list) and all(isinstance(v, str) for v in values) and len(set(values)) == len(values)
            for values in categories.values()):
        raise ValueError(f"schema field 'categories' is {brief(categories, 80)}; expected an object mapping each "
                         "text column to its list of distinct categories")
    dates = data.get("dates", {})
    if not isinstance(dates, dict) or not all(
            isinstance(parts, list) and set(parts) <= set(DATE_PARTS) and len(set(parts)) == len(parts)
            for parts in dates.values()):
        raise ValueError(f"schema field 'dates' is {brief(dates, 80)}; expected an object mapping each date column to "
                         f"its parts, some of {list(DATE_PARTS)}")
    derived = part_names(dates)
    plain = [name for name in numeric if name not in derived]
    dropped = _strings(data, "dropped", distinct=True)
    if set(dropped) & set(names):
        raise ValueError(f"schema field 'dropped' {brief(dropped, 60)} names columns the model reads")
    if not set(derived) <= set(numeric) or sorted(plain + list(categories) + list(dates)) != sorted(names):
        raise ValueError(f"schema fields 'numeric' {brief(numeric, 60)}, 'categories' {brief(list(categories), 60)} "
                         f"and 'dates' {brief(list(dates), 60)} do not split 'feature_names' {brief(names, 60)} "
                         "between them")
    for field in ("mean", "std"):
        values = data.get(field, [])
        if not isinstance(values, list) or len(values) != len(numeric):
            count = len(values) if isinstance(values, list) else type(values).__name__
            raise ValueError(f"schema field '{field}' has {count} values, but 'numeric' names {len(numeric)} columns; "
                             "each numeric column needs one")
        for index, value in enumerate(values):
            finite(value, f"schema {field}[{index}]")
    if any(not value > 0 for value in data.get("std", [])):
        raise ValueError("schema field 'std' holds a value <= 0; every column's spread must be a number > 0")
    _check_missing(data, numeric)
    _check_image_shape(data.get("image_shape"), len(numeric), categories)


def _check_missing(data: dict[str, Any], numeric: list[str]) -> None:
    """How missing cells are treated: the policy, one fill value per numeric column, marked columns among them."""
    if data.get("missing", "impute") not in MISSING:
        raise ValueError(f"schema field 'missing' is {brief(data.get('missing'), 60)}; expected one of {list(MISSING)}")
    fill = data.get("fill", [])
    if not isinstance(fill, list) or len(fill) not in (0, len(numeric)):
        raise ValueError(f"schema field 'fill' is {brief(fill, 80)}; expected one value per numeric column "
                         f"({len(numeric)})")
    for index, value in enumerate(fill):
        finite(value, f"schema fill[{index}]")
    flags = _strings(data, "missing_flags", distinct=True)
    if not set(flags) <= set(numeric) or (flags and not fill):
        raise ValueError(f"schema field 'missing_flags' {brief(flags, 80)} names columns that are not numeric columns "
                         "with a fill value")


def _check_image_shape(shape: Any, pixels: int, categories: dict[str, Any]) -> None:
    if shape is None:
        return
    if (not isinstance(shape, list) or len(shape) not in (2, 3) or categories
            or not all(is_whole(s) and s > 0 for s in shape)
            or math.prod(shape) != pixels):
        raise ValueError(f"schema field 'image_shape' is {brief(shape, 60)}; expected [height, width] or [channels, "
                         f"height, width] of whole numbers whose product is the {pixels} numeric (pixel) columns")


def _check_text(data: dict[str, Any], names: list[str]) -> None:
    text = data["text"]
    if names != [text] or data.get("numeric") or data.get("categories") or data.get("mean") or data.get("std"):
        raise ValueError(f"schema field 'text' is {brief(text, 60)}, but a text model reads that one column alone; "
                         f"'feature_names' is {brief(names, 60)} and numeric columns or categories must be empty")
    length = data.get("max_length")
    if not is_whole(length) or not 1 <= length <= MAX_TEXT_LENGTH:
        raise ValueError(f"schema field 'max_length' is {brief(length, 60)}; expected the whole number of tokens a "
                         f"text model reads (1 to {MAX_TEXT_LENGTH:,})")
    Tokenizer.from_dict(data.get("tokenizer"))  # a ValueError naming what is wrong with it


def _strings(data: dict[str, Any], field: str, distinct: bool) -> list[str]:
    values = data.get(field, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values) or (
            distinct and len(set(values)) != len(values)):
        raise ValueError(f"schema field '{field}' is {brief(values, 80)}; expected a list of distinct column names")
    return values
