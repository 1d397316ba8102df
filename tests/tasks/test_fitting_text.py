"""learnable.fit and the CLI on text: the generated reviews, raw strings in and out, save/load, the
report's extras, and clear errors for bad text input.

The oracle is scikit-learn's bag-of-words logistic regression on the same split: the reviews'
sentiment depends on negation and clause order, which a bag of words cannot see.
"""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import learnable
from learnable.cli import app
from learnable.data import split_indices
from learnable.data.datasets.text import make_reviews

runner = CliRunner()


@pytest.fixture(scope="module")
def reviews():
    return make_reviews(1000, seed=0)


@pytest.fixture(scope="module")
def gru(reviews):
    return learnable.fit(reviews.X, reviews.y, seed=0, num_epochs=14)


def _bag_of_words_accuracy(X: pd.DataFrame, y: pd.Series, seed: int = 0) -> float:
    """Logistic regression on word counts, trained on fit's training + validation rows, scored on its test rows."""
    parts = split_indices(len(y), validation=0.1, test=0.1, labels=y.astype(str).to_numpy(), seed=seed)
    seen = np.concatenate([parts.train, parts.validation])
    texts = X.iloc[:, 0]
    words = CountVectorizer(token_pattern=r"\w+|[^\w\s]")  # the words learnable's tokenizer cuts
    counts = words.fit_transform(texts.iloc[seen])
    oracle = LogisticRegression(max_iter=2000).fit(counts, y.iloc[seen])
    return oracle.score(words.transform(texts.iloc[parts.test]), y.iloc[parts.test])


# ---- accuracy ------------------------------------------------------------------------------------


def test_auto_picks_a_gru_that_reads_word_order(reviews, gru):
    bag_of_words = _bag_of_words_accuracy(reviews.X, reviews.y)
    assert gru.training_["model"] == "gru"
    assert gru.schema_.text == "review"
    assert len(gru.metrics_) and gru.metrics_["accuracy"] >= 0.95, gru.metrics_  # 100 test reviews
    assert bag_of_words <= 0.65, bag_of_words  # near chance: about 0.5
    assert gru.metrics_["accuracy"] - bag_of_words >= 0.3


def test_transformer_learns_an_easy_text_task_quickly():
    rng = np.random.default_rng(0)
    good, bad = ["good", "great", "fine", "lovely"], ["bad", "poor", "awful", "weak"]
    things = ["battery", "screen", "price", "sound", "design", "size"]
    labels = rng.integers(0, 2, 400)
    texts = [f"the {rng.choice(things)} is {rng.choice(good if label else bad)} {rng.choice(things)}"
             for label in labels]
    model = learnable.fit(texts, np.where(labels, "up", "down"), model="transformer", seed=0, num_epochs=8)
    assert model.training_["model"] == "transformer"
    assert model.network_.config.encoder == "transformer" and model.network_.config.num_layers == 2
    assert model.metrics_["accuracy"] >= 0.95, model.metrics_


@pytest.mark.slow
def test_transformer_reads_word_order_given_enough_reviews():
    # The transformer needs several thousand reviews where the GRU needs one thousand (see the report).
    data = make_reviews(8000, seed=0)
    model = learnable.fit(data.X, data.y, model="transformer", seed=0)
    bag_of_words = _bag_of_words_accuracy(data.X, data.y)
    assert model.metrics_["accuracy"] >= 0.9, model.metrics_
    assert bag_of_words <= 0.65, bag_of_words


# ---- raw strings in, labels out; save and load -----------------------------------------------------


def test_predicts_from_raw_strings_in_any_container(gru):
    texts = ["the battery is not good.", "the screen is bad but the price is great.",
             "although the sound was lovely, the design is awful.", "the handle is hardly flimsy."]
    expected = ["negative", "positive", "negative", "positive"]
    assert gru.predict(texts).tolist() == expected
    assert gru.predict(pd.Series(texts)).tolist() == expected
    assert gru.predict(pd.DataFrame({"review": texts})).tolist() == expected
    assert gru.predict(np.array(texts)).tolist() == expected
    proba = gru.predict_proba(texts)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == [gru.classes_.index(label) for label in expected]).all()


def test_unknown_words_and_empty_texts_still_get_a_prediction(gru):
    predictions = gru.predict(["", "zebra quantum marmalade", "the battery is not good, zebra."])
    assert len(predictions) == 3 and set(predictions) <= {"negative", "positive"}
    assert predictions[2] == "negative"


def test_save_and_load_give_identical_predictions(gru, reviews, tmp_path):
    path = gru.save(tmp_path / "model")
    loaded = learnable.load(path)
    texts = reviews.X.review.iloc[:50]
    np.testing.assert_array_equal(loaded.predict(texts), gru.predict(texts))
    np.testing.assert_array_equal(loaded.predict_proba(texts), gru.predict_proba(texts))
    assert loaded.schema_ == gru.schema_
    assert loaded.schema_.tokenizer["tokens"][:2] == ["<pad>", "<unk>"]
    assert loaded.evaluate(reviews.X, reviews.y)["accuracy"] == gru.evaluate(reviews.X, reviews.y)["accuracy"]


