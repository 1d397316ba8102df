"""A GPT-style decoder: the transformer language model of "Attention Is All You Need" (Vaswani et al.,
2017), decoder only and pre-norm, as in GPT-2 (Radford et al., 2019).

Token ids become vectors (a token embedding plus a learned position embedding); each block lets every
position gather information from the positions before it (causal self-attention) and then transforms
it on its own (an MLP); a final LayerNorm and the output head give one score per vocabulary token for
what comes next. The output head shares its weight matrix with the token embedding ("weight tying",
Press & Wolf, 2017): fewer parameters, and a token's input and output vectors learn together.

Example:
    >>> import torch
    >>> model = GPT(vocab_size=65, context_length=32, embed_dim=64, num_heads=4, num_layers=2)
    >>> model(torch.zeros(2, 10, dtype=torch.long)).shape   # (B, T) ids -> (B, T, vocab_size) logits
    torch.Size([2, 10, 65])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from learnable.models.base import ConfigModule, check_dropout, check_sizes, check_token_ids, register


@dataclass
class GPTConfig:
    vocab_size: int
    context_length: int = 128
    embed_dim: int = 128
    num_heads: int = 4
    num_layers: int = 4
    dropout: float = 0.1


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees positions 0..t only.

    For each head, ``softmax(q k^T / sqrt(d) + mask) v``, where the mask is -inf above the diagonal,
    computed by ``F.scaled_dot_product_attention(..., is_causal=True)`` (a fused kernel where there is one).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)  # queries, keys and values of all heads at once
        self.proj = nn.Linear(embed_dim, embed_dim)  # the heads' outputs mixed back into the residual stream
        self.proj_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # batch, time (positions), channels (embed_dim)
        H = self.num_heads
        q, k, v = self.qkv(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D), D = C / H: one row per head
        k = k.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        # softmax(q @ k^T / sqrt(D), masked so that position t attends to 0..t) @ v: (B, H, T, T) @ (B, H, T, D)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): the heads side by side again
        return self.proj_dropout(self.proj(y))


class Block(nn.Module):
    """One pre-norm transformer block: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x))."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attention = CausalSelfAttention(embed_dim, num_heads, dropout)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, 4 * embed_dim),
            nn.GELU(),
            nn.Linear(4 * embed_dim, embed_dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))  # (B, T, C): positions exchange information
        return x + self.mlp(self.norm2(x))  # (B, T, C): each position on its own


@register
class GPT(ConfigModule):
    """A decoder-only transformer: (B, T) int64 token ids -> (B, T, vocab_size) next-token logits.

    Output t scores the token that follows input t, having seen inputs 0..t only. T may be at most
    ``context_length`` (the number of learned positions).
    """

    name = "gpt"
    config_class = GPTConfig

    def __init__(self, config: GPTConfig | None = None, **fields) -> None:
        super().__init__(config, **fields)
        c = self.config
        _check(c)
        self.token_embedding = nn.Embedding(c.vocab_size, c.embed_dim)
        self.position_embedding = nn.Embedding(c.context_length, c.embed_dim)
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c.embed_dim, c.num_heads, c.dropout) for _ in range(c.num_layers))
        self.norm = nn.LayerNorm(c.embed_dim)
        # No head of its own: the logits use token_embedding.weight (tied weights; see forward).
        self.apply(self._init_weights)
        for name, parameter in self.named_parameters():
            if name.endswith(("attention.proj.weight", "mlp.2.weight")):
                # GPT-2: the layers that write into the residual stream start smaller, by 1/sqrt(2 * layers),
                # so the stream's variance does not grow with depth.
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * c.num_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """GPT-2's initialization: normal(0, 0.02) weights, zero biases (LayerNorms stay 1 and 0)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        self._check_input(ids)
        T = ids.shape[1]
        positions = torch.arange(T, device=ids.device)  # (T,)
        x = self.token_embedding(ids) + self.position_embedding(positions)  # (B, T, C) + (T, C) -> (B, T, C)
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)  # (B, T, C)
        x = self.norm(x)  # (B, T, C)
        return F.linear(x, self.token_embedding.weight)  # (B, T, C) @ (C, V) -> (B, T, V): the tied head

    def _check_input(self, ids: torch.Tensor) -> None:
        check_token_ids("GPT", ids)
        if ids.shape[1] > self.config.context_length:
            raise ValueError(
                f"GPT got {ids.shape[1]} tokens per row, but its context_length is {self.config.context_length}; "
                f"pass at most the last {self.config.context_length} tokens, or build a GPT with a longer context."
            )


def _check(c: GPTConfig) -> None:
    check_sizes("GPT", vocab_size=c.vocab_size, context_length=c.context_length, embed_dim=c.embed_dim,
                num_heads=c.num_heads, num_layers=c.num_layers)
    if c.embed_dim % c.num_heads:
        raise ValueError(
            f"GPT embed_dim={c.embed_dim} must be a multiple of num_heads={c.num_heads} (each head gets "
            f"embed_dim / num_heads channels); e.g. embed_dim={c.num_heads * max(1, round(c.embed_dim / c.num_heads))}."
        )
    check_dropout("GPT", c.dropout)
