"""Checks of what a user or a file gives learnable, each raising a short ValueError that says what was
received, what was expected and how to fix it: the one home of the ``check_*`` helpers.

- settings given in code or on the command line: :func:`is_whole`, :func:`check_count`,
  :func:`check_positive`, :func:`check_number`, :func:`check_choice`, :func:`check_flag`;
- values read from a file (model.json, a run store): :func:`whole`, :func:`finite`, quoted in an error
  by :func:`quote` and :func:`brief`, so a crafted file never floods a terminal;
- output paths: :func:`check_output_path` (no output replaces an input) and :func:`check_distinct_outputs`.

Example:
    >>> check_count("num_epochs", 0, 20)
    Traceback (most recent call last):
    ValueError: num_epochs=0 must be a whole number >= 1, for example 20.
"""

from __future__ import annotations

import math
import os
import reprlib
from collections.abc import Iterable
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from learnable.utils.files import same_file

QUOTE_LIMIT = 200  # characters of file content an error message quotes


# ---- settings -------------------------------------------------------------------------------------
def is_whole(value: Any) -> bool:
    """A whole number for a count setting: a Python or NumPy integer, and not a bool (True is no count).

    Example:
        >>> is_whole(3), is_whole(np.int64(3)), is_whole(3.0), is_whole(True)
        (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_choice(name: str, value: Any, choices: tuple) -> None:
    """Raise unless ``value`` is one of ``choices``.

    Example:
        >>> check_choice("penalty", "l3", ("l2", "l1"))
        Traceback (most recent call last):
        ValueError: penalty='l3' is not known; choose one of ['l2', 'l1'].
    """
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not known; choose one of {list(choices)}.")


def check_positive(name: str, value: Any, example: str, *, allow_zero: bool = False, allow_none: bool = False) -> None:
    """Raise unless ``value`` is a finite real number > 0 (>= 0 with ``allow_zero``; None with ``allow_none``).

    Example:
        >>> check_positive("C", 0, "1.0")
        Traceback (most recent call last):
        ValueError: C=0 must be a finite number > 0, for example 1.0.
    """
    if value is None and allow_none:
        return
    good = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    if not good or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} must be a finite number {bound}, for example {example}.")


def check_count(name: str, value: Any, example: int) -> None:
    """Raise unless ``value`` is a whole number >= 1 (not a bool).

    Example:
        >>> check_count("max_iter", 1.5, 100)
        Traceback (most recent call last):
        ValueError: max_iter=1.5 must be a whole number >= 1, for example 100.
    """
    if not is_whole(value) or value < 1:
        raise ValueError(f"{name}={value!r} must be a whole number >= 1, for example {example}.")


def check_flag(name: str, value: Any) -> None:
    """Raise unless ``value`` is True or False (a NumPy bool too).

    Example:
        >>> check_flag("fit_intercept", "yes")
        Traceback (most recent call last):
        ValueError: fit_intercept='yes' must be True or False.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} must be True or False.")


def check_number(name: str, value: Any, low: float, high: float, example: str, *, low_open: bool = False,
                 owner: str = "") -> None:
    """Raise unless ``value`` is a real number in [low, high] ((low, high] with ``low_open``); ``owner``
    prefixes the message (e.g. "DQN").

    Example:
        >>> check_number("gamma", 1.5, 0, 1, "0.99")
        Traceback (most recent call last):
        ValueError: gamma=1.5 must be a number >= 0 and <= 1, for example 0.99.
    """
    is_number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not is_number or not (low < value if low_open else low <= value) or not value <= high:
        bound = f"> {low}" if low_open else f">= {low}"
        upper = "" if high == math.inf else f" and <= {high}"
        raise ValueError(f"{owner + ' ' if owner else ''}{name}={value!r} must be a number {bound}{upper}, "
                         f"for example {example}.")


