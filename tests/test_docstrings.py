"""Every docstring example runs and shows what it says (examples marked ``# doctest: +SKIP`` train for
long or need files, and are skipped): the examples are the first thing a reader copies."""

import doctest
import importlib
from pathlib import Path

import pytest

import learnable

SOURCE = Path(learnable.__file__).parent
OPTIONAL = {"learnable.rl": "gymnasium"}  # packages whose modules need an extra


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(_module_name(path) for path in SOURCE.rglob("*.py") if path.name != "__main__.py")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    for package, extra in OPTIONAL.items():
        if name.startswith(package):
            pytest.importorskip(extra)
    monkeypatch.chdir(tmp_path)  # examples that save write here, not into the checkout
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (output above)"
