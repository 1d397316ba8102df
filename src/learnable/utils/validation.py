"""Checks of what a user or a file gives learnable, each raising a short ValueError that says what was
received, what was expected and how to fix it: the one home of the ``check_*`` helpers.

- settings given in code or on the command line: :func:`is_whole`, :func:`is_number`, :func:`check_count`,
  :func:`check_positive`, :func:`check_number`, :func:`check_choice`, :func:`check_flag`, :func:`check_seed`;
  ``owner`` opens a message with the class that refuses the value ("RNN dropout=2 ...");
- values read from a file (model.json, a run store): :func:`whole`, :func:`finite`, quoted in an error
  by :func:`quote` and :func:`brief`, so a crafted file never floods a terminal;
- output paths: :func:`check_output_path` (no output replaces an input), :func:`check_output_file` (that,
  and a file of the right type in a folder that exists) and :func:`check_distinct_outputs`.

Example:
    >>> check_count("num_epochs", 0, 20)
    Traceback (most recent call last):
    ValueError: num_epochs=0 must be a whole number >= 1, for example 20.
"""

from __future__ import annotations

import math
import os
import reprlib
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
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


def is_number(value: Any) -> bool:
    """A real number for a setting: a Python or NumPy int or float, and not a bool (nor a str or complex).

    Example:
        >>> is_number(0.5), is_number(np.float32(0.5)), is_number("0.5"), is_number(True)
        (True, True, False, False)
    """
    return isinstance(value, Real) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A real number that is not infinite or NaN (a whole number of any size is finite)."""
    return is_number(value) and (isinstance(value, Integral) or math.isfinite(value))


def _named(name: str, value: Any, owner: str) -> str:
    """``name=value`` as a message opens, after the owner ("DQN gamma=2"); a command-line flag as it is typed
    ("--checkpoint-every -1")."""
    setting = f"{name} {value!r}" if name.startswith("--") else f"{name}={value!r}"
    return f"{owner} {setting}" if owner else setting


def check_choice(name: str, value: Any, choices: tuple, *, owner: str = "") -> None:
    """Raise unless ``value`` is one of ``choices``; ``owner`` opens the message (e.g. "RNN").

    Example:
        >>> check_choice("penalty", "l3", ("l2", "l1"))
        Traceback (most recent call last):
        ValueError: penalty='l3' is not known; choose one of ['l2', 'l1'].
    """
    if value not in choices:
        raise ValueError(f"{_named(name, value, owner)} is not known; choose one of {list(choices)}.")


def check_positive(name: str, value: Any, example: str, *, allow_zero: bool = False, allow_none: bool = False,
                   owner: str = "") -> None:
    """Raise unless ``value`` is a finite real number > 0 (>= 0 with ``allow_zero``; None with ``allow_none``).

    Example:
        >>> check_positive("C", 0, "1.0")
        Traceback (most recent call last):
        ValueError: C=0 must be a finite number > 0, for example 1.0.
    """
    if value is None and allow_none:
        return
    if not _finite(value) or value < 0 or (value == 0 and not allow_zero):
        none = "None or " if allow_none else ""
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{_named(name, value, owner)} must be {none}a finite number {bound}, for example {example}.")


def check_count(name: str, value: Any, example: int | str, *, least: int = 1, allow_none: bool = False,
                owner: str = "") -> None:
    """Raise unless ``value`` is a whole number >= ``least`` (not a bool; None too with ``allow_none``).

    ``example`` may say what the number means ("10 epochs"); ``owner`` opens the message (e.g. "MLP").

    Example:
        >>> check_count("max_iter", 1.5, 100)
        Traceback (most recent call last):
        ValueError: max_iter=1.5 must be a whole number >= 1, for example 100.
        >>> check_count("top_k", 0, "40 (None: no limit)", allow_none=True)
        Traceback (most recent call last):
        ValueError: top_k=0 must be None or a whole number >= 1, for example 40 (None: no limit).
    """
    if value is None and allow_none:
        return
    if not is_whole(value) or value < least:
        none = "None or " if allow_none else ""
        raise ValueError(f"{_named(name, value, owner)} must be {none}a whole number >= {least}, "
                         f"for example {example}.")


def check_seed(name: str, value: Any, *, allow_none: bool = False, example: str = "0", owner: str = "") -> None:
    """Raise unless ``value`` is a seed: a whole number in [0, 2**64), what PyTorch's generators take (a larger
    one fails deep inside them, after Python's and NumPy's were seeded); None too with ``allow_none``.

    Example:
        >>> check_seed("seed", -1)
        Traceback (most recent call last):
        ValueError: seed=-1 must be a whole number in [0, 2**64), for example 0.
    """
    if value is None and allow_none:
        return
    if not is_whole(value) or not 0 <= value < 2**64:
        none = "None or " if allow_none else ""
        raise ValueError(f"{_named(name, value, owner)} must be {none}a whole number in [0, 2**64), "
                         f"for example {example}.")


def check_flag(name: str, value: Any, *, owner: str = "") -> None:
    """Raise unless ``value`` is True or False (a NumPy bool too).

    Example:
        >>> check_flag("fit_intercept", "yes")
        Traceback (most recent call last):
        ValueError: fit_intercept='yes' must be True or False.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{_named(name, value, owner)} must be True or False.")