# ---- values read from a file ----------------------------------------------------------------------
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 8, 8, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 80, 80, 40


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text of at most about ``limit`` characters, for an error message (a str as it is).

    Example:
        >>> quote("x" * 1000, 10)
        'xxxxxxxxxx... (1,000 characters)'
    """
    text = value if isinstance(value, str) else _REPR.repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def brief(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """The abbreviated repr of a value read from a file, for an error message (a str in quotes).

    Example:
        >>> brief(["a"] * 100)
        "['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', ...]"
    """
    return quote(_REPR.repr(value), limit)


def whole(value: Any, name: str, least: int = 0) -> int:
    """``value`` when it is a whole number >= ``least`` (as read from model.json), else a short ValueError.

    Example:
        >>> whole(3, "n_clusters", 1)
        3
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f"{name}={brief(value, 60)} is not a whole number >= {least}")
    return value


def finite(value: Any, name: str, positive: bool = False) -> float:
    """``value`` when it is a finite number (> 0 with ``positive``), as read from model.json; else a short ValueError.

    Example:
        >>> finite(2.5, "std", positive=True)
        2.5
    """
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            or (positive and not value > 0)):
        raise ValueError(f"{name}={brief(value, 60)} is not a finite number{' > 0' if positive else ''}")
    return float(value)


def numpy_dtype(name: Any, kinds: str) -> np.dtype | None:
    """The NumPy dtype that ``name`` (read from a file) spells when it is of one of ``kinds``; else None.

    The one parser of saved dtype names: anything but a str, a name NumPy does not know, another kind,
    and a bool or number dtype over 16 bytes are None. A string dtype's size is the caller's to check
    against what it holds (a ``<U999999999`` would allocate 4 GB per element).

    Example:
        >>> numpy_dtype("<i4", "biuf"), numpy_dtype("<U3", "biuf"), numpy_dtype("xyz", "biufU")
        (dtype('int32'), None, None)
    """
    if not isinstance(name, str):
        return None
    try:
        dtype = np.dtype(name)
    except (TypeError, ValueError, OverflowError):  # not a dtype, or a size NumPy cannot hold
        return None
    if dtype.kind not in kinds or (dtype.kind in "biuf" and dtype.itemsize > 16):
        return None
    return dtype


# ---- output paths ---------------------------------------------------------------------------------
def check_distinct_outputs(outputs: dict[str, str | Path | None]) -> None:
    """Raise ValueError if two of a command's outputs (``{flag: path}``, None: not given) are one file.

    The later write would replace the earlier one, or fail after the work is done (a model folder
    where a file was just written). Paths that do not exist yet are compared where they would be;
    existing ones also by :func:`same_file`, so two hard links to one file are one output.

    Example:
        >>> check_distinct_outputs({"--out": "models/k", "--labels-out": "labels.csv", "--plot": None})
    """
    seen: dict[str, tuple[str, str | Path]] = {}  # where each output is -> its flag and path
    for flag, path in outputs.items():
        if path is None:
            continue
        where = os.path.normcase(os.path.realpath(path))
        if where in seen:
            raise ValueError(f"{seen[where][0]} and {flag} name the same path '{path}'; give each output its own "
                             "path.")
        linked = next(((seen_flag, seen_path) for seen_flag, seen_path in seen.values() if same_file(seen_path, path)),
                      None)
        if linked is not None:
            raise ValueError(f"{linked[0]} '{linked[1]}' and {flag} '{path}' are hard links to one file, so the "
                             "later write would replace the earlier; give each output its own path.")
        seen[where] = (flag, path)


def check_output_path(out: str | Path, *, inputs: Iterable[str | Path | None], flag: str = "--out") -> None:
    """Raise ValueError if the output ``out`` is one of ``inputs`` by any name; call it before any work.

    ``inputs``: the files the command reads (None and names that are no file, such as a built-in
    dataset's, are skipped). An output folder that merely *contains* an input is fine.

    Example:
        >>> check_output_path("/tmp/predictions.csv", inputs=["iris", None])
    """
    for source in inputs:
        if source is not None and same_file(out, source):
            same = "is" if os.path.abspath(out) == os.path.abspath(source) else "is a link or another name for"
            raise ValueError(f"{flag} '{out}' {same} the input '{source}': writing there would replace what the "
                             f"command reads. Choose another path for {flag}.")
