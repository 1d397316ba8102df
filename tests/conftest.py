"""Shared fixtures: one CPU thread for the whole suite, the iris table, one quickly fitted model."""

import os

import pytest
import torch

import learnable


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """The suite's models are tiny and gain nothing from intra-op threads, while on a busy two-core
    machine OpenMP's waiting threads slow each step a hundredfold. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def runs_directory(tmp_path_factory):
    """Runs recorded by tests go to a temporary runs directory, never to ./runs."""
    directory = tmp_path_factory.mktemp("runs")
    previous = os.environ.get("LEARNABLE_RUNS")
    os.environ["LEARNABLE_RUNS"] = str(directory)
    yield directory
    if previous is None:
        del os.environ["LEARNABLE_RUNS"]
    else:
        os.environ["LEARNABLE_RUNS"] = previous


@pytest.fixture(scope="session")
def iris():
    """Iris as a user gets it: a DataFrame of 4 measurements and a Series of species names."""
    X, y, _ = learnable.data.datasets.load("iris")
    return X, y


@pytest.fixture(scope="session")
def iris_model(iris):
    """A small MLP fitted on iris in well under a second (good enough to tell species apart)."""
    X, y = iris
    return learnable.fit(X, y, model="mlp", num_epochs=20, seed=0)
