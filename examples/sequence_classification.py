"""Classify sequences with an LSTM, a GRU and a plain RNN, trained by the Learner.

Two synthetic tasks, each with fresh test sequences the models never saw (chance is 50%):

- memory: noise sequences labelled by the sign of their first value, so the network must carry one
  number through every later step (12 and 30 steps: a plain RNN's memory fades over the longer one);
- waves: a noisy sine or a noisy square wave of random period and phase: the shape over time decides.

Run: ``python examples/sequence_classification.py`` (under a minute on a CPU).
"""

from __future__ import annotations

import time

import numpy as np

from learnable import Learner, seed_everything
from learnable.callbacks import GradientClipping
from learnable.models import RNN


def first_sign(rows: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(rows, steps, 1)).astype(np.float32)  # (N, T, 1)
    return X, (X[:, 0, 0] > 0).astype(np.int64)


def waves(rows: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    period = rng.uniform(8, 20, size=(rows, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(rows, 1))
    sine = np.sin(2 * np.pi * np.arange(steps) / period + phase)  # (N, T)
    y = rng.integers(0, 2, rows)
    X = np.where(y[:, None] == 1, np.sign(sine), sine) + rng.normal(0, 0.5, (rows, steps))
    return X[:, :, None].astype(np.float32), y.astype(np.int64)


TASKS = {
    "memory, 12 steps": lambda rng, rows: first_sign(rows, 12, rng),
    "memory, 30 steps": lambda rng, rows: first_sign(rows, 30, rng),
    "sine vs square, 60 steps": lambda rng, rows: waves(rows, 60, rng),
}
SETTINGS = {"hidden_size": 16, "lr": 1e-2, "batch_size": 32, "num_epochs": 15, "train": 1000, "test": 1000}


def accuracy(cell: str, task, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    train, test = task(rng, SETTINGS["train"]), task(rng, SETTINGS["test"])
    seed_everything(seed)
    model = RNN(in_features=1, out_features=2, cell=cell, hidden_size=SETTINGS["hidden_size"])
    start = time.perf_counter()
    learner = Learner(model, train, loss="cross_entropy", lr=SETTINGS["lr"], batch_size=SETTINGS["batch_size"],
                      validation=None, metrics=["accuracy"], callbacks=[GradientClipping(1.0)], progress=False,
                      seed=seed)
    learner.fit(SETTINGS["num_epochs"])
    return learner.validate(test)["val_accuracy"], time.perf_counter() - start


def main() -> None:
    print(f"settings: {SETTINGS}; optimizer Adam (the Learner's default), gradient clipping at norm 1")
    for name, task in TASKS.items():
        print(f"\n{name}")
        for cell in ("lstm", "gru", "rnn"):
            score, seconds = accuracy(cell, task)
            print(f"  {cell:<5} test accuracy {score:.3f}  ({seconds:.1f}s)")


if __name__ == "__main__":
    main()
