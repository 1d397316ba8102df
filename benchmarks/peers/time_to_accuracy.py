"""Time to 97%: the seconds of training each contestant needs before its test accuracy first reaches 0.97.

    .venv-bench/bin/python benchmarks/peers/time_to_accuracy.py [--repeats 3] [--threads 2] [--contestants ...]
    .venv-bench/bin/python benchmarks/peers/time_to_accuracy.py --one CONTESTANT [--seed 0] [--threads 2]

The first form races the contestants: every run in its own process (the second form, which prints the run
as one JSON line), the contestants rotated so that each goes first in turn, ``--threads`` threads for torch
(``torch.set_num_threads``) and for OpenMP, MKL and OpenBLAS. Repeat r runs every contestant with seed r,
so the medians cover the seed's luck as well as the machine's noise. It prints each run's JSON line, then a
markdown table: the median seconds to 97% (a run that never gets there counts as infinitely slow) and the
fastest run, the median epochs of the runs that got there, and the median of each run's best test accuracy
(for a run that got there, the accuracy of the epoch it stopped at).

Data: the MNIST sample of contestants.py (4,000 training images, 1,000 test images, pixels / 255). Each
contestant trains on the 4,000 and is measured on the 1,000 after every epoch; it stops at the first epoch
with test accuracy >= 0.97, at the end of its recipe, or at the cap (20 epochs or 120 s of training).

Clock: it starts just before the model is built (imports, data loading and torch's one-time lazy
imports are paid before it) and covers everything the contestant does up to the end of each epoch:
optimizer, loaders, trainer or wrapper objects, Keras' compile, learnable's own data preparation and
validation. The test evaluations after each epoch are not on it (the clock stops while they run).

Recipes, chosen once during development (a few tried per contestant, the fastest honest one kept; nothing
is tuned run by run against the test set, which only decides when a run stops):
- ``learnable``: ``learnable.fit(X, y, seed=seed)`` with its defaults: it holds out 10% validation and
  10% test of the 4,000 images (so it trains on 3,200), standardises the pixels, and trains its CNN (the
  one below) with its image recipe: AdamW with a one-cycle schedule peaking at 1e-2 over 8 epochs,
  weight decay 1e-4, batch 64, early stopping (patience 4) on the validation loss.
  A learnable Callback measures our 1,000 test images after each epoch, encoded with the schema that
  ``learnable.data.prepare`` (the call fit makes, same seed) learns, computed before the clock starts.
- ``learnable Learner``: the Learner given the torch peers' recipe below (it picks fused Adam and channels-last
  by itself; its statistics on, as by default), to compare the Learner's speed with the same work.
- ``hand loop``, ``Lightning``, ``skorch``: the same CNN (learnable's: two conv 3x3 / batch-norm / ReLU /
  max-pool blocks of 16 and 32 channels, 128 hidden units, dropout 0.25) kept channels-last (about 1.2x faster
  a step on 2 CPU cores, and what learnable does), Adam (PyTorch's fused kernel) with a one-cycle schedule
  peaking at 1e-2 over 6 epochs, batch 64. The hand loop and Lightning take index-sliced batches of
  in-memory tensors; skorch its own DataLoader, its LRScheduler callback stepping every batch.
- ``Keras 3``: the same CNN in Keras layers (channels-first, faster than Keras' default channels-last on
  the torch backend; batch-norm momentum 0.9, PyTorch's, since Keras' 0.99 lags over 63 steps an epoch),
  Adam with linear warm-up to 1e-2 over 30% of 6 epochs then cosine decay, batch 64.
- ``scikit-learn``: MLPClassifier 784-512-256-10 (no CNN in scikit-learn), Adam 1e-3, batch 64, L2 1e-4,
  one ``partial_fit`` per epoch, up to the cap; it tops out near 0.94.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from contestants import load, torch_model

HERE = Path(__file__).resolve()
TARGET = 0.97
MAX_EPOCHS, MAX_SECONDS = 20, 120.0
EPOCHS, BATCH_SIZE, MAX_LR = 6, 64, 1e-2  # the one-cycle recipe of the torch-based peers and Keras
RECIPES = {
    "learnable": "fit(X, y) defaults: AdamW one-cycle 1e-2, 8 epochs, batch 64",
    "learnable Learner": "CNN, Adam one-cycle 1e-2 over 6 epochs, batch 64 (the peers' recipe)",
    "hand loop": "CNN, fused Adam one-cycle 1e-2 over 6 epochs, batch 64",
    "Lightning": "CNN, fused Adam one-cycle 1e-2 over 6 epochs, batch 64",
    "skorch": "CNN, fused Adam one-cycle 1e-2 over 6 epochs, batch 64",
    "Keras 3": "CNN, Adam warm-up + cosine 1e-2 over 6 epochs, batch 64",
    "scikit-learn": "MLP 512-256, Adam 1e-3, batch 64, partial_fit",
}


class Race:
    """The clock and the referee of one run: training seconds (evaluations excluded) and test accuracy per epoch."""

    def __init__(self, y_test: np.ndarray) -> None:
        self.y_test = y_test
        self.history: list[tuple[float, float]] = []  # (training seconds so far, test accuracy) per epoch
        self.started = 0.0
        self.excluded = 0.0  # seconds spent evaluating, taken off the clock

    def start(self) -> None:
        self.started = time.perf_counter()

    def epoch_end(self, predict: Callable[[], Any]) -> bool:
        """Record the epoch just trained; ``predict()`` gives the test labels. True when training should stop."""
        now = time.perf_counter()
        seconds = now - self.started - self.excluded
        accuracy = float((np.asarray(predict()) == self.y_test).mean())
        self.excluded += time.perf_counter() - now
        self.history.append((seconds, accuracy))
        return accuracy >= TARGET or len(self.history) >= MAX_EPOCHS or seconds >= MAX_SECONDS

    def result(self) -> dict[str, Any]:
        """The run's JSON record: when (seconds, epochs) it first reached TARGET, its best accuracy, its history."""
        reached = next((i for i, (_, accuracy) in enumerate(self.history) if accuracy >= TARGET), None)
        return {"seconds_to_97": None if reached is None else self.history[reached][0],
                "epochs_to_97": None if reached is None else reached + 1,
                "best_accuracy": max((a for _, a in self.history), default=None),
                "total_seconds": self.history[-1][0] if self.history else None,
                "history": [[round(s, 3), a] for s, a in self.history]}


