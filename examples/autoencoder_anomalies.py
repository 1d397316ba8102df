"""Autoencoders for anomaly detection and for a 2-D picture of the data.

An autoencoder learns to rebuild the zeros only; sixes, which it never saw, are rebuilt badly, so the
reconstruction error flags them. Then a 2-wide autoencoder squeezes five digit classes into 2-D
points, plotted to a PNG.

    python examples/autoencoder_anomalies.py                  # the 8x8 digits, a few seconds
    python examples/autoencoder_anomalies.py mnist-sample     # 28x28 MNIST digits, about a minute
"""

import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score

import learnable
from learnable import AnomalyDetector
from learnable.insight import plot_embedding
from learnable.tasks.anomaly import embed_2d

name = sys.argv[1] if len(sys.argv) > 1 else "digits"
data = learnable.data.datasets.load(name)
images, y = data.images, data.y.to_numpy()  # (N, 1, H, W) pixels, digit labels

# Normal: the zeros (70% to train on, 30% kept back); anomalies: the sixes.
zeros = np.random.default_rng(0).permutation(np.flatnonzero(y == 0))
cut = int(0.7 * len(zeros))
normal, held_out, anomalies = images[zeros[:cut]], images[zeros[cut:]], images[y == 6]
truth = np.r_[np.zeros(len(held_out)), np.ones(len(anomalies))]  # 1 = anomaly

for model in ("dense", "conv"):
    start = time.perf_counter()
    detector = AnomalyDetector(model, quantile=0.99, seed=0).fit(normal)
    seconds = time.perf_counter() - start
    scores = np.concatenate([detector.score_samples(held_out), detector.score_samples(anomalies)])
    print(f"{model:5s} autoencoder on {name} (normal 0, anomalies 6), trained {len(detector.history_)} epochs "
          f"in {seconds:.1f}s")
    print(f"      ROC AUC {roc_auc_score(truth, scores):.4f}; threshold {detector.threshold_:.4g} (the 0.99 quantile "
          f"of the validation errors)")
    print(f"      flagged: {detector.predict(held_out).mean():.1%} of held-out zeros, "
          f"{detector.predict(anomalies).mean():.1%} of sixes")

# Dimensionality reduction: 2-D codes of the digits 0-4.
keep = y < 5
points = embed_2d(data.X[keep], model="dense", seed=0)  # (N, 2)
path = plot_embedding(points, y[keep], path=f"autoencoder_embedding_{name}.png",
                      title=f"2-D autoencoder codes of the digits 0-4 ({name})")
print(f"2-D embedding of {keep.sum()} digits written to {path}")
