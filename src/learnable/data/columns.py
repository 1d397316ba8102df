"""The columns of a table as a model reads them: numbers (standardised, a gap filled), categories
(one-hot, a gap its own category), and the one column of free text a text model reads.

The :class:`~learnable.data.schema.Schema` learns with these on the training split and applies them
to every later row.

Example:
    >>> import pandas as pd
    >>> learn_categories(pd.Series(["red", None, "blue"], name="color"))
    ['(missing)', 'blue', 'red']
    >>> one_hot(pd.Series(["blue", "green"]), ["blue", "red"]).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learnable.data.validate import check_cells, plain

MAX_CATEGORIES = 100
MIN_TEXT_WORDS = 3  # a string column is free text when its values are mostly unique and this long (median)
MISSING_CATEGORY = "(missing)"  # the category of a missing cell in a text column
OTHER_CATEGORY = "(other)"  # the rarer values of a column of more than MAX_CATEGORIES, and unseen ones later
IDENTIFIER_SHARE = 0.9  # a text column of more than MAX_CATEGORIES values, different in this share of rows: an id


def find_text_column(X: pd.DataFrame, text: bool | None = None) -> str | None:
    """The column a text model reads, or None for a table of numbers and categories.

    With ``text=None`` X is text when its only column is free text (:func:`is_free_text`); free text
    next to other columns is refused. ``text=True`` requires one column of strings; False: None.
    """
    if text is False:
        return None
    found = [name for name in X.columns if is_free_text(X[name])]
    if found and X.shape[1] > 1:
        others = [name for name in X.columns if name != found[0]]
        raise ValueError(
            f"column '{found[0]}' holds free text, and X has {len(others)} other column(s) {others[:5]}; "
            "learnable's text models read one text column alone. Train on the text alone "
            f"(X[['{found[0]}']]), or drop '{found[0]}' to train on the other columns."
        )
    if text is None or found:
        return found[0] if found else None
    if X.shape[1] != 1 or pd.api.types.is_numeric_dtype(X.iloc[:, 0]):
        kinds = sorted({str(X[name].dtype) for name in X.columns})
        raise ValueError(
            f"a text model needs X to be one column of texts, but X has {X.shape[1]} column(s) "
            f"{list(X.columns)[:5]} of type {', '.join(kinds)}; pass a list of strings or a one-column "
            "DataFrame of text, or use a table model (model='auto' or 'mlp')."
        )
    check_texts(X.iloc[:, 0])  # every value a string, or a clear error
    return X.columns[0]


def is_free_text(column: pd.Series) -> bool:
    """Strings, mostly unique, with a median of at least ``MIN_TEXT_WORDS`` words: sentences, not categories."""
    if not (pd.api.types.is_object_dtype(column) or isinstance(column.dtype, pd.StringDtype)):
        return False
    values = column.dropna()
    if len(values) == 0 or not all(isinstance(v, str) for v in values):
        return False
    words = values.str.split().str.len()
    return bool(values.nunique() >= 0.5 * len(values) and words.median() >= MIN_TEXT_WORDS)


def check_texts(column: pd.Series) -> list[str]:
    """The column's values, every one a string, or a TypeError naming the first that is not."""
    odd = column.map(lambda v: not isinstance(v, str)).to_numpy()
    if odd.any():
        position = int(np.flatnonzero(odd)[0])
        value, row = plain(column.iloc[position]), column.index[position]  # the row in the data as given
        raise TypeError(
            f"column '{column.name}' holds text, but row {row} is {type(value).__name__} {value!r:.40}; "
            f"a text model needs a string in every row. Convert it (X['{column.name}'].astype(str)) or drop it."
        )
    return column.tolist()


