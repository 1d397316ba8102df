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

import signal
from typing import Any

from learnable.cli import classic, forecast, language, predict, rl, runs, train
from learnable.cli.app import app

COMMAND_GROUPS = (train, predict, runs, classic, language, forecast, rl)  # the order of `learnable --help`


def main() -> None:
    """Entry point of the ``learnable`` console script.

    SIGTERM stops any command as Ctrl-C does (a training saves a checkpoint at its next step first), so
    the run it records ends 'interrupted' and resumable, never left 'running' by a default kill.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    app()


def _interrupt(number: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(number).name}")


__all__ = ["app", "main"]
