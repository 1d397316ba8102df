"""GPU checks: skipped without CUDA (CI has none). The Learner on CUDA must match the CPU run."""

import pytest
import torch
from torch import nn

from learnable import Learner

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is present"),
]


def _train(device: str) -> nn.Module:
    torch.manual_seed(0)
    X, y = torch.randn(512, 8), torch.randint(0, 3, (512,))
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    Learner(model, (X, y), loss="cross_entropy", lr=1e-2, batch_size=64, validation=None, seed=0,
            progress=False, device=device).fit(3)
    return model.cpu()


def test_cuda_training_matches_cpu():
    cpu, cuda = _train("cpu"), _train("cuda")
    for a, b in zip(cpu.parameters(), cuda.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


def test_batches_live_on_the_device():
    learner = Learner(nn.Linear(4, 2), (torch.randn(32, 4), torch.randint(0, 2, (32,))), validation=None,
                      progress=False, device="cuda")
    assert all(t.is_cuda for t in learner.train_loader.tensors)
