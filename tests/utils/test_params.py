"""learnable.utils.params.Params: get_params read from the constructor's signature, as scikit-learn does."""

import inspect

import pytest
from sklearn.base import BaseEstimator

import learnable
from learnable.utils.params import Params


class _Ours(Params):
    def __init__(self, window: int = 3, *, centred: bool = True, name: str | None = None) -> None:
        self.window, self.centred, self.name = window, centred, name


class _Theirs(BaseEstimator):
    def __init__(self, window: int = 3, *, centred: bool = True, name: str | None = None) -> None:
        self.window, self.centred, self.name = window, centred, name


def test_get_params_matches_scikit_learns_base_estimator():
    assert _Ours(5, name="x").get_params() == _Theirs(5, name="x").get_params()
    assert list(_Ours().get_params()) == ["window", "centred", "name"]  # in the signature's order


CLASSIC = [getattr(learnable.classic, name) for name in learnable.classic.__all__ if name != "DecisionTree"]
ESTIMATORS = [c for c in CLASSIC if isinstance(c, type) and issubclass(c, Params)] + [
    learnable.AnomalyDetector, learnable.Forecaster]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_estimator_gives_its_constructor_arguments_back(cls):
    """Each argument is stored under its own name, so the parameters rebuild an equal estimator."""
    params = cls().get_params()
    assert list(params) == list(inspect.signature(cls).parameters)
    assert cls(**params).get_params() == params
