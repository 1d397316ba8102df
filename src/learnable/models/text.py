"""Text classification: token embeddings read by a GRU or a transformer encoder, then a linear head.

The input is a batch of token ids (B, L), int64, padded at the end with 0 (as
:meth:`learnable.data.tokenizer.Tokenizer.encode_batch` writes them). Padding never changes a row's
result: the GRU reads each text only up to its last real token (in both directions), and the
transformer masks padded positions out of attention and out of its mean pooling. A text with no
tokens at all is read as one padding token, so it still gets a (learned, constant) answer.

- ``encoder="gru"``: a (bidirectional) GRU; its final states summarise the text in reading order,
  so it tells "good, not bad" from "bad, not good".
- ``encoder="transformer"``: learned positions plus ``nn.TransformerEncoderLayer`` blocks
  (pre-norm; attention by ``scaled_dot_product_attention``), pooled by a masked mean.

Example:
    >>> import torch
    >>> model = TextClassifier(vocab_size=100, out_features=2, encoder="transformer", max_length=16)
    >>> ids = torch.tensor([[5, 6, 7, 0, 0], [8, 0, 0, 0, 0]])  # (B=2, L=5), 0 = padding
    >>> model(ids).shape
    torch.Size([2, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, check_token_ids, register
from learnable.utils.validation import check_choice, check_flag

ENCODERS = ("gru", "transformer")


@dataclass
class TextClassifierConfig:
    """Settings of a :class:`TextClassifier`.

    Args:
        vocab_size: number of token ids (the tokenizer's vocabulary, padding and unknown included).
        out_features: outputs (one logit per class; 1 for binary tasks).
        encoder: "gru" or "transformer".
        embed_dim: width of the token embeddings (the transformer's model width).
        hidden_size: the GRU's state width per direction; the transformer's feed-forward width.
        num_layers: stacked GRU layers or transformer blocks.
        num_heads: attention heads (transformer only); must divide ``embed_dim``.
        max_length: the longest input in tokens (transformer only: one learned position per token).
        dropout: dropout on embeddings, between layers and before the head.
        bidirectional: the GRU also reads each text backwards (GRU only).
    """

    vocab_size: int
    out_features: int
    encoder: str = "gru"
    embed_dim: int = 64
    hidden_size: int = 64
    num_layers: int = 1
    num_heads: int = 4
    max_length: int = 256
    dropout: float = 0.1
    bidirectional: bool = True


def text_lengths(ids: torch.Tensor) -> torch.Tensor:
    """Tokens up to and including the last non-padding one, per row, at least 1: shape (B,).

    >>> text_lengths(torch.tensor([[4, 5, 0], [0, 0, 0]])).tolist()
    [2, 1]
    """
    positions = torch.arange(1, ids.shape[1] + 1, device=ids.device)  # (L,), 1-based
    return torch.where(ids != 0, positions, 0).amax(dim=1).clamp(min=1)  # (B,)


def reading_backwards(lengths: torch.Tensor, length: int) -> torch.Tensor:
    """Gather indices (B, L) that reverse each row's first ``lengths`` steps and leave its padding in place.

    The same indices undo the reversal. ``x.gather(1, index)`` reads every text from its last token back.

    >>> reading_backwards(torch.tensor([2, 3]), 4).tolist()
    [[1, 0, 2, 3], [2, 1, 0, 3]]
    """
    steps = torch.arange(length, device=lengths.device)  # (L,)
    last = lengths.unsqueeze(1) - 1  # (B, 1)
    return torch.where(steps < lengths.unsqueeze(1), last - steps, steps)  # (B, L)


def _gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(1, index.unsqueeze(2).expand(-1, -1, x.shape[2]))  # (B, L, D), steps reordered per row


def _grus(widths: list[int], hidden_size: int) -> nn.ModuleList:
    return nn.ModuleList(nn.GRU(width, hidden_size, batch_first=True) for width in widths)  # one layer each


class TextGRU(nn.Module):
    """Stacked GRUs, each direction read up to the text's last real token; the final states, concatenated.

    Padding is never read: the forward GRU's state is taken at the last real token (later padding
    cannot reach it), and the backward GRU reads each text reversed in place, real tokens first.
    This needs no lengths on the host (no ``pack_padded_sequence``), so a GPU step never waits on them.
    """

    def __init__(self, c: TextClassifierConfig) -> None:
        super().__init__()
        directions = 2 if c.bidirectional else 1
        widths = [c.embed_dim] + [c.hidden_size * directions] * (c.num_layers - 1)  # each layer's input
        self.forward_layers = _grus(widths, c.hidden_size)
        self.backward_layers = _grus(widths, c.hidden_size) if c.bidirectional else None
        self.dropout = nn.Dropout(c.dropout)
        self.out_features = c.hidden_size * directions

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        backwards = reading_backwards(lengths, x.shape[1]) if self.backward_layers is not None else None
        for i, layer in enumerate(self.forward_layers):
            if i > 0:
                x = self.dropout(x)  # between layers, as nn.GRU(dropout=...) does
            ahead = layer(x)[0]  # (B, L, H)
            if backwards is None:
                x = ahead
                continue
            behind = _gather_steps(self.backward_layers[i](_gather_steps(x, backwards))[0], backwards)  # (B, L, H)
            x = torch.cat([ahead, behind], dim=2)  # (B, L, 2H), both directions at each step
        rows = torch.arange(len(x), device=x.device)
        final = ahead[rows, lengths - 1]  # (B, H): the forward state after the last real token
        if backwards is None:
            return final
        return torch.cat([final, behind[:, 0]], dim=1)  # (B, 2H): behind[:, 0] has read the whole text backwards


class TextTransformer(nn.Module):
    """Learned positions, pre-norm encoder blocks with a padding mask, then a masked mean over tokens."""

    def __init__(self, c: TextClassifierConfig) -> None:
        super().__init__()
        self.positions = nn.Embedding(c.max_length, c.embed_dim)  # N(0, 1) like the tokens': neither drowns the other
        layer = nn.TransformerEncoderLayer(c.embed_dim, c.num_heads, dim_feedforward=c.hidden_size,
                                           dropout=c.dropout, activation="gelu", batch_first=True, norm_first=True)
        # Nested tensors skip padded tokens only in eval and need post-norm; the mask does the same job.
        self.blocks = nn.TransformerEncoder(layer, c.num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.embed_dim)  # pre-norm blocks leave the residual stream unnormalised
        self.max_length, self.out_features = c.max_length, c.embed_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.shape[1] > self.max_length:
            raise ValueError(
                f"TextClassifier got {x.shape[1]} tokens per text but has positions for max_length="
                f"{self.max_length}; cut the texts to {self.max_length} tokens or build it with a larger max_length."
            )
        positions = torch.arange(x.shape[1], device=x.device)  # (L,)
        padding = positions >= lengths.unsqueeze(1)  # (B, L), True where there is no token
        h = self.blocks(x + self.positions(positions), src_key_padding_mask=padding)  # (B, L, D)
        keep = (~padding).unsqueeze(2).to(h.dtype)  # (B, L, 1)
        return (self.norm(h) * keep).sum(dim=1) / keep.sum(dim=1)  # (B, D), mean over real tokens


@register
class TextClassifier(ConfigModule):
    """Token ids (B, L), 0 = padding, to logits (B, out_features) through a GRU or a transformer encoder."""

    name = "text"
    config_class = TextClassifierConfig

    def __init__(self, config: TextClassifierConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        _check(c)
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=0)
        self.dropout = nn.Dropout(c.dropout)
        self.encoder = TextGRU(c) if c.encoder == "gru" else TextTransformer(c)
        self.head = nn.Linear(self.encoder.out_features, c.out_features)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        check_token_ids("TextClassifier", ids)
        lengths = text_lengths(ids)  # (B,)
        x = self.dropout(self.embedding(ids))  # (B, L, embed_dim)
        return self.head(self.dropout(self.encoder(x, lengths)))  # (B, out_features)


def _check(c: TextClassifierConfig) -> None:
    check_sizes("TextClassifier", vocab_size=c.vocab_size, out_features=c.out_features, embed_dim=c.embed_dim,
                hidden_size=c.hidden_size, num_layers=c.num_layers, num_heads=c.num_heads, max_length=c.max_length)
    check_choice("encoder", c.encoder, ENCODERS, owner="TextClassifier")
    if c.vocab_size < 2:
        raise ValueError(f"TextClassifier vocab_size={c.vocab_size} must count padding (0) and unknown (1): >= 2.")
    if c.encoder == "transformer" and c.embed_dim % c.num_heads:
        raise ValueError(
            f"TextClassifier embed_dim={c.embed_dim} must be divisible by num_heads={c.num_heads}, "
            "so that every head gets the same width; e.g. embed_dim=64 with num_heads=4."
        )
    check_dropout("TextClassifier", c.dropout)
    check_flag("bidirectional", c.bidirectional, owner="TextClassifier")
