"""Character-level language models: training windows, the held-out end, scores against a manual
log-softmax, generation, the unigram baseline, save/load, the LSTM model and clear errors."""

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch

import learnable
from learnable.data.datasets import load_corpus
from learnable.data.text_windows import WindowLoader, validation_windows
from learnable.model_file import save_model
from learnable.models import GPTConfig, LSTMLanguageModel, LSTMLanguageModelConfig, build, describe
from learnable.models.mlp import MLP
from learnable.tasks.language_model import LanguageModel, train_language_model, unigram_bits_per_char

PATTERN = "abc" * 200  # 600 characters: the next one is always known from the one before
TINY_GPT = GPTConfig(0, context_length=16, embed_dim=32, num_heads=2, num_layers=1, dropout=0.0)
TINY_LSTM = LSTMLanguageModelConfig(0, embed_dim=16, hidden_size=32, num_layers=1, dropout=0.0)


@pytest.fixture(scope="module")
def pattern_gpt():
    return train_language_model(PATTERN, model=TINY_GPT, num_epochs=15, lr=1e-2, batch_size=8)


@pytest.fixture(scope="module")
def untrained():
    """A language model with random weights over a small vocabulary, for exact-number checks."""
    torch.manual_seed(0)
    tokenizer = learnable.data.tokenizer.Tokenizer.learn(["the quick brown fox"], level="char")
    network = learnable.models.GPT(vocab_size=len(tokenizer), context_length=8, embed_dim=16, num_heads=2,
                                   num_layers=1, dropout=0.0)
    return LanguageModel(network, tokenizer, context_length=8)


# ---- learning a pattern -------------------------------------------------------------------------------
def test_a_tiny_gpt_learns_a_repeating_pattern(pattern_gpt):
    assert pattern_gpt.generate("abca", length=20, temperature=0) == "abca" + "bcabcabcabcabcabcabc"
    assert pattern_gpt.metrics_["unigram_bits_per_char"] == pytest.approx(math.log2(3), abs=0.01)
    assert pattern_gpt.metrics_["val_bits_per_char"] < 0.1  # the unigram model needs log2(3) = 1.58
    likely, _ = pattern_gpt.score("abcabcabcabcabc")
    unlikely, _ = pattern_gpt.score("acbbacabcbaccab")  # the same letters, shuffled
    assert likely > -0.05 and unlikely < likely - 2


def test_a_tiny_lstm_learns_it_too():
    model = train_language_model(PATTERN, model=TINY_LSTM, context_length=16, num_epochs=15, lr=2e-2, batch_size=8)
    assert isinstance(model.network_, LSTMLanguageModel) and model.context_length_ == 16
    assert model.generate("bca", length=9, temperature=0) == "bca" + "bcabcabca"
    assert model.metrics_["val_bits_per_char"] < 0.5 < 1.5 < model.metrics_["unigram_bits_per_char"]