class Batches:
    """Shuffled (inputs, labels) batches sliced from in-memory tensors, a new order every pass."""

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> None:
        import torch

        self.X, self.y, self.batch_size = torch.from_numpy(X), torch.from_numpy(y), batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.X) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        import torch

        order = torch.randperm(len(self.X), generator=self.generator)
        for i in range(0, len(order), self.batch_size):
            index = order[i : i + self.batch_size]
            yield self.X[index], self.y[index]


def channels_last_cnn(seed: int) -> Any:
    """The CNN of contestants.py, its kernels channels-last (convolutions then pick the faster NHWC kernels)."""
    import torch

    return torch_model("cnn", seed).to(memory_format=torch.channels_last)


def one_cycle(model: Any, num_steps: int) -> tuple[Any, Any]:
    """Fused Adam with PyTorch's one-cycle schedule peaking at MAX_LR (step it every batch)."""
    import torch

    optimizer = torch.optim.Adam(model.parameters(), lr=MAX_LR, fused=True)
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=MAX_LR, total_steps=num_steps)


def torch_predictor(model: Any, inputs: Any, classes: np.ndarray | None = None) -> Callable[[], np.ndarray]:
    """A function giving the model's labels for ``inputs`` in eval mode, leaving the model's mode as it was."""
    import torch

    def predict() -> np.ndarray:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            labels = model(torch.as_tensor(inputs)).argmax(1).numpy()
        model.train(was_training)
        return labels if classes is None else classes[labels]

    return predict


