"""Checks the CLI tests share (on ``pythonpath`` through pyproject.toml's pytest settings)."""

from __future__ import annotations

from typing import Any


def assert_user_error(result: Any, *fragments: str) -> str:
    """A Typer ``CliRunner`` result of a user mistake: exit status 1, one 'error: ...' line on stderr holding
    every fragment, no traceback anywhere. Returns the line."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]
