"""The GPT decoder: attention against hand-written and PyTorch oracles, causality, tied weights, init,
JSON round-trips and clear errors."""

import json
import math

import pytest
import torch
from torch import nn

from learnable.model_file import load_model, save_model
from learnable.models import GPT, GPTConfig, build, describe
from learnable.models.transformer import CausalSelfAttention


def _attention(embed_dim=16, num_heads=4):
    torch.manual_seed(0)
    return CausalSelfAttention(embed_dim, num_heads, dropout=0.0).eval()


def test_attention_equals_a_hand_written_masked_softmax():
    attention, x = _attention(), torch.randn(3, 7, 16)
    B, T, C, H = 3, 7, 16, 4
    q, k, v = attention.qkv(x).split(C, dim=2)
    q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
    scores = q @ k.transpose(-2, -1) / math.sqrt(C // H)  # (B, H, T, T)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    expected = attention.proj((weights @ v).transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(attention(x), expected, atol=1e-5, rtol=1e-5)


def test_attention_equals_pytorch_multihead_attention_with_a_causal_mask():
    attention, x = _attention(), torch.randn(2, 9, 16)
    reference = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(attention.qkv.weight)
        reference.in_proj_bias.copy_(attention.qkv.bias)
        reference.out_proj.weight.copy_(attention.proj.weight)
        reference.out_proj.bias.copy_(attention.proj.bias)
    mask = nn.Transformer.generate_square_subsequent_mask(9)
    expected, _ = reference(x, x, x, attn_mask=mask, need_weights=False)
    torch.testing.assert_close(attention(x), expected, atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def gpt():
    torch.manual_seed(0)
    return GPT(vocab_size=11, context_length=12, embed_dim=16, num_heads=2, num_layers=2, dropout=0.0).eval()


def test_output_shape_is_one_score_per_token_and_position(gpt):
    assert gpt(torch.randint(0, 11, (4, 12))).shape == (4, 12, 11)
    assert gpt(torch.randint(0, 11, (1, 3))).shape == (1, 3, 11)


def test_a_later_token_never_changes_earlier_outputs(gpt):
    ids = torch.randint(0, 11, (2, 12))
    changed = ids.clone()
    changed[:, 6] = (changed[:, 6] + 1) % 11
    with torch.no_grad():
        before, after = gpt(ids), gpt(changed)
    torch.testing.assert_close(before[:, :6], after[:, :6])
    assert not torch.allclose(before[:, 6:], after[:, 6:])  # from position 6 on, the change is seen


def test_the_output_head_is_the_token_embedding(gpt):
    names = dict(gpt.named_parameters())
    assert not any("head" in name for name in names)  # no output matrix of its own
    captured = {}
    hook = gpt.norm.register_forward_hook(lambda module, inputs, output: captured.update(hidden=output))
    ids = torch.randint(0, 11, (2, 5))
    with torch.no_grad():
        logits = gpt(ids)
    hook.remove()
    torch.testing.assert_close(logits, captured["hidden"] @ gpt.token_embedding.weight.T)
    C = 16  # per block: 2 LayerNorms, qkv, proj, and the MLP's two layers (weights + biases)
    block = 2 * 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C)
    embeddings, final_norm = 11 * C + 12 * C, 2 * C  # tokens (also the head) and positions
    assert sum(p.numel() for p in gpt.parameters()) == embeddings + 2 * block + final_norm


def test_gpt2_initialization():
    torch.manual_seed(0)
    model = GPT(vocab_size=50, context_length=32, embed_dim=64, num_heads=4, num_layers=8)
    residual = torch.cat([b.attention.proj.weight.flatten() for b in model.blocks]
                         + [b.mlp[2].weight.flatten() for b in model.blocks])
    assert residual.std().item() == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert model.blocks[0].attention.qkv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert model.token_embedding.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(b.attention.qkv.bias.abs().max() == 0 for b in model.blocks)
    assert torch.equal(model.norm.weight, torch.ones(64))


def test_rebuilt_from_json_and_saved_without_pickle(gpt, tmp_path):
    name, config = describe(gpt)
    assert name == "gpt"
    rebuilt = build(name, json.loads(json.dumps(config)))
    rebuilt.load_state_dict(gpt.state_dict())
    ids = torch.randint(0, 11, (2, 8))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(ids), gpt(ids))
    loaded, _ = load_model(save_model(tmp_path / "gpt", gpt, {}))  # one tensor for the tied weights
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids), gpt(ids))


def test_dropout_is_off_in_eval_mode_and_on_in_training():
    torch.manual_seed(0)
    model = GPT(vocab_size=7, context_length=8, embed_dim=8, num_heads=2, num_layers=1, dropout=0.5)
    ids = torch.randint(0, 7, (2, 8))
    model.eval()
    torch.testing.assert_close(model(ids), model(ids))
    model.train()
    assert not torch.allclose(model(ids), model(ids))


def test_too_long_or_wrongly_typed_input_is_refused(gpt):
    with pytest.raises(ValueError, match=r"got 13 tokens per row, but its context_length is 12"):
        gpt(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(TypeError, match="integer token ids"):
        gpt(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"shaped \(batch, time\)"):
        gpt(torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"vocab_size": 0}, "vocab_size=0 must be a whole number >= 1"),
        ({"vocab_size": 5, "embed_dim": 10, "num_heads": 4}, "embed_dim=10 must be a multiple of num_heads=4"),
        ({"vocab_size": 5, "dropout": 1.0}, r"GPT dropout=1.0 must be a number >= 0 and < 1"),
        ({"vocab_size": 5, "num_layers": 0}, "num_layers=0 must be a whole number >= 1"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        GPT(GPTConfig(**settings))