def test_training_is_recorded_per_epoch_in_bits(pattern_gpt):
    history = pattern_gpt.history_
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    for epoch in history:
        assert epoch["val_bits_per_char"] == pytest.approx(epoch["val_loss"] / math.log(2))
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert "blocks.0.mlp.1" in history[-1]["stats"]["activations"]  # the Statistics callback watched the GELU
    training = pattern_gpt.training_
    assert training["model"] == "transformer" and training["context_length"] == 16
    assert training["steps"] == training["epochs"] * math.ceil((540 // 16) / 8)


# ---- data: the held-out end, windows, the vocabulary -------------------------------------------------
def test_the_last_fraction_is_held_out_and_its_characters_are_not_learned():
    text = "abab" * 30 + "abZZ" * 4  # 'Z' appears only in the last 10%
    model = train_language_model(text, model=TINY_GPT, num_epochs=1)
    assert "Z" not in model.tokenizer_.tokens
    assert model.metrics_["val_chars"] == len(text) - round(len(text) * 0.9) == 14
    assert model.metrics_["train_chars"] == 122  # ends with "ab": no Z was seen in training


def test_windows_are_the_stream_shifted_by_one_in_a_seeded_order():
    ids = torch.arange(100)
    loader = WindowLoader(ids, context_length=10, batch_size=4, seed=3)
    batches = list(loader)
    assert len(batches) == len(loader) == 3  # 100 // 10 = 10 windows per epoch
    for x, y in batches:
        assert x.shape[1] == y.shape[1] == 10
        assert torch.equal(y, x + 1)  # each target is the next id
        assert torch.equal(x[:, 1:], x[:, :1] + torch.arange(1, 10))  # contiguous slices of the stream
        assert int(y.max()) <= 99
    again = [x for x, _ in WindowLoader(ids, 10, 4, seed=3)]
    other = [x for x, _ in WindowLoader(ids, 10, 4, seed=4)]
    assert all(torch.equal(a, b) for a, (b, _) in zip(again, batches, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(again, other, strict=True))


def test_a_window_loader_continues_exactly_from_its_state():
    loader = WindowLoader(torch.arange(200), 8, 4, seed=0)
    iterator = iter(loader)
    next(iterator), next(iterator)
    state = loader.state_dict()
    rest = [x for x, _ in iterator]
    resumed = WindowLoader(torch.arange(200), 8, 4, seed=99)
    resumed.load_state_dict(state)
    assert all(torch.equal(a, b) for a, (b, _) in zip(rest, resumed, strict=True))


def test_validation_windows_do_not_overlap():
    X, y = validation_windows(torch.arange(25), context_length=8)
    assert X.tolist() == [list(range(0, 8)), list(range(8, 16)), list(range(16, 24))]
    assert torch.equal(y, X + 1)
    X, y = validation_windows(torch.arange(5), context_length=8)  # shorter than a context: one window
    assert X.tolist() == [[0, 1, 2, 3]] and y.tolist() == [[1, 2, 3, 4]]


def test_the_unigram_baseline_is_the_smoothed_cross_entropy():
    train, target = torch.tensor([2, 2, 2, 3]), torch.tensor([2, 3, 1, 4])  # 1 (unknown) and 4 never seen
    counts = Counter({1: 0, 2: 3, 3: 1, 4: 0})
    p = {i: (n + 1) / (4 + 4) for i, n in counts.items()}  # add-one over ids 1..4
    expected = -np.mean([math.log2(p[int(i)]) for i in target])
    assert unigram_bits_per_char(train, target, vocab_size=5) == pytest.approx(expected)


# ---- scores -------------------------------------------------------------------------------------------
def test_score_equals_a_manual_log_softmax(untrained):
    text = "the fox"
    ids = torch.tensor(untrained.tokenizer_.encode(text))
    with torch.no_grad():
        log_p = torch.log_softmax(untrained.network_(ids[None, :-1])[0], dim=-1)  # (6, V)
    expected = log_p.gather(1, ids[1:, None]).mean().item()  # the first character is only context
    nats, bits = untrained.score(text)
    assert nats == pytest.approx(expected, abs=1e-6)
    assert bits == pytest.approx(-expected / math.log(2), abs=1e-6)


def test_a_long_text_is_scored_in_windows_that_advance_by_half_a_context(untrained):
    text = "the quick brown fox the quick"  # 29 characters, context 8
    ids = torch.tensor(untrained.tokenizer_.encode(text))
    expected, done = [], 0
    for end in [8, 12, 16, 20, 24, 28]:  # each window ends here and scores the targets after the last one
        with torch.no_grad():
            log_p = torch.log_softmax(untrained.network_(ids[None, end - 8 : end])[0], dim=-1)
        targets = ids[end - 8 + 1 : end + 1]
        scores = log_p.gather(1, targets[:, None])[:, 0]
        expected += scores[8 - (end - done) :].tolist()
        done = end
    got = untrained.log_likelihoods(ids)
    assert len(got) == len(ids) - 1
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_unknown_characters_are_scored_as_the_unknown_token(untrained):
    nats, _ = untrained.score("the ~~~")
    ids = torch.tensor(untrained.tokenizer_.encode("the ~~~"))
    assert ids.tolist()[-3:] == [1, 1, 1]
    assert nats == pytest.approx(untrained.log_likelihoods(ids).mean().item())


# ---- generation ---------------------------------------------------------------------------------------
def test_generation_is_repeatable_with_a_seed(untrained):
    first = untrained.generate("the", length=30, seed=1)
    assert first == untrained.generate("the", length=30, seed=1)
    assert first != untrained.generate("the", length=30, seed=2)
    assert first.startswith("the") and len(first) == 33
    assert set(first) <= set("the quick brown fox")  # never padding or the unknown marker


def test_greedy_top_1_and_a_tiny_temperature_agree(untrained):
    greedy = untrained.generate("qu", length=40, temperature=0)
    assert untrained.generate("qu", length=40, top_k=1, seed=5) == greedy
    assert untrained.generate("qu", length=40, temperature=1e-6, seed=5) == greedy
    ids = torch.tensor(untrained.tokenizer_.encode("qu"))
    with torch.no_grad():
        first = untrained.network_(ids[None])[0, -1, 2:].argmax().item() + 2
    assert greedy[2] == untrained.tokenizer_.tokens[first]


def test_top_k_only_draws_the_k_likeliest(untrained):
    ids = torch.tensor(untrained.tokenizer_.encode("the"))
    with torch.no_grad():
        logits = untrained.network_(ids[None])[0, -1, 2:]
    top3 = {untrained.tokenizer_.tokens[i + 2] for i in logits.topk(3).indices.tolist()}
    drawn = {untrained.generate("the", length=1, top_k=3, temperature=5.0, seed=s)[-1] for s in range(40)}
    assert drawn <= top3 and len(drawn) >= 2


def test_a_prompt_longer_than_the_context_and_unknown_characters_are_fine(untrained):
    prompt = "the quick brown fox, the quick ~ brown"
    text = untrained.generate(prompt, length=5, seed=0)
    assert text.startswith(prompt) and len(text) == len(prompt) + 5


# ---- save and load --------------------------------------------------------------------------------------
def test_save_and_load_keep_scores_settings_and_metrics(pattern_gpt, tmp_path):
    path = pattern_gpt.save(tmp_path / "lm")
    info = json.loads((path / "model.json").read_text())
    assert info["model"]["name"] == "gpt" and info["language_model"]["context_length"] == 16
    loaded = LanguageModel.load(path)
    assert loaded.score("abcab") == pattern_gpt.score("abcab")
    assert loaded.generate("ab", 10, seed=3) == pattern_gpt.generate("ab", 10, seed=3)
    assert loaded.metrics_ == pytest.approx(pattern_gpt.metrics_)
    assert len(loaded.history_) == len(pattern_gpt.history_) and loaded.training_["model"] == "transformer"


def test_loading_something_else_is_a_clear_error(tmp_path):
    save_model(tmp_path / "mlp", MLP(in_features=3, out_features=2), {})
    with pytest.raises(ValueError, match="is not a language model: it holds MLP weights and no vocabulary"):
        LanguageModel.load(tmp_path / "mlp")
    with pytest.raises(FileNotFoundError, match="no model directory"):
        LanguageModel.load(tmp_path / "missing")


def test_the_shipped_corpus_is_public_domain_shakespeare():
    text = load_corpus()
    assert 100_000 < len(text) < 300_000 and text.startswith("First Citizen:\nBefore we proceed")
    with pytest.raises(ValueError, match=r"no shipped corpus named 'tolstoy'; the corpora are \['shakespeare'\]"):
        load_corpus("tolstoy")


# ---- the LSTM model ----------------------------------------------------------------------------------------
def test_lstm_language_model_shapes_causality_and_json():
    torch.manual_seed(0)
    model = LSTMLanguageModel(vocab_size=9, embed_dim=8, hidden_size=12, num_layers=2, dropout=0.0).eval()
    ids = torch.randint(0, 9, (3, 10))
    changed = ids.clone()
    changed[:, 4] = (changed[:, 4] + 1) % 9
    with torch.no_grad():
        out, out_changed = model(ids), model(changed)
    assert out.shape == (3, 10, 9)
    torch.testing.assert_close(out[:, :4], out_changed[:, :4])
    name, config = describe(model)
    rebuilt = build(name, json.loads(json.dumps(config)))
    rebuilt.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(ids), out)
    with pytest.raises(TypeError, match="integer token ids"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="hidden_size=0 must be a whole number >= 1"):
        LSTMLanguageModel(vocab_size=9, hidden_size=0)


# ---- mistakes ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"temperature": -0.5}, ValueError, r"temperature=-0.5 must be a finite number >= 0"),
        ({"temperature": float("nan")}, ValueError, r"temperature=nan must be a finite number >= 0"),
        ({"top_k": 0}, ValueError, r"top_k=0 must be None or a whole number >= 1"),
        ({"length": -1}, ValueError, r"length=-1 must be a whole number >= 0, for example 200 characters"),
        ({"prompt": ""}, ValueError, r"generate needs a prompt"),
        ({"seed": -3}, ValueError, r"seed=-3 must be None or a whole number in \[0, 2\*\*64\)"),
    ],
)
def test_bad_generation_settings_are_refused(untrained, settings, error, message):
    arguments = {"prompt": "the", "length": 5, **settings}
    with pytest.raises(error, match=message):
        untrained.generate(**arguments)


