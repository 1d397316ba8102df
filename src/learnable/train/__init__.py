"""Training: the :class:`Learner` (the seven steps) and what it needs to run them.

- :mod:`~learnable.train.learner`: the Learner;
- :mod:`~learnable.train.inputs`: checks of what it is given (loaders, targets, validation data);
- :mod:`~learnable.train.step_losses`: the per-step losses it keeps;
- :mod:`~learnable.train.closed_form`: closed-form gradients of the linear models;
- :mod:`~learnable.train.speed`: device, precision and memory-format choices;
- :mod:`~learnable.train.seed`: one seed for python, numpy, torch and the batch order.

The building blocks it uses live at their own public paths: :mod:`learnable.losses`,
:mod:`learnable.metrics`, :mod:`learnable.optim`, :mod:`learnable.callbacks`.

Example:
    >>> from learnable.train import Learner, seed_everything
    >>> seed_everything(0)
"""

from learnable.train.learner import Learner
from learnable.train.seed import seed_everything

__all__ = ["Learner", "seed_everything"]