# ---- contestants: each starts race's clock, trains, and calls race.epoch_end after every epoch -----------
def learnable_fit(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:
    """``learnable.fit`` as it comes; a callback measures the 1,000 test images after each epoch."""
    import learnable
    from learnable.callbacks import Callback, StopTraining
    from learnable.data import prepare

    schema = prepare(X, y, seed=seed).schema  # the scaling fit learns on its own split, to encode our test images
    inputs, classes = schema.transform(X_test), np.array(schema.classes)

    class Referee(Callback):
        def after_epoch(self, learner: Any) -> None:
            if race.epoch_end(torch_predictor(learner.model, inputs, classes)):
                raise StopTraining("test accuracy reached, or the cap")

    race.start()
    learnable.fit(X, y, seed=seed, callbacks=[Referee()])


def learnable_learner(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:

    from learnable import Learner
    from learnable.callbacks import Callback, LRSchedule, StopTraining

    class Referee(Callback):
        def after_epoch(self, learner: Any) -> None:
            if race.epoch_end(torch_predictor(learner.model, X_test)):
                raise StopTraining("test accuracy reached, or the cap")

    race.start()
    model = torch_model("cnn", seed)
    Learner(model, (X, y), loss="cross_entropy", optimizer="adam", lr=MAX_LR, batch_size=BATCH_SIZE, validation=None,
            seed=seed, progress=False, callbacks=[LRSchedule("one_cycle"), Referee()]).fit(EPOCHS)


def hand_loop(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:
    """Plain PyTorch: in-memory tensors, index slicing, one-cycle Adam."""
    import torch.nn.functional as F

    race.start()
    model = channels_last_cnn(seed)
    batches = Batches(X, y, BATCH_SIZE, seed)
    optimizer, schedule = one_cycle(model, EPOCHS * len(batches))
    for _ in range(EPOCHS):
        model.train()
        for xb, yb in batches:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if race.epoch_end(torch_predictor(model, X_test)):
            return


def lightning_fit(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:
    """A LightningModule and a quiet Trainer (no logger, checkpoints, bars, summary); a callback referees."""
    import lightning as L
    import torch.nn.functional as F

    num_steps = EPOCHS * -(-len(X) // BATCH_SIZE)

    class Module(L.LightningModule):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def training_step(self, batch: Any, index: int) -> Any:
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self) -> dict:
            optimizer, schedule = one_cycle(self.net, num_steps)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    class Referee(L.Callback):
        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            if race.epoch_end(torch_predictor(module.net, X_test)):
                trainer.should_stop = True

    race.start()
    module = Module(channels_last_cnn(seed))
    trainer = L.Trainer(max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        callbacks=[Referee()])
    trainer.fit(module, Batches(X, y, BATCH_SIZE, seed))


def skorch_fit(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:
    """skorch's NeuralNetClassifier with a one-cycle LRScheduler; a callback referees (and stops it skorch's way)."""
    import torch
    from skorch import NeuralNetClassifier
    from skorch.callbacks import Callback, LRScheduler

    class Referee(Callback):
        def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
            if race.epoch_end(lambda: net.predict(X_test)):
                raise KeyboardInterrupt  # how skorch's own EarlyStopping ends fit

    race.start()
    one_cycle_lr = LRScheduler(policy=torch.optim.lr_scheduler.OneCycleLR, max_lr=MAX_LR, step_every="batch",
                               total_steps=EPOCHS * -(-len(X) // BATCH_SIZE))
    net = NeuralNetClassifier(channels_last_cnn(seed), criterion=torch.nn.CrossEntropyLoss,
                              optimizer=torch.optim.Adam, optimizer__fused=True, lr=MAX_LR, batch_size=BATCH_SIZE,
                              max_epochs=EPOCHS, train_split=None, iterator_train__shuffle=True, verbose=0,
                              device="cpu", callbacks=[("one_cycle", one_cycle_lr), ("referee", Referee())])
    net.fit(X, y)


def keras_fit(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:
    """Keras 3 on its torch backend: the same CNN in Keras layers, warm-up + cosine Adam; a callback referees."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    from keras import layers

    class Referee(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if race.epoch_end(lambda: self.model.predict(X_test, batch_size=1000, verbose=0).argmax(1)):
                self.model.stop_training = True

    race.start()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((1, 28, 28)), *keras_block(layers, 16), *keras_block(layers, 32),
                              layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.25),
                              layers.Dense(10)])
    num_steps = EPOCHS * -(-len(X) // BATCH_SIZE)
    warmup = int(0.3 * num_steps)
    schedule = keras.optimizers.schedules.CosineDecay(MAX_LR / 25, num_steps - warmup, warmup_target=MAX_LR,
                                                      warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, verbose=0, callbacks=[Referee()])


def keras_block(layers: Any, channels: int) -> list:
    """Conv 3x3 (no bias) -> batch-norm -> ReLU -> max-pool, channels first."""
    return [layers.Conv2D(channels, 3, padding="same", use_bias=False, data_format="channels_first"),
            layers.BatchNormalization(axis=1, momentum=0.9), layers.ReLU(),
            layers.MaxPooling2D(2, data_format="channels_first")]


def sklearn_fit(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, seed: int, race: Race) -> None:
    """scikit-learn's MLPClassifier, one partial_fit (one epoch) at a time, up to the cap."""
    from sklearn.neural_network import MLPClassifier

    X, X_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)  # (N, 784)
    race.start()
    model = MLPClassifier(hidden_layer_sizes=(512, 256), alpha=1e-4, batch_size=BATCH_SIZE, learning_rate_init=1e-3,
                          shuffle=True, random_state=seed)
    classes = np.arange(10)
    while True:
        model.partial_fit(X, y, classes=classes)
        if race.epoch_end(lambda: model.predict(X_test)):
            return


CONTESTANTS = {
    "learnable": learnable_fit,
    "learnable Learner": learnable_learner,
    "hand loop": hand_loop,
    "Lightning": lightning_fit,
    "skorch": skorch_fit,
    "Keras 3": keras_fit,
    "scikit-learn": sklearn_fit,
}


# ---- one run, in this process --------------------------------------------------------------------------
def run_here(name: str, seed: int, threads: int) -> dict[str, Any]:
    """Train one contestant with one seed in this process and return its result."""
    import torch

    torch.set_num_threads(threads)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pays torch's one-time lazy imports before any clock
    X, y, X_test, y_test = load("cnn")
    race = Race(y_test)
    CONTESTANTS[name](X, y, X_test, seed, race)
    return {"contestant": name, "seed": seed, **race.result()}


# ---- the race: every run in its own process --------------------------------------------------------------
def run_once(name: str, seed: int, threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "KERAS_BACKEND": "torch", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(HERE), "--one", name, "--seed", str(seed), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"contestant": name, "seed": seed, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def table_row(name: str, runs: list[dict[str, Any]]) -> str:
    """One markdown row: a run that never reaches 97% counts as infinitely slow in the median."""
    done = [r for r in runs if "error" not in r]
    if not done:
        return f"| {name} | {RECIPES[name]} | error: {runs[0]['error']} | - | - |"
    seconds = [r["seconds_to_97"] for r in done if r["seconds_to_97"] is not None]
    best = statistics.median(r["best_accuracy"] for r in done)
    median = statistics.median(seconds + [float("inf")] * (len(done) - len(seconds)))
    if median == float("inf"):
        trained = statistics.median(r["total_seconds"] for r in done)
        cell = f"not reached in {len(done) - len(seconds)}/{len(done)} runs (trained {trained:.1f} s)"
        return f"| {name} | {RECIPES[name]} | {cell} | - | {best:.3f} |"
    missed = f", missed in {len(done) - len(seconds)}/{len(done)}" if len(seconds) < len(done) else ""
    epochs = statistics.median(r["epochs_to_97"] for r in done if r["epochs_to_97"] is not None)
    return f"| {name} | {RECIPES[name]} | {median:.2f} ({min(seconds):.2f}){missed} | {epochs:g} | {best:.3f} |"


def race_all(names: list[str], repeats: int, threads: int) -> dict[str, list[dict[str, Any]]]:
    """Run every contestant ``repeats`` times (seed = repeat), rotating who goes first; print each run."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[: repeat % len(names)]  # each goes first in turn
        for name in order:
            results[name].append(run_once(name, repeat, threads))
            print(json.dumps(results[name][-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=list(CONTESTANTS), help="Run this contestant once, here; print JSON.")
    parser.add_argument("--seed", type=int, default=0, help="With --one: the seed of the run.")
    parser.add_argument("--contestants", nargs="+", default=list(CONTESTANTS), choices=list(CONTESTANTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_here(args.one, args.seed, args.threads)), flush=True)
        return
    results = race_all(list(args.contestants), args.repeats, args.threads)
    print("\n| contestant | recipe (short) | median s to 97% (min) | epochs | best test accuracy |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        print(table_row(name, runs))
    print(f"\n{args.threads} threads, {args.repeats} runs per contestant (seeds 0-{args.repeats - 1}), each in its "
          f"own process; cap {MAX_EPOCHS} epochs or {MAX_SECONDS:.0f} s; {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
