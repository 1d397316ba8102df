"""The house rules of docs/architecture.md that import-linter does not check: no private name used across
modules (imported, or read on another module's object), modules short enough to read (or saying why not),
an explicit public surface, and one import path per public name (the old paths are gone)."""

import ast
import importlib
from pathlib import Path

import pytest

import learnable

SOURCE = Path(learnable.__file__).parent
MODULES = sorted(SOURCE.rglob("*.py"))
MAX_LINES = 400
LONG_REASON = "Length:"  # the docstring paragraph of a longer module that says why it is one module


def _name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    relative = Path(*dotted.split(".")[1:])
    return (SOURCE / relative).with_suffix(".py").exists() or (SOURCE / relative / "__init__.py").exists()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(path: Path) -> list[str]:
    """``from learnable.x import _y`` and ``module._y`` for a learnable module imported by ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}  # local name -> the learnable module it is
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("learnable"):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                elif _is_module(f"{node.module}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("learnable.") and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr} ({modules[node.value.id]})")
    return found


# Private attributes of other libraries' objects that learnable reads on purpose, and why.
THIRD_PARTY = {
    "_foreach_norm", "_foreach_sub", "_foreach_add_", "_foreach_sign",  # torch's multi-tensor kernels
    "_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",  # LeanStep calls the hooks optimizer.step would
    "_global_optimizer_pre_hooks", "_global_optimizer_post_hooks",
    "_backward_hooks",  # a parameter with hooks needs autograd: the closed form steps aside
    "_elapsed_steps", "_autoreset_envs",  # Gymnasium keeps these only privately; a checkpoint must restore them
}


def _defined_here(tree: ast.Module) -> set[str]:
    """Private names this module defines: functions, classes, methods, and attributes it assigns."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if _private(name)}


def _foreign_private_attributes(path: Path) -> list[str]:
    """``obj._x`` where ``obj`` is not self, cls or super() and no code of this module defines ``_x``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _defined_here(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)) or node.attr in own | THIRD_PARTY:
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue
        found.append(f"line {node.lineno}: {ast.unparse(owner)}.{node.attr}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_private_name_is_used_across_modules(path):
    assert _private_uses(path) == []
    assert _foreign_private_attributes(path) == []


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_a_module_over_400_lines_says_why(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert lines <= MAX_LINES or LONG_REASON in docstring, (
        f"{path.relative_to(SOURCE)} has {lines} lines; split it, or say why it is one module in a "
        f"'{LONG_REASON}' paragraph of its docstring")


@pytest.mark.parametrize("path", sorted(SOURCE.rglob("__init__.py")), ids=_name)
def test_every_package_names_its_public_surface(path):
    module = importlib.import_module(_name(path))
    if _name(path) == "learnable.utils":  # internal: its modules are imported by path
        return
    assert isinstance(getattr(module, "__all__", None), list), f"{_name(path)} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{_name(path)}.__all__ names {name}, which it does not define"


@pytest.mark.parametrize("old", ["learnable.datasets", "learnable.estimator", "learnable.fitted_model",
                                 "learnable.forecast", "learnable.anomaly", "learnable.language_model",
                                 "learnable.terminal", "learnable.cli_models", "learnable.cli_classic",
                                 "learnable.cli_rl", "learnable.train.callbacks", "learnable.train.events",
                                 "learnable.train.checkpoint", "learnable.train.augment", "learnable.train.losses",
                                 "learnable.train.metrics", "learnable.train.optim", "learnable.train.lr_finder",
                                 "learnable.insight.statistics", "learnable.data.text_sets", "learnable.tasks.tabular",
                                 "learnable.insight.evaluation"])
def test_the_old_import_paths_are_gone(old):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


@pytest.mark.parametrize("name", ["EarlyStopping", "Checkpoint", "Callback", "Augment", "Statistics"])
def test_a_callback_has_one_public_path(name):
    import learnable.callbacks
    import learnable.train

    assert name in learnable.callbacks.__all__
    assert not hasattr(learnable.train, name)
    assert not hasattr(learnable, name)


def test_the_version_is_read_without_importing_the_package():
    text = (SOURCE / "_version.py").read_text(encoding="utf-8")
    assert "import" not in text.split('"""', 2)[2]
    assert learnable.__version__ == text.split('"')[-2]
