"""Time learnable's PyTorch k-means and PCA against scikit-learn on the same synthetic data.

Data: ``--rows`` x 50 float32 (default 1,000,000 rows) drawn around 8 well-separated centers, the
issue-7 benchmark shape. Contestants, each on the same array, alternated ``--repeats`` times in one
process with the same thread count (the table gives medians and the ratio learnable / scikit-learn):

- k-means, 8 clusters, k-means++ start, one start (``n_init=1``), at most 50 Lloyd iterations;
- PCA to 10 components: randomized SVD, full SVD, and "auto" (both pick covariance_eigh for this shape);
- logistic regression (L2, C=1, L-BFGS, at most 100 iterations) on a binary target: is the row in one
  of the first 4 of the 8 blobs, flipped for 5% of the rows.

Quality is printed beside the time (inertia, explained variance, training accuracy), so a fast wrong
answer shows.

    python benchmarks/classic_vs_sklearn.py [--rows 1000000] [--repeats 3] [--threads N] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from learnable.classic import PCA, KMeans, LogisticRegression


def make_data(rows: int, features: int = 50, centers: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows (N, features) float32 around ``centers`` blobs, and a noisy binary label of the blob."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=5.0, size=(centers, features))
    blob = rng.integers(0, centers, rows)
    X = (means[blob] + rng.normal(size=(rows, features))).astype(np.float32)
    return X, (blob < centers // 2) ^ (rng.random(rows) < 0.05)


def contestants(device: str) -> dict[str, tuple[Callable, Callable]]:
    """Task -> (learnable, scikit-learn), each a function of (X, y) returning a quality figure."""
    def ours_kmeans(X, y):
        model = KMeans(8, n_init=1, max_iter=50, device=device).fit(X)
        return model.inertia_

    def their_kmeans(X, y):
        return SklearnKMeans(8, n_init=1, max_iter=50, random_state=0).fit(X).inertia_

    def ours_logistic(X, y):
        return LogisticRegression(device=device, dtype=torch.float32).fit(X, y).score(X, y)

    def their_logistic(X, y):
        return SklearnLogisticRegression().fit(X, y).score(X, y)

    def pca(solver, ours):
        def run(X, y):
            cls = PCA if ours else SklearnPCA
            extra = {"device": device} if ours else {"random_state": 0}
            return float(cls(10, svd_solver=solver, **extra).fit(X).explained_variance_ratio_.sum())
        return run

    return {"k-means (k=8, n_init=1, 50 iterations)": (ours_kmeans, their_kmeans),
            "PCA randomized, 10 components": (pca("randomized", True), pca("randomized", False)),
            "PCA full SVD, 10 components": (pca("full", True), pca("full", False)),
            "PCA auto (covariance_eigh), 10 components": (pca("auto", True), pca("auto", False)),
            "logistic regression (L2, L-BFGS)": (ours_logistic, their_logistic)}


def timed(run: Callable, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    start = time.perf_counter()
    quality = run(X, y)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, quality


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, y = make_data(args.rows)
    print(f"{args.rows:,} x {X.shape[1]} float32, {args.threads} threads, learnable on {args.device}, "
          f"median of {args.repeats}")
    print("| task | learnable s | scikit-learn s | ratio | learnable quality | scikit-learn quality |")
    print("|---|---|---|---|---|---|")
    for task, (ours, theirs) in contestants(args.device).items():
        times: dict[str, list[float]] = {"ours": [], "theirs": []}
        quality = {}
        for _ in range(args.repeats):  # alternated, so load on the machine hits both alike
            for name, run in (("ours", ours), ("theirs", theirs)):
                seconds, quality[name] = timed(run, X, y)
                times[name].append(seconds)
        a, b = statistics.median(times["ours"]), statistics.median(times["theirs"])
        print(f"| {task} | {a:.2f} | {b:.2f} | {a / b:.2f} | {quality['ours']:.6g} | {quality['theirs']:.6g} |")


if __name__ == "__main__":
    main()
