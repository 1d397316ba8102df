"""Recurrent networks for sequences: an RNN, LSTM or GRU read over the time steps, then a Linear head.

The network is many-to-one: it reads a whole sequence (B, T, F) and answers once, from its state
after the last time step. That answer is either the next ``horizon`` values of a series
(forecasting, see :mod:`learnable.tasks.forecast`) or one logit per class (sequence classification).
A sequence of plain numbers may come as (B, T): it is read as one feature per step.

Which cell:

- "rnn": the plain (Elman) cell, ``h_t = tanh(W x_t + U h_{t-1} + b)``; cheap, but its gradient
  fades over long sequences, so it remembers only a few dozen steps.
- "lstm": gates and a separate cell state let the gradient flow over long spans (the default).
- "gru": the LSTM's idea with fewer gates (two instead of three): a little faster, often as good.

The cells are PyTorch's ``nn.RNN``/``nn.LSTM``/``nn.GRU`` with ``batch_first=True``, so a GPU runs
them with cuDNN's fused kernels.

Example:
    >>> import torch
    >>> model = RNN(in_features=3, out_features=2, cell="gru", hidden_size=16)
    >>> model(torch.zeros(4, 10, 3)).shape   # 4 sequences of 10 steps, 3 features each
    torch.Size([4, 2])
    >>> RNN(in_features=1, out_features=5)(torch.zeros(4, 24)).shape   # (B, T) numbers: a 5-step forecast
    torch.Size([4, 5])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, register
from learnable.utils.validation import check_choice, check_flag, check_number

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass
class RNNConfig:
    """The settings of an :class:`RNN`.

    Args:
        in_features: features per time step (1 for a plain series).
        out_features: outputs per sequence: the forecast horizon, or the number of classes.
        cell: "lstm", "gru" or "rnn".
        hidden_size: the width of the recurrent state.
        num_layers: recurrent layers stacked on each other.
        dropout: dropout between stacked layers and before the head, in [0, 1).
        bidirectional: also read each sequence backwards (for classification; a forecast has no future to read).
        gate_bias: the initial bias of the gate that keeps the state: the LSTM's forget gate, the GRU's
            update gate (ignored by "rnn"). 1.0 keeps the state from the first step on, so the gradient
            reaches early steps (Jozefowicz et al., 2015); 0.0 is PyTorch's own initialisation.
    """

    in_features: int
    out_features: int
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    bidirectional: bool = False
    gate_bias: float = 1.0


@register
class RNN(ConfigModule):
    """A recurrent network (RNN, LSTM or GRU) whose final state feeds a Linear layer: (B, T, F) -> (B, out)."""

    name = "rnn"
    config_class = RNNConfig

    def __init__(self, config: RNNConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        _check(c)
        # PyTorch applies its dropout only between stacked layers (and warns with one layer).
        between = c.dropout if c.num_layers > 1 else 0.0
        self.recurrent = CELLS[c.cell](c.in_features, c.hidden_size, num_layers=c.num_layers, batch_first=True,
                                       dropout=between, bidirectional=c.bidirectional)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size * self.directions, c.out_features)
        if c.cell != "rnn" and c.gate_bias:
            self._set_gate_bias(c.gate_bias)

    def _set_gate_bias(self, value: float) -> None:
        """Make the keep-the-state gate's total bias (input bias + hidden bias) equal ``value`` in every layer.

        PyTorch stacks the gates' rows in each bias vector: LSTM (input, forget, cell, output), GRU
        (reset, update, new); the second block of ``hidden_size`` rows is the forget / update gate.
        """
        size = self.config.hidden_size
        with torch.no_grad():
            for name, bias in self.recurrent.named_parameters():
                if name.startswith("bias_"):
                    bias[size:2 * size] = value if name.startswith("bias_ih") else 0.0

    @property
    def directions(self) -> int:
        return 2 if self.config.bidirectional else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Read sequences ``x`` (B, T, F), or (B, T) with one feature, and return (B, out_features)."""
        x = self._as_steps(x)  # (B, T, F)
        _, state = self.recurrent(x)
        hidden = state[0] if isinstance(state, tuple) else state  # an LSTM's state is (h, c)
        # h_n is (layers * directions, B, H); the top layer's last `directions` rows are its final states:
        # forwards after step T, and (bidirectional) backwards after step 1.
        last = hidden[-self.directions:].transpose(0, 1).flatten(1)  # (B, directions * H)
        return self.head(self.dropout(last))  # (B, out_features)

    def _as_steps(self, x: torch.Tensor) -> torch.Tensor:
        features = self.config.in_features
        if x.ndim == 2 and features == 1:
            x = x.unsqueeze(-1)  # (B, T) -> (B, T, 1)
        if x.ndim != 3 or x.shape[-1] != features or x.shape[1] == 0:
            raise ValueError(
                f"RNN expects sequences shaped (batch, steps, {features})"
                + (" or (batch, steps)" if features == 1 else "")
                + f", got {tuple(x.shape)}; build it with in_features equal to the features per time step."
            )
        if not x.is_floating_point():
            x = x.float()  # integer series (counts) are read as numbers
        return x


def _check(c: RNNConfig) -> None:
    check_sizes("RNN", in_features=c.in_features, out_features=c.out_features, hidden_size=c.hidden_size,
                num_layers=c.num_layers)
    check_choice("cell", c.cell, tuple(sorted(CELLS)), owner="RNN")
    check_dropout("RNN", c.dropout)
    check_number("gate_bias", c.gate_bias, -10, 10, "1.0", owner="RNN")
    check_flag("bidirectional", c.bidirectional, owner="RNN")