def test_the_doctor_and_the_report_read_a_text_model(gru, tmp_path):
    summary = gru.data_summary_
    assert summary["text"] == {"column": "review", "vocabulary": gru.schema_.vocab_size,
                               "max_length": gru.schema_.max_length}
    assert "perfect_predictors" not in summary and "scale" not in summary  # token ids are no features
    assert summary["rows"] == {"train": 800, "validation": 100, "test": 100}
    worst = gru.evaluation_["worst"]
    assert worst and isinstance(worst[0]["features"]["review"], str)
    codes = [finding.code for finding in gru.diagnose()]
    assert "perfect_predictor" not in codes and "unscaled_inputs" not in codes
    page = gru.report(tmp_path / "report.html").read_text()
    assert worst[0]["features"]["review"][:20] in page
    assert f"text column &#x27;review&#x27;, read as up to {gru.schema_.max_length} tokens" in page  # html-escaped
    assert f"{gru.schema_.vocab_size} tokens" in page


# ---- the command line ------------------------------------------------------------------------------


def test_cli_trains_on_a_csv_with_a_text_column_and_predicts(tmp_path):
    data = make_reviews(200, seed=1)
    data.X.assign(sentiment=data.y).to_csv(tmp_path / "reviews.csv", index=False)
    data.X.iloc[:5].to_csv(tmp_path / "new.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "reviews.csv"), "--target", "sentiment",
                                 "--epochs", "2", "--out", str(tmp_path / "model"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "task: binary (2 classes); model: gru" in result.stdout
    assert re.search(r"^test accuracy: [0-9.]+$", result.stdout, re.MULTILINE)
    assert learnable.load(tmp_path / "model").schema_.text == "review"
    predicted = runner.invoke(app, ["predict", str(tmp_path / "model"), str(tmp_path / "new.csv")])
    assert predicted.exit_code == 0, predicted.output
    lines = predicted.stdout.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 6 and set(lines[1:]) <= {"negative", "positive"}


def test_cli_trains_a_transformer_on_the_built_in_reviews(tmp_path):
    result = runner.invoke(app, ["train", "--data", "reviews", "--model", "transformer", "--epochs", "1",
                                 "--out", str(tmp_path / "model"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "reviews, 2000 rows" in result.stdout and "model: transformer" in result.stdout


def test_cli_refuses_a_text_model_for_a_table(tmp_path, iris):
    X, y = iris
    X.assign(species=y).to_csv(tmp_path / "iris.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "iris.csv"), "--target", "species",
                                 "--model", "gru", "--out", str(tmp_path / "model")])
    assert result.exit_code == 1
    assert "error: a text model needs X to be one column of texts" in result.stderr
    assert "Traceback" not in result.output


# ---- bad input ---------------------------------------------------------------------------------------


def test_empty_texts_only_are_refused():
    with pytest.raises(ValueError, match=r"column 'text' holds no words: all \d+ training texts are empty or blank"):
        learnable.fit(["", " ", "\n", ""] * 5, [0, 1] * 10, num_epochs=1)
    with pytest.raises(ValueError, match=r"column 'review' holds no words"):
        learnable.fit(pd.DataFrame({"review": [""] * 20}), [0, 1] * 10, model="gru", num_epochs=1)


def test_a_missing_text_is_refused_with_its_row(reviews):
    X = reviews.X.iloc[:40].copy()
    X.loc[7, "review"] = np.nan
    with pytest.raises(ValueError, match=r"column 'review' has 1 missing values \(rows 7\)"):
        learnable.fit(X, reviews.y.iloc[:40], num_epochs=1)


def test_a_number_among_texts_is_refused_for_a_text_model(reviews):
    X = reviews.X.iloc[:40].copy().astype(object)
    X.loc[3, "review"] = 42
    with pytest.raises(TypeError, match=r"column 'review' holds text, but row 3 is int 42.*astype\(str\)"):
        learnable.fit(X, reviews.y.iloc[:40], model="gru", num_epochs=1)


@pytest.mark.parametrize("X, message", [
    ([1, 2], r"column 'review' holds text, but row 0 is int 1"),
    ("the battery is good", r"this model reads texts, but got one string; pass a list of strings"),
    (np.zeros((2, 3)), r"this model reads texts, but got ndarray"),
    (pd.DataFrame({"text": ["good"]}), r"the data lacks 1 column\(s\) the model was trained on: \['review'\]"),
], ids=["numbers", "one-string", "array", "wrong-column"])
def test_wrong_input_at_predict_time_is_refused(gru, X, message):
    with pytest.raises((TypeError, ValueError), match=message):
        gru.predict(X)


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_a_text_model_on_a_numeric_table_is_refused(iris, model):
    X, y = iris
    with pytest.raises(ValueError, match=r"a text model needs X to be one column of texts, but X has 4 column"
                                         r".*float64.*model='auto' or 'mlp'"):
        learnable.fit(X, y, model=model)


def test_free_text_next_to_other_columns_is_refused(reviews):
    X = reviews.X.iloc[:40].assign(stars=np.arange(40) % 5)
    with pytest.raises(ValueError, match=r"column 'review' holds free text, and X has 1 other column\(s\) "
                                         r"\['stars'\]; .*X\[\['review'\]\]"):
        learnable.fit(X, reviews.y.iloc[:40], num_epochs=1)


def test_short_category_strings_stay_a_table(iris):
    X, y = iris
    X = X.assign(colour=np.where(np.arange(len(y)) % 2, "light red", "dark blue"))
    model = learnable.fit(X, y, num_epochs=2)
    assert model.training_["model"] == "mlp" and model.schema_.text is None
    assert model.schema_.categories == {"colour": ["dark blue", "light red"]}


def test_a_one_column_array_of_texts_predicts_as_it_was_trained(gru, reviews):
    array = reviews.X.to_numpy()[:20]  # (20, 1) object array: the text column by position
    assert array.shape == (20, 1)
    np.testing.assert_array_equal(gru.predict(array), gru.predict(reviews.X.head(20)))
