"""Read tables from CSV and Parquet files, and split off the target column by name.

Example:
    >>> X, y = read_table("houses.csv", target="price")   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

READERS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a whole CSV, TSV or Parquet file into a DataFrame, with clear errors."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: '{path}'. Check the path (it is relative to {Path.cwd()}).")
    if path.is_dir():
        raise ValueError(f"'{path}' is a directory; expected a CSV or Parquet file.")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"cannot read '{path}': unknown file type '{path.suffix}'; "
            f"expected one of {sorted(READERS)}."
        )
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            separator = "\t" if path.suffix.lower() == ".tsv" else ","
            _check_header(path, separator)
            frame = pd.read_csv(path, sep=separator)
    except ImportError as error:
        raise ValueError(
            f"reading Parquet needs pyarrow: pip install 'learnable[parquet]' ({error})"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise ValueError(f"cannot read '{path}' as {kind}: {error}") from None
    if frame.empty and len(frame.columns):
        raise ValueError(f"'{path}' has a header ({len(frame.columns)} columns) but no rows; check that it was "
                         "written whole, or that a filter did not drop every row.")
    return frame


def _check_header(path: Path, separator: str) -> None:
    """Refuse a header that names a column twice: pandas would silently rename the second 'a' to 'a.1'."""
    header = pd.read_csv(path, sep=separator, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = pd.Index(header.iloc[0] if len(header) else [])
    duplicated = sorted(set(names[names.duplicated()]))
    if duplicated:
        shown = [name if len(name) <= 40 else f"{name[:40]}..." for name in duplicated[:5]]  # one line, however many
        more = f" and {len(duplicated) - 5:,} more" if len(duplicated) > 5 else ""
        raise ValueError(
            f"'{path}' has duplicated column names {shown}{more} in its header; learnable matches columns by "
            "name, so each must be unique. Rename or drop the repeated columns in the file."
        )


def read_table(path: str | Path, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Read a file and return ``(features, target)``; ``target`` names the column to predict."""
    frame = read_frame(path)
    if target not in frame.columns:
        raise ValueError(
            f"'{path}' has no column '{target}'; its columns are {list(frame.columns)[:20]}. "
            "Pass the name of the column to predict as the target."
        )
    return frame.drop(columns=[target]), frame[target]
