"""The ``learnable`` command: the one-line API from the shell, one module per command group.

    learnable train                                  # the digit classifier on the MNIST sample (train.py)
    learnable predict models/mnist-sample digits.csv # predictions of a saved model (predict.py)
    learnable runs | doctor | report                 # recorded runs (runs.py)
    learnable cluster | reduce                       # k-means and PCA (classic.py)
    learnable generate | score                       # language models (language.py)
    learnable forecast                               # time series (forecast.py)
    learnable rl CartPole-v1                         # reinforcement learning (rl.py)

Every group hangs its commands on the one app of :mod:`learnable.cli.app`; importing this package
registers them all (each imports what it needs only when it runs, so ``learnable --help`` is quick).
"""

from __future__ import annotations

import importlib
import signal
import warnings
from typing import Any

from learnable.cli.app import app
from learnable.utils.terminal import printable, say

# Imported in this order, which is the order of `learnable --help`: each registers its commands on the app.
COMMAND_GROUPS = ("train", "predict", "runs", "classic", "language", "forecast", "rl")
for _group in COMMAND_GROUPS:
    importlib.import_module(f"learnable.cli.{_group}")


@app.command()
def version() -> None:
    """Print the versions of learnable and PyTorch."""
    import torch

    from learnable._version import __version__

    say(f"learnable {__version__} (torch {torch.__version__})")


def main() -> None:
    """Entry point of the ``learnable`` console script.

    SIGTERM stops any command as Ctrl-C does (a training saves a checkpoint at its next step first), so
    the run it records ends 'interrupted' and resumable, never left 'running' by a default kill.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    warnings.formatwarning = _one_line  # "warning: ...", not the file and line of learnable's code
    app()


def _one_line(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    return f"warning: {printable(str(message))}\n"


def _interrupt(number: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(number).name}")


__all__ = ["app", "main"]
