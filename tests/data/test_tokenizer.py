import numpy as np
import pytest

from learnable.data.tokenizer import Tokenizer


def test_char_round_trip_and_unknown():
    tok = Tokenizer.learn(["hello world"], level="char")
    assert tok.tokens[:2] == ["<pad>", "<unk>"]
    assert tok.tokens[2] == "l"  # the most frequent character gets the first id
    assert tok.decode(tok.encode("low")) == "low"
    assert tok.encode("z") == [1]
    assert len(tok) == 2 + len(set("hello world"))


def test_word_level_lowercases_and_splits_punctuation():
    tok = Tokenizer.learn(["The cat sat.", "the dog"], level="word")
    assert tok.split("The cat, sat!") == ["the", "cat", ",", "sat", "!"]
    assert tok.tokens[2] == "the"
    assert tok.decode(tok.encode("The dog")) == "the dog"


def test_max_tokens_and_min_count():
    tok = Tokenizer.learn(["a a a b b c"], level="word", max_tokens=4)
    assert tok.tokens == ["<pad>", "<unk>", "a", "b"]
    tok = Tokenizer.learn(["a a a b b c"], level="word", min_count=2)
    assert tok.tokens == ["<pad>", "<unk>", "a", "b"]


def test_encode_batch_pads_and_cuts():
    tok = Tokenizer.learn(["abc"], level="char")
    batch = tok.encode_batch(["ab", "abcabc"], length=4)
    assert batch.dtype == np.int64 and batch.shape == (2, 4)
    np.testing.assert_array_equal(batch[0], [tok.ids["a"], tok.ids["b"], 0, 0])
    np.testing.assert_array_equal(batch[1], [tok.ids[c] for c in "abca"])


def test_json_round_trip_and_damage():
    tok = Tokenizer.learn(["some text"], level="word")
    again = Tokenizer.from_dict(tok.to_dict())
    assert again.tokens == tok.tokens and again.encode("text some") == tok.encode("text some")
    with pytest.raises(ValueError, match="damaged tokenizer"):
        Tokenizer.from_dict({"level": "char"})
    with pytest.raises(ValueError, match="must start with"):
        Tokenizer.from_dict({"level": "char", "lowercase": False, "tokens": ["a", "b"]})


def test_bad_input():
    with pytest.raises(ValueError, match="level='byte' is not known"):
        Tokenizer.learn(["x"], level="byte")
    with pytest.raises(ValueError, match="no tokens"):
        Tokenizer.learn(["", "   "], level="word")
    with pytest.raises(TypeError, match="takes text"):
        Tokenizer.learn(["ok", 3])