def check_number(name: str, value: Any, low: float, high: float, example: str, *, low_open: bool = False,
                 high_open: bool = False, owner: str = "") -> None:
    """Raise unless ``value`` is a real number in [low, high] (``low_open``, ``high_open``: leaving that end
    out, e.g. (0, 1) for a fraction); ``owner`` opens the message (e.g. "DQN").

    Example:
        >>> check_number("gamma", 1.5, 0, 1, "0.99")
        Traceback (most recent call last):
        ValueError: gamma=1.5 must be a number >= 0 and <= 1, for example 0.99.
    """
    inside = (is_number(value) and (low < value if low_open else low <= value)
              and (value < high if high_open else value <= high))
    if not inside:
        bound = f"> {low}" if low_open else f">= {low}"
        upper = "" if high == math.inf else f" and {'<' if high_open else '<='} {high}"
        raise ValueError(f"{_named(name, value, owner)} must be a number {bound}{upper}, for example {example}.")


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


def check_output_file(path: str | Path, *, flag: str, suffixes: Sequence[str],
                      inputs: Iterable[str | Path | None] = ()) -> None:
    """Raise ValueError unless a command can write its output file ``path`` (the value of ``flag``); call it
    before any work.

    It checks that ``path`` is none of ``inputs`` by any name (:func:`check_output_path`), ends in one of
    ``suffixes`` (in any case: ``.PNG`` is a ``.png``), is not a folder, and lies in a folder that exists
    (the write never creates folders, so a typo in one fails now, not after the work).

    Example:
        >>> check_output_file("/tmp/plot.jpg", flag="--plot", suffixes=(".png", ".svg"), inputs=["iris"])
        Traceback (most recent call last):
        ValueError: --plot '/tmp/plot.jpg' must end in .png or .svg; pass for example --plot /tmp/plot.png.
    """
    path = Path(path)
    check_output_path(path, inputs=inputs, flag=flag)
    if path.suffix.lower() not in [suffix.lower() for suffix in suffixes]:
        example = path.with_suffix(suffixes[0]) if path.name else Path(flag.lstrip("-") + suffixes[0])
        raise ValueError(f"{flag} '{path}' must end in {_either(suffixes)}; pass for example {flag} {example}.")
    if path.is_dir():
        raise ValueError(f"{flag} '{path}' is a directory; give a file name such as "
                         f"{path / (flag.lstrip('-') + suffixes[0])}.")
    if not path.parent.is_dir():
        raise ValueError(f"{flag} '{path}': the folder '{path.parent}' does not exist; create it first.")


def _either(options: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: the options as a message lists them."""
    return " or ".join(options) if len(options) < 3 else f"{', '.join(options[:-1])} or {options[-1]}"
