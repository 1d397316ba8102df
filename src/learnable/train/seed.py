"""One seed for everything random: Python, NumPy and PyTorch (CPU and CUDA).

Example:
    >>> import torch
    >>> seed_everything(0); a = torch.rand(1)
    >>> seed_everything(0); bool(torch.rand(1) == a)
    True
"""

from __future__ import annotations

import random

import numpy as np
import torch

from learnable.utils.validation import check_seed


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (all CUDA devices too)."""
    check_seed("seed", seed)
    seed = int(seed)  # a NumPy integer too
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
