"""An LSTM language model: token embedding -> LSTM -> linear scores for the next token.

The recurrent alternative to :class:`~learnable.models.transformer.GPT`: the LSTM carries what it has
read so far in its state (Hochreiter & Schmidhuber, 1997), so output t depends on inputs 0..t only
and there is no fixed context length; a language model trained on windows of T tokens has learned to
use about T tokens of the past.

Example:
    >>> import torch
    >>> model = LSTMLanguageModel(vocab_size=65, embed_dim=32, hidden_size=64, num_layers=2)
    >>> model(torch.zeros(2, 10, dtype=torch.long)).shape   # (B, T) ids -> (B, T, vocab_size) logits
    torch.Size([2, 10, 65])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, check_token_ids, register


@dataclass
class LSTMLanguageModelConfig:
    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1


@register
class LSTMLanguageModel(ConfigModule):
    """(B, T) int64 token ids -> (B, T, vocab_size) next-token logits, through a stacked LSTM.

    Dropout is applied to the embeddings, between LSTM layers and before the output layer.
    """

    name = "lstm_lm"
    config_class = LSTMLanguageModelConfig

    def __init__(self, config: LSTMLanguageModelConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        _check(c)
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim)
        self.dropout = nn.Dropout(c.dropout)
        between = c.dropout if c.num_layers > 1 else 0.0  # PyTorch's LSTM drops out between layers only
        self.lstm = nn.LSTM(c.embed_dim, c.hidden_size, num_layers=c.num_layers, batch_first=True, dropout=between)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        check_token_ids("LSTMLanguageModel", ids)
        x = self.dropout(self.embedding(ids))  # (B, T, embed_dim)
        outputs, _ = self.lstm(x)  # (B, T, hidden_size): the top layer's state after each token
        return self.head(self.dropout(outputs))  # (B, T, vocab_size)


def _check(c: LSTMLanguageModelConfig) -> None:
    check_sizes("LSTMLanguageModel", vocab_size=c.vocab_size, embed_dim=c.embed_dim, hidden_size=c.hidden_size,
                num_layers=c.num_layers)
    check_dropout("LSTMLanguageModel", c.dropout)
