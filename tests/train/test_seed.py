"""seed_everything: one seed for Python, NumPy and PyTorch, checked before any generator is touched."""

import random

import numpy as np
import pytest
import torch

from learnable import seed_everything


@pytest.mark.parametrize("seed", [0, np.int64(7), 2**64 - 1])
def test_any_seed_a_generator_takes_is_repeatable(seed):
    seed_everything(seed)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(seed)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True, "0"])
def test_a_seed_no_generator_takes_is_a_clear_error(seed):
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match=r"seed=.* must be a whole number in \[0, 2\*\*64\), for example 0"):
        seed_everything(seed)
    assert torch.equal(torch.get_rng_state(), state)  # nothing was seeded
