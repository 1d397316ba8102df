"""The Learner trains any torch.nn.Module: here a hand-made network on the 8x8 digits, with early
stopping and a cosine schedule with warm-up.

    python examples/learner_any_module.py
"""

import torch
from torch import nn

import learnable
from learnable import Learner
from learnable.callbacks import EarlyStopping, LRSchedule

X, y, _ = learnable.data.datasets.load("digits")
X = torch.tensor(X / 16.0, dtype=torch.float32)  # (1797, 64), pixels scaled to 0..1
y = torch.tensor(y.to_numpy())

learnable.seed_everything(0)
model = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Dropout(0.1), nn.Linear(128, 10))
learner = Learner(model, (X, y), loss="cross_entropy", optimizer="adamw", lr=3e-3, batch_size=32,
                  validation=0.2, metrics=["accuracy", "f1"], seed=0,
                  callbacks=[EarlyStopping(patience=5), LRSchedule("cosine", warmup=0.05)])
learner.fit(40)
print(f"best validation accuracy: {max(h['val_accuracy'] for h in learner.history):.4f}")