def test_bad_score_input_is_refused(untrained):
    with pytest.raises(ValueError, match=r"score needs at least 2 characters \(the first is only context\), got 1"):
        untrained.score("a")
    with pytest.raises(TypeError, match="score takes text"):
        untrained.score(["the", "fox"])


@pytest.mark.parametrize(
    ("text", "settings", "error", "message"),
    [
        ("short text", {}, ValueError, r"the text has 10 characters: too few to train on windows of context_length"),
        (PATTERN, {"model": "rnn"}, ValueError, r"unknown language model 'rnn'; choose one of \['transformer', 'lstm"),
        (PATTERN, {"validation": 0}, ValueError, r"validation=0 must be a number > 0 and <= 0.5"),
        (PATTERN, {"validation": 0.9}, ValueError, r"validation=0.9 must be a number > 0 and <= 0.5"),
        (PATTERN, {"num_epochs": 0}, ValueError, r"num_epochs=0 must be a whole number >= 1"),
        (PATTERN, {"lr": 0}, ValueError, r"lr=0 would never change the weights"),
        (PATTERN, {"batch_size": 0}, ValueError, r"batch_size=0 must be a whole number >= 1"),
        (PATTERN, {"context_length": 0}, ValueError, r"context_length=0 must be a whole number >= 1"),
        (PATTERN, {"model": TINY_GPT, "context_length": 32}, ValueError, "differs from the GPTConfig's context_length"),
        (["abc"] * 9, {}, TypeError, r"a language model learns from text \(str\), got list"),
    ],
)
def test_bad_training_settings_are_refused_before_training(text, settings, error, message):
    with pytest.raises(error, match=message):
        train_language_model(text, **settings)