def is_number_column(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return True
    if pd.api.types.is_timedelta64_dtype(column):
        raise ValueError(
            f"column '{column.name}' holds durations ({column.dtype}); learnable reads numbers, categories and "
            f"dates. Convert it to a number, for example days: X['{column.name}'].dt.total_seconds() / 86400."
        )
    if pd.api.types.is_datetime64_any_dtype(column):  # dates of an image table (the schema expands a table's)
        raise ValueError(f"column '{column.name}' holds dates ({column.dtype}) among image pixels; drop it.")
    if pd.api.types.is_complex_dtype(column):
        raise ValueError(f"column '{column.name}' holds complex numbers; split it into real columns.")
    return pd.api.types.is_numeric_dtype(column)


def learn_categories(column: pd.Series) -> list[str]:
    check_cells(column)  # lists or arrays in a cell
    bad = column.map(lambda v: isinstance(v, bytes))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"column '{column.name}' holds bytes values (row {row}), for example {column.iloc[row]!r:.40}; "
            "learnable needs numbers or text categories. Decode them to str first: "
            f"X['{column.name}'].str.decode('utf-8')."
        )
    counts = category_text(column).value_counts()
    if len(counts) <= MAX_CATEGORIES:
        return sorted(counts.index.tolist())
    # many values: the most frequent keep their own input, the rest share "(other)" (ties: the first in order)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return sorted(value for value, _ in ranked[:MAX_CATEGORIES - 1]) + [OTHER_CATEGORY]


def is_identifier(column: pd.Series) -> bool:
    """Text with more than ``MAX_CATEGORIES`` values, different in nearly every row: a name, a tail number,
    an order id. No model learns from it; it would only memorise the training rows.

    Example:
        >>> is_identifier(pd.Series([f"order-{i}" for i in range(500)])), is_identifier(pd.Series(["a", "b"] * 250))
        (True, False)
    """
    if not (pd.api.types.is_object_dtype(column) or isinstance(column.dtype, (pd.StringDtype, pd.CategoricalDtype))):
        return False  # numbers, dates, durations
    values = column.dropna()
    distinct = values.astype(str).nunique()
    return distinct > MAX_CATEGORIES and distinct >= IDENTIFIER_SHARE * len(values)


def check_scale(names: list[str], mean: np.ndarray, std: np.ndarray,
                 fix: str = "rescale that column (e.g. to other units)") -> None:
    """Raise when a mean or standard deviation overflowed: standardising those values is impossible.

    ``names`` are what the message calls each value (e.g. "column 'price'"), ``fix`` how to mend it.
    """
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        name = names[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"{name} has values too large to use: its mean or spread overflows float64; {fix} before training."
        )


def number_values(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The number columns ``names`` as float64 (N, len(names)), NaN where a cell is missing."""
    dtypes = frame.dtypes
    plain = all(isinstance(d, np.dtype) and d.kind in "biuf" for d in (dtypes[name] for name in names))
    for name in [] if plain else names:  # plain numpy number columns (e.g. image pixels) need no check
        column = frame[name]
        if not is_number_column(column):
            text = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
            if len(text):
                raise ValueError(
                    f"column '{name}' held numbers in training but now holds {text.iloc[0]!r} "
                    f"(row {text.index[0]}); pass numbers in that column."
                )
    if plain:
        return frame[names].to_numpy(dtype=np.float64)
    return frame[names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def standardise(frame: pd.DataFrame, names: list[str], mean: list[float], std: list[float],
                 fill: list[float]) -> np.ndarray:
    values = number_values(frame, names)  # (N, numeric) float64
    gaps = np.isnan(values)
    if gaps.any():  # only under missing="impute": check_features refused them otherwise
        values = np.where(gaps, np.asarray(fill, dtype=np.float64), values)
    values = (values - mean) / std  # (N, numeric), centred in float64
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ValueError(
            f"column '{names[column]}' has a value too large to use after scaling "
            f"({frame[names[column]].iloc[row]!r}, row {row}); rescale that column (e.g. to other units)."
        )
    return values.astype(np.float32)


def category_text(column: pd.Series) -> pd.Series:
    """A category column as text: a missing cell (NaN, None, NA) is the category ``(missing)``."""
    return column.astype(object).where(column.notna(), MISSING_CATEGORY).astype(str)


def one_hot(column: pd.Series, categories: list[str]) -> np.ndarray:
    codes = pd.Index(categories).get_indexer(category_text(column))  # -1 for unseen categories
    if categories and categories[-1] == OTHER_CATEGORY:
        codes = np.where(codes < 0, len(categories) - 1, codes)  # a rare or unseen value of a large column
    encoded = np.zeros((len(column), len(categories)), dtype=np.float32)
    known = codes >= 0
    encoded[np.flatnonzero(known), codes[known]] = 1.0
    return encoded
