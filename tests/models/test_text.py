"""TextClassifier: padding never changes a row, the GRU equals PyTorch's packed GRU, JSON round trip,
clear errors, and both encoders learn a word-order rule with the Learner that a bag of words cannot."""

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from learnable.models import TextClassifier, TextClassifierConfig, build, describe
from learnable.models.text import reading_backwards, text_lengths
from learnable.train.learner import Learner

ENCODERS = [
    {"encoder": "gru"},
    {"encoder": "gru", "bidirectional": False, "num_layers": 2},
    {"encoder": "transformer"},
    {"encoder": "transformer", "num_layers": 2},
]


def _model(seed: int = 0, **settings) -> TextClassifier:
    torch.manual_seed(seed)
    return TextClassifier(vocab_size=30, out_features=3, embed_dim=16, hidden_size=16, max_length=12,
                          **settings).eval()


@pytest.mark.parametrize("settings", ENCODERS, ids=lambda s: "-".join(map(str, s.values())))
def test_padding_never_changes_a_rows_logits(settings):
    model = _model(**settings)
    text = [5, 9, 2, 7, 7]
    short = torch.tensor([text + [0]])  # (1, 6)
    long = torch.tensor([text + [0] * 7, [3] * 12])  # (2, 12): more padding, next to a full-length row
    empty_short, empty_long = torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 12, dtype=torch.long)
    with torch.no_grad():
        torch.testing.assert_close(model(long)[:1], model(short), rtol=0, atol=1e-6)
        torch.testing.assert_close(model(empty_long), model(empty_short), rtol=0, atol=1e-6)
        other = model(torch.tensor([[5, 9, 2, 7, 8, 0]]))
    assert (other - model(short)).abs().max() > 1e-4  # the last real token does count


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_gru_equals_pytorchs_gru_on_packed_sequences(bidirectional, num_layers):
    model = _model(encoder="gru", bidirectional=bidirectional, num_layers=num_layers)
    oracle = nn.GRU(16, 16, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
    weights = {}
    for layer in range(num_layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            weights[f"{name}_l{layer}"] = getattr(model.encoder.forward_layers[layer], f"{name}_l0")
            if bidirectional:
                weights[f"{name}_l{layer}_reverse"] = getattr(model.encoder.backward_layers[layer], f"{name}_l0")
    oracle.load_state_dict(weights)
    ids = torch.tensor([[4, 8, 15, 16, 23, 0], [4, 2, 0, 0, 0, 0], [7, 7, 7, 7, 7, 7], [0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        lengths = torch.tensor([5, 2, 6, 1])  # an empty text reads one padding token
        packed = pack_padded_sequence(model.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, state = oracle(packed)  # (layers * directions, B, H)
        final = torch.cat(list(state[-(2 if bidirectional else 1):]), dim=1)
        torch.testing.assert_close(model(ids), model.head(final), rtol=1e-5, atol=1e-6)


def test_lengths_and_backward_reading_order():
    ids = torch.tensor([[4, 5, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])  # id 1 (unknown) is a real token
    assert text_lengths(ids).tolist() == [2, 3, 1]
    order = reading_backwards(text_lengths(ids), 4)
    assert order.tolist() == [[1, 0, 2, 3], [2, 1, 0, 3], [0, 1, 2, 3]]
    assert ids.gather(1, order).gather(1, order).equal(ids)  # the same gather undoes it


@pytest.mark.parametrize("encoder", ["gru", "transformer"])
def test_json_round_trip_rebuilds_the_same_network(encoder):
    model = _model(encoder=encoder, dropout=0.2, num_heads=2)
    name, config = describe(model)
    rebuilt = build(name, json.loads(json.dumps(config)))
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    ids = torch.tensor([[3, 4, 5, 0], [6, 0, 0, 0]])
    assert name == "text" and isinstance(rebuilt.config, TextClassifierConfig)
    assert rebuilt.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(ids), model(ids), rtol=0, atol=0)


@pytest.mark.parametrize("settings, error, message", [
    ({"encoder": "lstm"}, ValueError, r"encoder='lstm' is not known; choose one of \['gru', 'transformer'\]"),
    ({"encoder": "transformer", "embed_dim": 30, "num_heads": 4}, ValueError, r"embed_dim=30 must be divisible"),
    ({"vocab_size": 1}, ValueError, r"vocab_size=1 must count padding"),
    ({"hidden_size": 0}, ValueError, r"hidden_size=0 must be a whole number >= 1"),
    ({"dropout": 1.0}, ValueError, r"dropout=1.0 must be a number >= 0 and < 1"),
    ({"bidirectional": "yes"}, ValueError, r"bidirectional='yes' must be True or False"),
    ({"heads": 2}, TypeError, r"its settings are \['vocab_size'"),
])
def test_bad_settings_are_refused(settings, error, message):
    with pytest.raises(error, match=message):
        TextClassifier(**{"vocab_size": 30, "out_features": 2, **settings})


def test_bad_inputs_are_refused():
    model = _model(encoder="transformer")
    with pytest.raises(TypeError, match=r"takes token ids, int64 of shape \(batch, length\); got torch.float32"):
        model(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"got 13 tokens per text but has positions for max_length=12"):
        model(torch.ones(2, 13, dtype=torch.long))


def _order_task(rows: int, length: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens 4..19 with one token 2 and one token 3 somewhere; label 1 when 2 comes first.

    Every pair of rows with swapped 2 and 3 has the same bag of words: only the order tells."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, 20, (rows, length), generator=generator)
    lengths = torch.randint(3, length + 1, (rows,), generator=generator)
    ids[torch.arange(length) >= lengths.unsqueeze(1)] = 0  # padding after each text
    first = (torch.rand(rows, generator=generator) * (lengths - 1)).long()
    second = first + 1 + (torch.rand(rows, generator=generator) * (lengths - 1 - first)).long()
    label = torch.randint(0, 2, (rows,), generator=generator)
    rows_ = torch.arange(rows)
    ids[rows_, first], ids[rows_, second] = 3 - label, 2 + label  # label 1: token 2 at the first place
    return ids, label


@pytest.mark.parametrize("encoder, num_epochs", [("gru", 15), ("transformer", 25)])
def test_both_encoders_learn_word_order_with_the_learner(encoder, num_epochs):
    X, y = _order_task(1200)
    X_test, y_test = _order_task(400, seed=1)
    torch.manual_seed(0)
    model = TextClassifier(vocab_size=20, out_features=2, encoder=encoder, embed_dim=32, hidden_size=32,
                           max_length=8)
    learner = Learner(model, (X, y), loss="cross_entropy", optimizer="adamw", lr=3e-3, batch_size=32,
                      validation=None, progress=False, seed=0)
    learner.fit(num_epochs)
    accuracy = (learner.predict(X_test).argmax(dim=1) == y_test).float().mean().item()
    bag_of_words = LogisticRegression(max_iter=1000).fit(_counts(X), y).score(_counts(X_test), y_test)
    assert accuracy >= 0.95, accuracy
    assert bag_of_words <= 0.65, bag_of_words  # the same words in both orders: counts cannot tell


def _counts(ids: torch.Tensor) -> np.ndarray:
    return np.stack([np.bincount(row, minlength=20) for row in ids.numpy()])[:, 1:]  # (N, 19), padding dropped
