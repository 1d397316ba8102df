"""learnable.load: one call loads every kind of saved model as what it was saved as."""

import importlib

import numpy as np
import pytest

import learnable
from learnable import AnomalyDetector, FittedModel, Forecaster
from learnable.model_file import KINDS
from learnable.models import GPTConfig
from learnable.tasks.language_model import LanguageModel, train_language_model


def test_load_returns_each_kind_as_itself(tmp_path, iris):
    series = np.sin(np.arange(200) / 4.0)
    forecaster = Forecaster(window=8, num_epochs=1, hidden_size=4).fit(series)
    detector = AnomalyDetector("dense", num_epochs=1, latent_size=2).fit(np.random.default_rng(0).normal(size=(80, 5)))
    language = train_language_model("abcd" * 200, model=GPTConfig(0, context_length=8, embed_dim=8,
                                    num_heads=2, num_layers=1), num_epochs=1)
    fitted = learnable.fit(*iris, num_epochs=1)
    kmeans, pca = learnable.classic.KMeans(3, n_init=1).fit(iris[0]), learnable.classic.PCA(2).fit(iris[0])
    models = {"forecaster": forecaster, "detector": detector, "language": language, "fitted": fitted,
              "kmeans": kmeans, "pca": pca}
    for name, model in models.items():
        model.save(tmp_path / name)
    assert isinstance(learnable.load(tmp_path / "forecaster"), Forecaster)
    assert isinstance(learnable.load(tmp_path / "detector"), AnomalyDetector)
    assert isinstance(learnable.load(tmp_path / "language"), LanguageModel)
    assert isinstance(learnable.load(tmp_path / "fitted"), FittedModel)
    np.testing.assert_array_equal(learnable.load(tmp_path / "kmeans").predict(iris[0]), kmeans.predict(iris[0]))
    np.testing.assert_array_equal(learnable.load(tmp_path / "pca").transform(iris[0]), pca.transform(iris[0]))
    np.testing.assert_array_equal(learnable.load(tmp_path / "forecaster").predict(series[-8:]),
                                  forecaster.predict(series[-8:]))
    assert learnable.load(tmp_path / "language").score("abcdabcd") == language.score("abcdabcd")


def test_a_fitted_model_loader_names_what_the_folder_holds(tmp_path):
    Forecaster(window=8, num_epochs=1, hidden_size=4).fit(np.sin(np.arange(200) / 4.0)).save(tmp_path / "f")
    with pytest.raises(ValueError, match="holds a forecaster, not a model from learnable.fit; load it with learnable"):
        FittedModel.load(tmp_path / "f")


def test_cli_predict_names_a_language_model_folder(tmp_path):
    from typer.testing import CliRunner

    from learnable.cli import app

    train_language_model("abcd" * 200, model=GPTConfig(0, context_length=8, embed_dim=8, num_heads=2, num_layers=1),
                         num_epochs=1).save(tmp_path / "lm")
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "lm"), str(tmp_path / "rows.csv")])
    assert result.exit_code == 1
    assert "holds a language model, not a model from learnable.fit" in result.stderr
    assert "learnable generate" in result.stderr


def test_load_returns_every_classic_estimator_as_itself(tmp_path, iris):
    from sklearn.datasets import load_diabetes

    X, y = iris[0].to_numpy(), iris[1].to_numpy()
    Xr, yr = load_diabetes(return_X_y=True)
    classic = learnable.classic
    models = {"ridge": (classic.Ridge(alpha=1.0).fit(Xr, yr), Xr), "lasso": (classic.Lasso(0.1).fit(Xr, yr), Xr),
              "logistic": (classic.LogisticRegression().fit(X, y), X), "svc": (classic.LinearSVC().fit(X, y), X),
              "tree": (classic.DecisionTreeClassifier(max_depth=3).fit(X, y), X),
              "regression_tree": (classic.DecisionTreeRegressor(max_depth=3).fit(Xr, yr), Xr)}
    for name, (model, data) in models.items():
        model.save(tmp_path / name)
        loaded = learnable.load(tmp_path / name)
        assert type(loaded) is type(model), name
        expected = model.predict(data)
        if expected.dtype.kind == "f":  # regression: the same up to rounding in the last bit
            np.testing.assert_allclose(loaded.predict(data), expected, rtol=1e-14)
        else:
            np.testing.assert_array_equal(loaded.predict(data), expected)
    clusters = classic.AgglomerativeClustering(3).fit(X)
    clusters.save(tmp_path / "agglomerative")
    loaded = learnable.load(tmp_path / "agglomerative")
    assert isinstance(loaded, classic.AgglomerativeClustering)
    np.testing.assert_array_equal(loaded.labels_, clusters.labels_)


def _registered(key):
    module, name = KINDS[key].split(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("key", list(KINDS))
def test_every_registered_kind_is_a_class_that_saves_under_that_key(key):
    if key == "rl_agent":
        pytest.importorskip("gymnasium")
    assert _registered(key).kind == key


SAVEABLE = [getattr(learnable.classic, name) for name in learnable.classic.__all__] + [
    AnomalyDetector, FittedModel, Forecaster, LanguageModel]


@pytest.mark.parametrize("cls", [c for c in SAVEABLE if hasattr(c, "save")], ids=lambda c: c.__name__)
def test_every_saveable_class_has_a_registered_kind(cls):
    """Ridge saves as a linear_regression and a DecisionTreeClassifier as a decision_tree: a subclass of
    the registered class loads through it."""
    assert issubclass(cls, _registered(cls.kind))
