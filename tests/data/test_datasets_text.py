"""The generated reviews (labels checked by an independent reading of the grammar) and how the schema
turns a text column into token ids (the Tokenizer is the oracle)."""

import json

import numpy as np
import pandas as pd
import pytest

from learnable.data import Schema
from learnable.data.columns import find_text_column, is_free_text
from learnable.data.datasets import load
from learnable.data.datasets.text import NEGATIONS, NEGATIVE, OPENERS, POSITIVE, make_reviews
from learnable.data.schema import MAX_TEXT_TOKENS, RARE_WORD_ROWS
from learnable.data.tokenizer import Tokenizer

# ---- the generated reviews ----------------------------------------------------------------------------


def _read_label(review: str) -> str:
    """The sentiment of a review by the grammar's rules, read from the text alone."""
    text = review.removesuffix(".")
    for opener in sorted(filter(None, OPENERS), key=len, reverse=True):
        text = text.removeprefix(opener)
    if text.startswith("although "):
        main = text.split(", ", 1)[1]  # "although A, B": B decides
    elif ", although " in text:
        main = text.split(", although ")[0]  # "A, although B": A decides
    elif " but " in text:
        main = text.split(" but ")[1]
    else:
        main = text.split(" and ")[0]  # one clause, or two that agree
    words = main.split()
    assert words[-1] in POSITIVE + NEGATIVE, review
    positive = (words[-1] in POSITIVE) != any(word in NEGATIONS for word in words)
    return "positive" if positive else "negative"


def test_labels_follow_negation_and_clause_order():
    data = make_reviews(500, seed=3)
    assert [_read_label(text) for text in data.X.review] == data.y.tolist()
    assert 0.4 <= (data.y == "positive").mean() <= 0.6
    forms = data.X.review.str.contains(" but ").mean(), data.X.review.str.contains("although").mean()
    assert min(forms) > 0.1  # every form is there in numbers
    negated = data.X.review.str.contains(r"\b(?:not|never|hardly)\b")
    assert 0.3 < (data.y[negated] == "positive").mean() < 0.7  # "not" alone says nothing of the label


def test_reviews_are_seeded_distinct_and_sized():
    first, again, other = make_reviews(300, seed=1), make_reviews(300, seed=1), make_reviews(300, seed=2)
    pd.testing.assert_frame_equal(first.X, again.X)
    pd.testing.assert_series_equal(first.y, again.y)
    assert not first.X.equals(other.X)
    assert first.X.review.is_unique and len(first.X) == 300
    assert list(first.X.columns) == ["review"] and first.y.name == "sentiment"


def test_built_in_reviews():
    X, y, description = load("reviews")
    assert X.shape == (2000, 1) and len(y) == 2000
    assert "make_reviews" in description and "seed 0" in description
    assert X.review.iloc[0] == make_reviews(2000, seed=0).X.review.iloc[0]


@pytest.mark.parametrize("num_rows", [0, -3, 2.5, True])
def test_bad_sizes_are_refused(num_rows):
    with pytest.raises(ValueError, match=rf"num_rows={num_rows!r} must be a whole number >= 1"):
        make_reviews(num_rows)


# ---- text in the schema ----------------------------------------------------------------------------------


def test_schema_encodes_texts_as_the_tokenizer_does():
    X = make_reviews(200, seed=0).X
    schema = Schema.learn(X.iloc[:150], pd.Series([0, 1] * 75, name="label"), "binary")
    tokenizer = Tokenizer.learn(X.review.iloc[:150], level="word")
    assert schema.text == "review" and schema.tokenizer == tokenizer.to_dict()
    assert schema.max_length == max(len(tokenizer.split(t)) for t in X.review.iloc[:150])
    assert schema.vocab_size == len(tokenizer) and schema.num_features == schema.max_length
    ids = schema.transform(X)
    assert ids.dtype == np.int64 and ids.shape == (200, schema.max_length)
    np.testing.assert_array_equal(ids, tokenizer.encode_batch(X.review.tolist(), schema.max_length))
    loaded = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    np.testing.assert_array_equal(loaded.transform(X.review.tolist()), ids)


def test_long_texts_are_cut_and_rare_words_become_unknown():
    texts = [f"word{i} " * 3 + "common " * (MAX_TEXT_TOKENS + 50) for i in range(RARE_WORD_ROWS)]
    texts[0] += " once"
    schema = Schema.learn(pd.DataFrame({"note": texts}), pd.Series([0, 1] * (RARE_WORD_ROWS // 2)), "binary")
    assert schema.max_length == MAX_TEXT_TOKENS
    assert "once" not in schema.tokenizer["tokens"]  # seen in one text of a thousand: mapped to <unk> (1)
    assert schema.transform(["once common"]).tolist()[0][:2] == [1, schema.tokenizer["tokens"].index("common")]


@pytest.mark.parametrize("values, expected", [
    (["the battery is good", "the screen was bad", "a fine price here"], True),
    (["light red", "dark blue", "light red"], False),  # categories: few words, repeated
    (["alpha", "beta", "gamma"], False),  # identifiers: one word each
    (["the same three words"] * 4, False),  # not mostly unique
    ([1.5, 2.5, 3.5], False),
    (["the battery is good", 3, "the screen was bad"], False),  # not all strings
])
def test_what_counts_as_free_text(values, expected):
    assert is_free_text(pd.Series(values, dtype=object)) is expected


def test_text_columns_are_found_or_refused():
    texts = pd.Series(["the battery is good", "the screen was bad"], name="review")
    assert find_text_column(texts.to_frame()) == "review"
    assert find_text_column(texts.to_frame(), text=False) is None
    assert find_text_column(pd.DataFrame({"colour": ["red", "blue"]})) is None
    assert find_text_column(pd.DataFrame({"colour": ["red", "blue"]}), text=True) == "colour"  # asked for text
    with pytest.raises(ValueError, match=r"column 'review' holds free text, and X has 1 other column"):
        find_text_column(texts.to_frame().assign(stars=[4, 1]))
    with pytest.raises(ValueError, match=r"a text model needs X to be one column of texts, but X has 2 column"):
        find_text_column(pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}), text=True)


def test_a_schema_saved_before_text_support_still_loads():
    old = Schema.learn(pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1]), "binary").to_dict()
    for key in ("text", "tokenizer", "max_length"):
        del old[key]
    schema = Schema.from_dict(old)
    assert schema.text is None and schema.vocab_size == 0
    assert schema.transform(pd.DataFrame({"a": [1.0]})).dtype == np.float32
