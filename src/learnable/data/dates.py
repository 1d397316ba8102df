"""Dates and times as a model reads them: a date column becomes a few numbers (its year, month, day,
day of week, hour and a continuous time in days), learned by the schema like any other number column.

A column is a date column when pandas holds it as datetimes, or when it is text that reads as dates
almost everywhere (as a date read from a CSV arrives): at least ``DATE_SHARE`` of its values look like
``2024-03-01``, ``03/01/2024`` or ``2024-03-01 12:30`` and parse. A missing date is a missing number in
every part, so the schema fills and marks it as it does any gap.

Example:
    >>> import pandas as pd
    >>> column = pd.Series(["2024-03-01", "2024-07-15 18:30", None], name="signup")
    >>> is_date_column(column)
    True
    >>> date_parts(column)[["signup (year)", "signup (month)", "signup (hour)"]].to_numpy().tolist()
    [[2024.0, 3.0, 0.0], [2024.0, 7.0, 18.5], [nan, nan, nan]]
"""

from __future__ import annotations

import warnings

import pandas as pd

DATE_PARTS = ("year", "month", "day", "day of week", "hour", "time")  # "time": days since 1970-01-01
DATE_SHARE = 0.95  # the share of a text column's values that must read as dates for it to be dates
DATE_LIKE = r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
SAMPLE = 1000  # text values looked at to decide (the whole column is parsed when it is one)


def is_date_column(column: pd.Series) -> bool:
    """Whether ``column`` holds dates: datetimes, or text of which nearly every value reads as a date."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if not (pd.api.types.is_object_dtype(column) or isinstance(column.dtype, pd.StringDtype)):
        return False
    values = column.dropna()
    if len(values) == 0 or not all(isinstance(v, str) for v in values.iloc[:SAMPLE]):
        return False
    sample = values.iloc[:SAMPLE].astype(str)
    if sample.str.match(DATE_LIKE).mean() < DATE_SHARE:
        return False
    return bool(_parse(sample).notna().mean() >= DATE_SHARE)


def date_parts(column: pd.Series, parts: tuple[str, ...] | list[str] = DATE_PARTS) -> pd.DataFrame:
    """The ``parts`` of each date as float64 columns named ``"column (part)"``; NaN where a date is missing
    or does not parse. Time zones are read as UTC."""
    times = _parse(column)
    name = column.name
    found = {
        "year": times.dt.year,
        "month": times.dt.month,
        "day": times.dt.day,
        "day of week": times.dt.day_of_week,
        "hour": times.dt.hour + times.dt.minute / 60 + times.dt.second / 3600,
        "time": (times - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1),
    }
    return pd.DataFrame({f"{name} ({part})": found[part].astype("float64") for part in parts}, index=column.index)


def learn_dates(frame: pd.DataFrame) -> tuple[dict[str, list[str]], pd.DataFrame]:
    """The date columns of ``frame`` with the parts that vary on these rows (a date without times has no
    hour worth reading), and ``frame`` with each date column replaced by those parts: each date is parsed
    once."""
    dates, pieces = {}, []
    for name in frame.columns:
        if not is_date_column(frame[name]):
            pieces.append(frame[[name]])
            continue
        table = date_parts(frame[name])
        kept = [part for part in DATE_PARTS if table[f"{name} ({part})"].nunique(dropna=True) > 1]
        dates[name] = kept
        pieces.append(table[[f"{name} ({part})" for part in kept]])
    return dates, (pd.concat(pieces, axis=1) if dates else frame)


def _parse(column: pd.Series) -> pd.Series:
    """Datetimes without a time zone (UTC where one was given); NaT where a value is missing or no date."""
    if pd.api.types.is_datetime64_any_dtype(column):
        times = column
    else:
        with warnings.catch_warnings():  # pandas warns when it must guess each value's format
            warnings.simplefilter("ignore", UserWarning)
            times = pd.to_datetime(column.astype(object).where(column.notna(), None), errors="coerce", utc=True,
                                   format="mixed")
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times


def expand_dates(frame: pd.DataFrame, dates: dict[str, list[str]]) -> pd.DataFrame:
    """``frame`` with each date column of ``dates`` (column -> its parts) replaced by its part columns, in place
    of the column; other columns as they are."""
    if not dates:
        return frame
    pieces = [date_parts(frame[name], dates[name]) if name in dates else frame[[name]] for name in frame.columns]
    return pd.concat(pieces, axis=1)


def part_names(dates: dict[str, list[str]]) -> list[str]:
    """The number columns the date columns become, ``"column (part)"``."""
    return [f"{name} ({part})" for name, parts in dates.items() for part in parts]
