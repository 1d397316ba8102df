"""Text for the terminal: user strings are shown as text, never as markup or control codes.

Run names, ids, column names, file names and error messages carrying them come from users (or from a
run store someone else wrote). Printed raw, ``[/]`` breaks rich's markup parser, ``:smile:`` turns into
an emoji, and an ESC, CR, BEL or a bidi override rewrites what the terminal shows. Everything the CLI
prints that holds such a string goes through :func:`printable` (plain lines) or :func:`as_text` (rich
tables), which replace those characters with visible escapes such as ``\\x1b`` and never parse markup.

Example:
    >>> printable("evil\\x1b[31m\\r")
    'evil\\\\x1b[31m\\\\x0d'
    >>> as_text("[/]oops").plain
    '[/]oops'
"""

from __future__ import annotations

import re
import sys
from typing import Any

from rich.text import Text

# C0 controls (ESC, CR, LF, BEL, ...), DEL, C1 controls, the bidi overrides and isolates, and the line and
# paragraph separators: each can move the cursor, recolour or reorder what the terminal shows.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any, keep: str = "") -> str:
    """``str(value)`` with every control or bidi character replaced by a visible escape (``\\x1b``, ``\\u202e``).

    Example:
        >>> printable("a\\tb\\u202ec")
        'a\\\\x09b\\\\u202ec'
    """
    return UNSAFE.sub(lambda match: match.group() if match.group() in keep else _visible(match), str(value))


def as_text(value: Any, style: str = "") -> Text:
    """``value`` as a rich ``Text``: printed as it reads (no markup, no emoji codes), control characters escaped.

    Example:
        >>> as_text("[bold]x[/]").plain
        '[bold]x[/]'
    """
    return Text(printable(value), style=style)


def say(line: Any, *, err: bool = False) -> None:
    """Print one line that may hold user text (a run name, a path, a column name) through :func:`printable`.

    Example:
        >>> say("run 'a\\x07b' saved")
        run 'a\\x07b' saved
    """
    import typer  # here, not at the top: the library (the run writer, the tables) prints without the CLI

    typer.echo(printable(line), err=err)


def for_stdout(text: str) -> str:
    """Text a command writes to standard output as its result (generated text, predictions as CSV): kept
    byte for byte when piped or redirected (it is data), but shown with control characters escaped, line
    breaks and tabs kept, when standard output is a terminal, which would obey an ESC in the text.

    Example:
        >>> for_stdout("a\\nb")
        'a\\nb'
    """
    return text if not sys.stdout.isatty() else printable(text, keep="\n\t")
