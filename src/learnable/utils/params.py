"""An estimator's parameters, read from its constructor: scikit-learn's ``get_params``, written once.

Every learnable estimator follows scikit-learn's contract: ``__init__`` only stores its arguments, each
under its own name, and learned state ends in ``_``. So the constructor's signature *is* the list of
parameters, and :class:`Params` reads it (as scikit-learn's ``BaseEstimator`` does) instead of each class
keeping a hand-written list that can drift from its ``__init__``.

Example:
    >>> class Smoother(Params):
    ...     def __init__(self, window: int = 3, *, centred: bool = True) -> None:
    ...         self.window, self.centred = window, centred
    >>> Smoother(5).get_params()
    {'window': 5, 'centred': True}
"""

from __future__ import annotations

import inspect
from typing import Any


class Params:
    """Mixin: :meth:`get_params` from the names of ``__init__``'s parameters.

    A subclass's ``__init__`` must store each argument as an attribute of the same name (and take no
    ``*args`` or ``**kwargs``), so ``type(self)(**self.get_params())`` builds an unfitted copy; saving
    records these settings and loading passes them back to the constructor.
    """

    @classmethod
    def param_names(cls) -> list[str]:
        """The parameters of ``cls.__init__``, in their order."""
        parameters = inspect.signature(cls).parameters.values()
        assert all(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters), f"{cls.__name__}.__init__"
        return [p.name for p in parameters]

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, by name (as scikit-learn's ``get_params``; saved in model.json)."""
        return {name: getattr(self, name) for name in self.param_names()}
