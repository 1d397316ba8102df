"""Time ``Learner.fit`` against a hand-written PyTorch loop on the same work, alternating the two.

Contestants: the plain loop (torch.optim.Adam with its CPU default, single-tensor), the same loop
with ``foreach=True`` (multi-tensor) and with ``fused=True`` (the fused kernel the Learner uses), the
Learner with its per-layer statistics off, the Learner as it comes (statistics "auto": about two
samples an epoch, at least one every 100 steps), and the Learner watching every 5 steps.
Task: an MLP 784-256-128-10 on the 5,000-image MNIST sample, Adam 1e-3, batch 64, 10 epochs, no
validation. Both start from the same initial weights and see the same batch order (index slicing
of a seeded permutation), in the same process with the same thread count. The table gives each
contestant's median over the repeats and the ratio to the hand-written loop.

    python benchmarks/learner_vs_loop.py [--repeats 7] [--epochs 10] [--threads N]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from learnable import Learner
from learnable.data import datasets


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def hand_loop(X: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, foreach: bool | None = None,
              fused: bool | None = None) -> nn.Module:
    """Best plain practice: data in memory, a seeded permutation, index slicing, set_to_none."""
    model = make_model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=foreach, fused=fused)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), 64):
            index = order[start : start + 64]
            loss = F.cross_entropy(model(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return model


def learner(X: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, statistics: int | str | None = None) -> nn.Module:
    model = make_model(seed)
    Learner(model, (X, y), loss="cross_entropy", optimizer="adam", lr=1e-3, batch_size=64,
            validation=None, seed=seed, progress=False, device="cpu", statistics=statistics).fit(epochs)
    return model


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = datasets.load("mnist-sample")
    X = torch.from_numpy(data.X / 255.0).float()  # (5000, 784)
    y = torch.tensor(data.y.to_numpy()).long()
    contestants = {
        "hand-written loop": hand_loop,
        "hand loop, foreach": functools.partial(hand_loop, foreach=True),
        "hand loop, fused": functools.partial(hand_loop, fused=True),  # the Adam kernel the Learner uses
        "Learner, no statistics": learner,
        "Learner (default)": functools.partial(learner, statistics="auto"),  # the cost of watching
        "Learner, stats every 5": functools.partial(learner, statistics=5),
    }
    times: dict[str, list[float]] = {name: [] for name in contestants}
    scores: dict[str, float] = {}
    for run in contestants.values():  # warm-up: first-call costs are not the loop's
        run(X[:512], y[:512], 1, 0)
    for repeat in range(args.repeats):
        names = list(contestants)
        names = names[repeat % len(names):] + names[: repeat % len(names)]  # rotate who goes first
        for name in names:
            start = time.perf_counter()
            model = contestants[name](X, y, args.epochs, seed=0)
            times[name].append(time.perf_counter() - start)
            scores[name] = accuracy(model, X, y)

    base = statistics.median(times["hand-written loop"])
    print(f"MLP 784-256-128-10, MNIST sample (5000 rows), Adam 1e-3, batch 64, {args.epochs} epochs, "
          f"{args.threads} threads, torch {torch.__version__}, median of {args.repeats}")
    print(f"{'contestant':<24} {'median s':>9} {'min s':>7} {'ratio':>6} {'train acc':>10}  (ratio to the first)")
    for name in contestants:
        median = statistics.median(times[name])
        print(f"{name:<24} {median:>9.3f} {min(times[name]):>7.3f} {median / base:>6.3f} {scores[name]:>10.4f}")


if __name__ == "__main__":
    main()
