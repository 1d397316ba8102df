"""The learning-rate finder: an exponential sweep, a sensible suggestion, and nothing changed after it."""

import math
import re

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from learnable import Learner
from learnable.callbacks.lr_finder import LRFinder
from learnable.cli import app


def _learner():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(512, 8, generator=gen)
    y = (X[:, 0] - X[:, 1] > 0).long()
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
    return Learner(model, (X, y), loss="cross_entropy", optimizer="sgd", lr=0.05, batch_size=32, progress=False)


def test_the_sweep_is_exponential_and_the_suggestion_sensible():
    result = _learner().lr_find(start_lr=1e-5, end_lr=100.0, num_steps=60)
    ratios = np.diff(np.log(result.lrs))
    assert np.allclose(ratios, ratios[0]) and result.lrs[0] == pytest.approx(1e-5)
    assert len(result.lrs) <= 60 and len(result.lrs) == len(result.losses)
    lowest = result.lrs[int(np.argmin(result.losses))]
    assert 1e-5 < result.suggestion <= lowest  # on the falling side, before the minimum
    assert result.losses[-1] > min(result.losses)  # the sweep ran into the rising side


def test_the_sweep_stops_when_the_loss_explodes():
    result = _learner().lr_find(start_lr=1e-3, end_lr=1e6, num_steps=100)
    assert len(result.lrs) < 100


def test_nothing_changes_after_a_sweep():
    plain, swept = _learner(), _learner()
    swept.lr_find(num_steps=40)
    assert swept.epoch == 0 and swept.step == 0 and swept.optimizer.param_groups[0]["lr"] == 0.05
    torch.manual_seed(5)  # the same dropout masks for both (the sweep restored the global RNG it found)
    plain.fit(2)
    torch.manual_seed(5)
    swept.fit(2)
    for a, b in zip(plain.model.parameters(), swept.model.parameters(), strict=True):
        assert torch.equal(a, b)  # same weights, same batch order, same dropout masks
    assert [h["val_loss"] for h in plain.history] == [h["val_loss"] for h in swept.history]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"start_lr": 1.0, "end_lr": 0.1}, r"0 < start_lr < end_lr"),
     ({"num_steps": 3}, r"num_steps=3 must be a whole number >= 5")],
)
def test_bad_sweeps_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        LRFinder(**{"start_lr": 1e-7, "end_lr": 10.0, "num_steps": 100, **options})


def test_the_plot_is_written(tmp_path):
    result = _learner().lr_find(num_steps=30)
    result.plot(str(tmp_path / "lr.png"))
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cli_suggests_a_rate_and_plots(tmp_path):
    result = CliRunner().invoke(app, ["lr-find", "--data", "wine", "--steps", "40", "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("suggested learning rate:"))
    assert 1e-7 <= float(line.split()[3]) <= 10 and math.isfinite(float(line.split()[3]))
    assert (tmp_path / "p.png").exists()
    bad = CliRunner().invoke(app, ["lr-find", "--data", "wine", "--plot", str(tmp_path / "p.txt")])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: --plot")


@pytest.mark.parametrize(("plot", "message"), [("missing/p.png", "the folder '.*missing' does not exist; create it"),
                                             ("folder.png", "is a directory; give a file name"),
                                             ("p.PNG", None)])
def test_the_cli_checks_the_plot_path_before_any_work(tmp_path, monkeypatch, plot, message):
    (tmp_path / "folder.png").mkdir()

    def no_work(*args, **kwargs):
        raise AssertionError("the data was read or the sweep started")

    monkeypatch.setattr("learnable.cli.train._load_data", no_work)
    result = CliRunner().invoke(app, ["lr-find", "--data", "wine", "--plot", str(tmp_path / plot)])
    if message is None:  # the path passes (any case of the suffix): the work starts
        assert isinstance(result.exception, AssertionError)
        return
    assert result.exit_code == 1 and result.stderr.startswith("error: --plot")
    assert re.search(message, result.stderr), result.stderr


def test_the_sweep_leaves_the_global_rng_as_it_found_it():
    learner = _learner()
    torch.manual_seed(7)
    learner.lr_find(num_steps=20)
    after = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after, torch.rand(3))
