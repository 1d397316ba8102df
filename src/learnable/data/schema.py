"""The schema: what was learned about the data on the training split, applied identically later.

The schema records feature names and order, which columns are numbers and which are categories
(one-hot encoded), the standardisation of the numbers, the task, and the class names or the target's
scale. Missing cells are data (``missing="impute"``, the default): a number is filled with its
column's training median and, where the column had gaps in training, marked in a 0/1 "is missing"
input; a category gets its own category, ``(missing)``. ``missing="error"`` refuses them instead.
A date column (datetimes, or text that reads as dates, as a CSV gives them) becomes its year, month,
day, day of week, hour and a continuous time (:mod:`learnable.data.dates`), numbers like any other.
It is learned on the training split only, saved as JSON next to the weights, and turns raw rows into
the model's input at predict time: columns are matched by name, so their order may differ.

Text is the one other kind of input: X that is a single column of free text (or a plain list of
strings) gets a word-level :class:`~learnable.data.tokenizer.Tokenizer` and a length in tokens,
and :meth:`Schema.transform` gives int64 token ids (rows, max_length) for a text model. Free text
mixed with other columns is refused with an error that says so.

Example:
    >>> import pandas as pd
    >>> X = pd.DataFrame({"size": [1.0, 2.0, 3.0], "color": ["red", "blue", "red"]})
    >>> schema = Schema.learn(X, pd.Series([0, 1, 0], name="label"), task="binary")
    >>> schema.transform(X[["color", "size"]]).shape   # 1 number + 2 one-hot columns
    (3, 3)
    >>> reviews = pd.DataFrame({"review": ["not good at all", "good, not bad"]})
    >>> Schema.learn(reviews, pd.Series([0, 1]), task="binary").transform(["good at all"])  # token ids
    array([[2, 6, 5, 0]])
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from learnable.data.columns import (
    check_scale,
    check_texts,
    find_text_column,
    is_identifier,
    is_number_column,
    learn_categories,
    number_values,
    one_hot,
    standardise,
)
from learnable.data.dates import expand_dates, learn_dates
from learnable.data.labels import labels_array, labels_dtype
from learnable.data.schema_check import check_schema
from learnable.data.tokenizer import Tokenizer
from learnable.data.validate import MISSING, as_features, as_target, check_features, plain

MAX_TEXT_TOKENS = 256  # longest text a text model reads, in words and punctuation marks; longer ones are cut
MAX_VOCABULARY = 20_000
RARE_WORD_ROWS = 1000  # from this many training texts on, words seen once map to <unk>, so the model learns it


@dataclass
class Schema:
    """Feature encoding and target encoding learned from a training split."""

    feature_names: list[str]
    task: str
    target_name: str = "target"
    numeric: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    classes: list[Any] | None = None
    classes_dtype: str | None = None  # the NumPy dtype of the labels (``dtype.str``): predict returns it
    target_mean: float = 0.0
    target_std: float = 1.0
    image_shape: list[int] | None = None
    text: str | None = None  # the free-text column of a text model (then the only column)
    tokenizer: dict[str, Any] | None = None  # Tokenizer.to_dict(), learned on the training texts
    max_length: int = 0  # tokens per text the model reads (padded with 0, longer texts cut)
    missing: str = "impute"  # "impute": a missing cell is filled (and marked); "error": it is refused
    fill: list[float] = field(default_factory=list)  # per numeric column: the training median a gap takes
    missing_flags: list[str] = field(default_factory=list)  # numeric columns with gaps in training: a 0/1 input each
    dates: dict[str, list[str]] = field(default_factory=dict)  # date column -> its parts, numeric columns "c (part)"
    dropped: list[str] = field(default_factory=list)  # identifiers left out (a different value in nearly every row)

    def __post_init__(self) -> None:
        self._tokens = Tokenizer.from_dict(self.tokenizer) if self.tokenizer is not None else None

    # ---- learning ---------------------------------------------------------------------------
    @classmethod
    def learn(cls, X: pd.DataFrame, y: pd.Series, task: str, image_shape: Any = None,
              text: bool | None = None, missing: str = "impute") -> Schema:
        """Learn the encoding of ``X`` and ``y`` (the training split only) for ``task``.

        For images (``image_shape`` given, X holding the flattened pixels) every pixel shares one
        mean and standard deviation: a per-pixel scale would blow up rarely-inked border pixels.

        ``text`` says whether X is text: None finds out (one column of free text is), True
        requires it (a text model was asked for), False never treats it so (a table model).

        ``missing``: "impute" fills a missing number with its column's training median (and adds a
        0/1 input marking it, for columns with gaps in training) and gives a missing category its own
        category; "error" refuses missing cells. Images and texts are always strict.
        """
        if missing not in MISSING:
            raise ValueError(f"missing={missing!r} is not known; choose one of {list(MISSING)}.")
        column = find_text_column(X, text)
        if column is not None:
            check_features(X, "error")  # a text model reads a text in every row
            schema = cls._learn_text(X[column], task)
        else:
            strict = "error" if image_shape is not None else missing
            check_features(X, strict)
            schema = cls._learn_table(X, task, image_shape, strict)
        schema.target_name = str(y.name)
        if task == "regression":
            target = y.to_numpy(dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = target.mean(), target.std()
            check_scale([f"target '{schema.target_name}'"], np.array([mean]), np.array([std]),
                         "rescale it (e.g. to other units, or take the log of a positive target)")
            schema.target_mean, schema.target_std = float(mean), float(std) or 1.0
        else:
            schema.classes_dtype = labels_dtype(y, f"target '{y.name}'").str
            schema.classes = _sorted_classes(y)
        return schema

    @classmethod
    def _learn_table(cls, X: pd.DataFrame, task: str, image_shape: Any, missing: str) -> Schema:
        dates, columns = learn_dates(X) if image_shape is None else ({}, X)  # dates as their parts: numbers
        dropped = [name for name in X.columns if name not in dates and image_shape is None and is_identifier(X[name])]
        if dropped:
            warnings.warn(f"left out column(s) {dropped[:5]}: a different value in nearly every row, as an identifier "
                          "has (a name, an id); no model learns from that. Drop them yourself to silence this.",
                          UserWarning, stacklevel=4)
            X, columns = X.drop(columns=dropped), columns.drop(columns=dropped)
        numeric, categories = [], {}
        for name in columns.columns:
            column = columns[name]
            if is_number_column(column):
                numeric.append(name)
            else:
                categories[name] = learn_categories(column)
        values = number_values(columns, numeric)  # (N, numeric) float64, NaN where a cell is missing
        gaps = np.isnan(values)
        with warnings.catch_warnings():  # a column with no value at all: its median is NaN, filled with 0 below
            warnings.simplefilter("ignore", RuntimeWarning)
            fill = np.nan_to_num(np.nanmedian(values, axis=0)) if len(values) else np.zeros(len(numeric))
        values = np.where(gaps, fill, values)
        if image_shape is not None:
            values = values.reshape(-1, 1)  # one scale shared by all pixels
        with np.errstate(over="ignore", invalid="ignore"):
            std = values.std(axis=0) if len(values) else np.ones(len(numeric))
            mean = values.mean(axis=0) if len(values) else np.zeros(len(numeric))
        check_scale([f"column '{name}'" for name in (numeric if image_shape is None else ["(all pixels)"])], mean, std)
        if image_shape is not None:
            mean, std = mean.repeat(len(numeric)), std.repeat(len(numeric))
        return cls(
            feature_names=list(X.columns),
            task=task,
            numeric=numeric,
            categories=categories,
            mean=mean.tolist(),
            std=np.where(std > 0, std, 1.0).tolist(),
            image_shape=list(image_shape) if image_shape is not None else None,
            missing=missing,
            fill=fill.tolist(),
            missing_flags=[name for name, gap in zip(numeric, gaps.any(axis=0), strict=True) if gap],
            dates=dates,
            dropped=[str(name) for name in dropped],
        )

    @classmethod
    def _learn_text(cls, column: pd.Series, task: str) -> Schema:
        """A word-level vocabulary of the training texts and the length (in tokens) the model reads."""
        texts = column.tolist()
        min_count = 2 if len(texts) >= RARE_WORD_ROWS else 1
        try:
            tokenizer = Tokenizer.learn(texts, level="word", max_tokens=MAX_VOCABULARY, min_count=min_count)
        except ValueError:
            raise ValueError(
                f"column '{column.name}' holds no words: all {len(texts)} training texts are empty or blank; "
                "a text model needs words to learn from. Check that the right column was read."
            ) from None
        longest = max(len(tokenizer.split(text)) for text in texts)
        return cls(feature_names=[str(column.name)], task=task, text=str(column.name), missing="error",
                   tokenizer=tokenizer.to_dict(), max_length=int(np.clip(longest, 1, MAX_TEXT_TOKENS)))

    # ---- features ---------------------------------------------------------------------------
    @property
    def num_features(self) -> int:
        """Width of the encoded input: numbers plus one column per category (tokens per text for text)."""
        if self.text is not None:
            return self.max_length
        return len(self.numeric) + len(self.missing_flags) + sum(len(c) for c in self.categories.values())

    @property
    def vocab_size(self) -> int:
        """Token ids a text model embeds (padding and unknown included); 0 for tables."""
        return len(self._tokens) if self._tokens is not None else 0

    def encoded_names(self) -> list[str]:
        """A name for each column of the encoded input: the numbers, ``column is missing`` per marked
        column, then ``column=category`` per category."""
        if self.text is not None:
            return [f"token{i}" for i in range(self.max_length)]
        if self.image_shape is not None:
            return [f"pixel{i}" for i in range(self.num_features)]
        return (list(self.numeric) + [f"{name} is missing" for name in self.missing_flags]
                + [f"{name}={c}" for name, cats in self.categories.items() for c in cats])

    @property
    def num_outputs(self) -> int:
        """Model outputs the task needs: 1 for regression and binary, one per class otherwise."""
        return len(self.classes) if self.task == "multiclass" else 1

    def align(self, X: Any) -> pd.DataFrame:
        """Return ``X`` as a DataFrame with the training columns, in the training order."""
        frame = as_features(self._text_frame(X) if self.text is not None else X)
        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing and _is_positional(frame) and frame.shape[1] == len(self.feature_names):
            frame.columns = self.feature_names  # a plain array: columns are matched by position
            missing = []
        if missing:
            raise ValueError(
                f"the data lacks {len(missing)} column(s) the model was trained on: {missing[:10]}; "
                f"expected columns {self.feature_names[:10]}{' ...' if len(self.feature_names) > 10 else ''}. "
                "Add the missing columns (their order does not matter)."
            )
        return frame[self.feature_names]

    def _text_frame(self, X: Any) -> Any:
        """A list or Series of texts as a one-column table; a table (DataFrame, dict) as it is."""
        if isinstance(X, (pd.DataFrame, dict)) or (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1):
            return X  # a one-column array is matched to the text column by position, as in training
        if isinstance(X, (list, tuple, pd.Series)) or (isinstance(X, np.ndarray) and X.ndim == 1):
            return pd.DataFrame({self.text: list(X)})  # a value that is no string is named by transform
        what = "one string" if isinstance(X, str) else type(X).__name__
        raise TypeError(
            f"this model reads texts, but got {what}; pass a list of strings (model.predict(['great value'])) "
            f"or a DataFrame with a '{self.text}' column."
        )

    def transform(self, X: Any) -> np.ndarray:
        """Encode raw rows into the model's input: float32 (rows, num_features) for tables, or int64
        token ids (rows, max_length), padded with 0, for text."""
        frame = self.align(X)
        check_features(frame, self.missing)
        if self.text is not None:
            return self._tokens.encode_batch(check_texts(frame[self.text]), self.max_length)
        frame = expand_dates(frame, self.dates)
        parts = [standardise(frame, self.numeric, self.mean, self.std, self.fill)]
        if self.missing_flags:
            parts.append(frame[self.missing_flags].isna().to_numpy(dtype=np.float32))  # (N, flags): 1 where missing
        for name, categories in self.categories.items():
            parts.append(one_hot(frame[name], categories))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    # ---- target -----------------------------------------------------------------------------
    def encode_target(self, y: Any) -> np.ndarray:
        """Class indices (int64) for classification, standardised float32 values for regression."""
        target = as_target(y)
        if self.task == "regression":
            values = target.to_numpy(dtype=np.float64)
            return ((values - self.target_mean) / self.target_std).astype(np.float32)
        index = {value: i for i, value in enumerate(self.classes)}
        codes = target.map(lambda v: index.get(plain(v), -1)).to_numpy(dtype=np.int64)
        unknown = np.flatnonzero(codes < 0)
        if len(unknown):
            raise ValueError(
                f"target '{self.target_name}' has labels the model never saw, for example "
                f"{plain(target.iloc[unknown[0]])!r} (row {unknown[0]}); known classes are {self.classes}."
            )
        return codes

    def decode_target(self, values: np.ndarray) -> np.ndarray:
        """Map class indices back to class labels (an array of the training labels' dtype), or
        standardised values back to target units."""
        if self.task == "regression":
            return values * self.target_std + self.target_mean
        return labels_array(self.classes, self.classes_dtype)[values]

    # ---- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the schema."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Rebuild a schema from :meth:`to_dict` output, checked field by field (a ValueError names a damaged one)."""
        check_schema(data, [f.name for f in fields(cls)])
        return cls(**data)


def _is_positional(frame: pd.DataFrame) -> bool:
    return list(frame.columns) == [f"x{i}" for i in range(frame.shape[1])]


def _sorted_classes(y: pd.Series) -> list[Any]:
    values = [plain(v) for v in pd.unique(y)]
    try:
        return sorted(values)
    except TypeError:  # mixed types: order by their text
        return sorted(values, key=str)
