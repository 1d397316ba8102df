"""The recurrent model: hand-computed RNN/LSTM/GRU steps as the oracle, JSON round trips, config and
input errors, and sequence classification trained with the Learner."""

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score
from torch import nn

from learnable import Learner, seed_everything
from learnable.callbacks import GradientClipping
from learnable.models import RNN, RNNConfig, build, describe


# ---- the oracle: one time step of each cell, written out from its equations ----------------------
def _weights(module: nn.RNNBase, suffix: str = "l0"):
    return (getattr(module, f"weight_ih_{suffix}"), getattr(module, f"weight_hh_{suffix}"),
            getattr(module, f"bias_ih_{suffix}"), getattr(module, f"bias_hh_{suffix}"))


def _rnn_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh), c


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)  # PyTorch's gate order
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _gru_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    xr, xz, xn = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    hr, hz, hn = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h, c


STEPS = {"rnn": _rnn_step, "lstm": _lstm_step, "gru": _gru_step}


def _by_hand(model: RNN, x: torch.Tensor, reverse: bool = False, suffix: str = "l0") -> torch.Tensor:
    """The final hidden state (B, H) after reading x (B, T, F) step by step."""
    h = c = torch.zeros(x.shape[0], model.config.hidden_size)
    order = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
    for t in order:
        h, c = STEPS[model.config.cell](x[:, t], h, c, *_weights(model.recurrent, suffix))
    return h


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_output_is_the_head_of_the_last_hidden_state_computed_by_hand(cell):
    torch.manual_seed(0)
    model = RNN(in_features=3, out_features=2, cell=cell, hidden_size=5).eval()
    x = torch.randn(4, 7, 3)
    expected = model.head(_by_hand(model, x))
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_reads_forwards_and_backwards(cell):
    torch.manual_seed(1)
    model = RNN(in_features=2, out_features=3, cell=cell, hidden_size=4, bidirectional=True).eval()
    x = torch.randn(3, 6, 2)
    forwards, backwards = _by_hand(model, x), _by_hand(model, x, reverse=True, suffix="l0_reverse")
    torch.testing.assert_close(model(x), model.head(torch.cat([forwards, backwards], dim=1)))
    assert model.head.in_features == 8


def test_stacked_layers_feed_the_top_layer_state_to_the_head():
    torch.manual_seed(2)
    model = RNN(in_features=1, out_features=1, cell="gru", hidden_size=3, num_layers=2, dropout=0.5).eval()
    x = torch.randn(5, 4, 1)
    outputs, _ = model.recurrent(x)  # PyTorch's own stack as the oracle
    torch.testing.assert_close(model(x), model.head(outputs[:, -1]))
    assert model.recurrent.dropout == 0.5


def test_a_series_batch_without_a_feature_axis_is_one_feature_per_step():
    model = RNN(in_features=1, out_features=4).eval()
    x = torch.randn(3, 10)
    assert model(x).shape == (3, 4)
    torch.testing.assert_close(model(x), model(x.unsqueeze(-1)))
    torch.testing.assert_close(model(torch.arange(10).reshape(1, 10)), model(torch.arange(10.0).reshape(1, 10)))


@pytest.mark.parametrize(("cell", "gates"), [("lstm", 4), ("gru", 3)])
def test_gate_bias_sets_the_keep_gate_and_zero_keeps_pytorch_init(cell, gates):
    model = RNN(in_features=2, out_features=1, cell=cell, hidden_size=3, num_layers=2, gate_bias=1.5)
    for layer in ("l0", "l1"):
        total = getattr(model.recurrent, f"bias_ih_{layer}") + getattr(model.recurrent, f"bias_hh_{layer}")
        torch.testing.assert_close(total[3:6], torch.full((3,), 1.5))  # the forget / update gate
        assert total.shape == (gates * 3,)
    torch.manual_seed(3)
    plain = RNN(in_features=2, out_features=1, cell=cell, hidden_size=3, gate_bias=0.0)
    torch.manual_seed(3)
    reference = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](2, 3, batch_first=True)
    torch.testing.assert_close(plain.recurrent.bias_ih_l0, reference.bias_ih_l0)


# ---- configs and JSON --------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_json_round_trip_rebuilds_the_same_network(cell):
    model = RNN(in_features=2, out_features=3, cell=cell, hidden_size=6, num_layers=2, bidirectional=True).eval()
    name, config = describe(model)
    rebuilt = build(*json.loads(json.dumps([name, config])))
    assert name == "rnn"
    assert rebuilt.config == model.config == RNNConfig(2, 3, cell, 6, 2, 0.0, True, 1.0)
    rebuilt.load_state_dict(model.state_dict())  # strict: the same keys and shapes
    x = torch.randn(2, 5, 2)
    torch.testing.assert_close(rebuilt.eval()(x), model(x))


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"cell": "transformer"}, ValueError, r"RNN cell='transformer' is not known; choose one of \['gru', 'lstm'"),
        ({"hidden_size": 0}, ValueError, r"RNN hidden_size=0 must be a whole number >= 1"),
        ({"num_layers": 1.5}, ValueError, r"RNN num_layers=1.5 must be a whole number >= 1"),
        ({"in_features": 0}, ValueError, r"RNN in_features=0 must be a whole number >= 1"),
        ({"dropout": 1.0}, ValueError, r"RNN dropout=1.0 must be a number >= 0 and < 1"),
        ({"dropout": "0.1"}, ValueError, r"RNN dropout='0.1' must be a number"),
        ({"bidirectional": "yes"}, ValueError, r"RNN bidirectional='yes' must be True or False"),
        ({"gate_bias": True}, ValueError, r"RNN gate_bias=True must be a number"),
        ({"hidden": 8}, TypeError, r"RNN: .*unexpected keyword argument 'hidden'.*its settings are \['in_features'"),
    ],
)
def test_config_mistakes_get_clear_errors(settings, error, message):
    with pytest.raises(error, match=message):
        RNN(**{"in_features": 1, "out_features": 1, **settings})


@pytest.mark.parametrize(
    ("in_features", "shape", "message"),
    [
        (2, (4, 5, 3), r"expects sequences shaped \(batch, steps, 2\), got \(4, 5, 3\)"),
        (2, (4, 5), r"expects sequences shaped \(batch, steps, 2\), got \(4, 5\)"),
        (1, (4,), r"\(batch, steps, 1\) or \(batch, steps\), got \(4,\)"),
        (1, (4, 0), r"got \(4, 0, 1\)"),
    ],
)
def test_input_of_the_wrong_shape_is_a_clear_error(in_features, shape, message):
    with pytest.raises(ValueError, match=message):
        RNN(in_features=in_features, out_features=1)(torch.zeros(shape))


# ---- sequence classification with the Learner ----------------------------------------------------
def _first_sign(rows: int, steps: int, rng: np.random.Generator):
    """Noise sequences labelled by the sign of their first value: only memory of step 1 can tell them apart."""
    X = rng.normal(size=(rows, steps, 1)).astype(np.float32)
    return X, (X[:, 0, 0] > 0).astype(np.int64)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_each_cell_learns_a_task_that_needs_memory(cell):
    rng = np.random.default_rng(0)
    (X, y), (X_test, y_test) = _first_sign(1000, 12, rng), _first_sign(500, 12, rng)
    seed_everything(0)
    model = RNN(in_features=1, out_features=2, cell=cell, hidden_size=16)
    learner = Learner(model, (X, y), loss="cross_entropy", lr=1e-2, batch_size=32, validation=None,
                      callbacks=[GradientClipping(1.0)], progress=False, seed=0).fit(15)
    accuracy = accuracy_score(y_test, learner.predict(X_test).argmax(1).numpy())
    assert accuracy > 0.9  # chance is 0.5; measured 0.97-0.99 over four seeds
    # The Learner's per-layer statistics watch the recurrent layer's hidden states.
    activations = learner.history[-1]["stats"]["activations"]
    assert list(activations) == ["recurrent"]
    assert 0 < activations["recurrent"]["std"] < 1  # tanh-bounded states, not dead, not constant
