"""LinearRegression, Ridge and Lasso against scikit-learn's as the oracle (diabetes and small synthetic tables)."""

import json

import numpy as np
import pytest
import torch
from sklearn import linear_model as sk
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from learnable.classic import linear, targets
from learnable.classic.linear import Lasso, LinearRegression, Ridge
from learnable.classic.pca import PCA


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def standardised(diabetes):
    X, y = diabetes
    return StandardScaler().fit_transform(X), y


def _close(ours, theirs, atol=1e-4):
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=atol)


# ---- closed form ----------------------------------------------------------------------------------
def test_ordinary_least_squares_matches_sklearn(diabetes):
    X, y = diabetes
    ours, theirs = LinearRegression(device="cpu").fit(X, y), sk.LinearRegression().fit(X, y)
    _close(ours, theirs, atol=1e-7)  # coefficients are in the hundreds
    assert ours.n_iter_ is None and ours.n_features_in_ == 10 and isinstance(ours.intercept_, float)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-8)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 0.01, 100.0])
def test_ridge_matches_sklearn(diabetes, alpha):
    X, y = diabetes
    _close(Ridge(alpha).fit(X, y), sk.Ridge(alpha).fit(X, y), atol=1e-8)
    _close(LinearRegression(alpha=alpha).fit(X, y), sk.Ridge(alpha).fit(X, y), atol=1e-8)


def test_without_intercept_matches_sklearn(diabetes):
    X, y = diabetes
    _close(LinearRegression(fit_intercept=False).fit(X, y), sk.LinearRegression(fit_intercept=False).fit(X, y), 1e-7)
    _close(Ridge(2.0, fit_intercept=False).fit(X, y), sk.Ridge(2.0, fit_intercept=False).fit(X, y), 1e-8)


def test_rank_deficient_X_gives_the_minimum_norm_solution(diabetes):
    """A repeated and a constant column: sklearn's lstsq gives the minimum-norm solution; so do we."""
    X, y = diabetes
    X = np.column_stack([X, X[:, 2], np.full(len(X), 3.0)])
    ours, theirs = LinearRegression().fit(X, y), sk.LinearRegression().fit(X, y)
    _close(ours, theirs, atol=1e-6)
    assert ours.coef_[2] == pytest.approx(ours.coef_[10]) and ours.coef_[11] == pytest.approx(0, abs=1e-9)


def test_multi_output_matches_sklearn(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.sqrt(y), -y])  # (N, 3)
    for ours, theirs in [(LinearRegression(), sk.LinearRegression()), (Ridge(0.5), sk.Ridge(0.5)),
                         (Lasso(0.1, tol=1e-10), sk.Lasso(0.1, tol=1e-10, max_iter=100_000))]:
        ours.fit(X, Y)
        theirs.fit(X, Y)
        assert ours.coef_.shape == (3, 10) and ours.intercept_.shape == (3,)
        _close(ours, theirs, atol=1e-4)
        assert ours.predict(X).shape == (len(X), 3)
        assert ours.score(X, Y) == pytest.approx(theirs.score(X, Y), abs=1e-9)


# ---- iterative solvers ----------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 10.0])
def test_gradient_descent_matches_sklearn(standardised, alpha):
    X, y = standardised
    ours = LinearRegression(alpha=alpha, solver="gradient-descent", tol=1e-10, max_iter=100_000).fit(X, y)
    _close(ours, sk.Ridge(alpha).fit(X, y) if alpha else sk.LinearRegression().fit(X, y), atol=1e-4)
    assert 100 < ours.n_iter_ < 100_000


def test_gradient_descent_without_the_gram_matrix_is_the_same(standardised, monkeypatch):
    """The O(N F) fallback for many features takes the very same steps as the Gram-matrix fast path."""
    X, y = standardised
    settings = {"alpha": 1.0, "solver": "gradient-descent", "tol": 1e-8}
    fast, fast_step = LinearRegression(**settings).fit(X, y), LinearRegression(**settings, lr=0.2).fit(X, y)
    monkeypatch.setattr(linear, "GRAM_MAX_FEATURES", 0)
    plain, plain_step = LinearRegression(**settings).fit(X, y), LinearRegression(**settings, lr=0.2).fit(X, y)
    np.testing.assert_allclose(plain_step.coef_, fast_step.coef_, atol=1e-9)
    assert plain_step.n_iter_ == fast_step.n_iter_
    # Without the Gram matrix, 1/L comes from power iteration with a 1% margin: a 1% shorter step.
    np.testing.assert_allclose(plain.coef_, fast.coef_, atol=1e-5)
    assert fast.n_iter_ <= plain.n_iter_ <= 1.02 * fast.n_iter_ + linear.CHECK_EVERY


@pytest.mark.parametrize("alpha", [0.1, 0.5, 2.0])
def test_lasso_matches_sklearn_with_the_same_zeros(diabetes, alpha):
    X, y = diabetes
    ours = Lasso(alpha, tol=1e-10, max_iter=100_000).fit(X, y)
    theirs = sk.Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(X, y)
    _close(ours, theirs, atol=1e-4)
    np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)
    assert (ours.coef_ == 0).any()  # the penalty does zero some coefficients
    _close(LinearRegression(alpha=alpha, penalty="l1", tol=1e-10, max_iter=100_000).fit(X, y), theirs, atol=1e-4)


def test_lasso_default_tolerance_is_close(diabetes):
    X, y = diabetes
    ours, theirs = Lasso(0.1).fit(X, y), sk.Lasso(alpha=0.1, tol=1e-10, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=0.05)  # coefficients are in the hundreds
    assert ours.n_iter_ < 1000


def test_lasso_without_the_gram_matrix_is_the_same(diabetes, monkeypatch):
    X, y = diabetes
    fast = Lasso(0.1, tol=1e-10).fit(X, y)
    monkeypatch.setattr(linear, "GRAM_MAX_FEATURES", 0)
    np.testing.assert_allclose(Lasso(0.1, tol=1e-10).fit(X, y).coef_, fast.coef_, atol=1e-4)


def test_lasso_with_a_large_alpha_keeps_only_the_intercept(diabetes):
    X, y = diabetes
    model = Lasso(1e4).fit(X, y)
    assert (model.coef_ == 0).all() and model.intercept_ == pytest.approx(y.mean())


@pytest.mark.parametrize("model", [Lasso(0.1), LinearRegression(solver="gradient-descent"), LinearRegression()])
def test_constant_columns_only_give_zero_weights(model):
    X, y = np.full((30, 2), 4.0), np.arange(30.0)
    model.fit(X, y)
    assert (model.coef_ == 0).all() and model.intercept_ == pytest.approx(14.5)


def test_a_too_large_step_is_explained(standardised):
    X, y = standardised
    with pytest.raises(ValueError, match="diverged.*lr is too large"):
        LinearRegression(solver="gradient-descent", lr=10.0).fit(X, y)


def test_stopping_at_max_iter_warns(standardised):
    X, y = standardised
    with pytest.warns(RuntimeWarning, match="stopped at max_iter=20") as caught:
        model = LinearRegression(solver="gradient-descent", max_iter=20).fit(X, y)
    assert model.n_iter_ == 20
    assert caught[0].filename == __file__  # the warning points at the user's call to fit
    with pytest.warns(RuntimeWarning, match="solver='proximal' stopped at max_iter=10") as caught:
        Lasso(0.01, tol=1e-12, max_iter=10).fit(X, y)
    assert caught[0].filename == __file__


# ---- dtypes, devices, tensors ---------------------------------------------------------------------
def test_float32_and_tensor_input(standardised, tmp_path):
    X, y = standardised
    reference = sk.Ridge(1.0).fit(X, y)
    ours = Ridge(1.0, dtype=torch.float32, device="cpu").fit(torch.from_numpy(X).float(), torch.from_numpy(y))
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-4, atol=1e-3)
    predicted = ours.predict(torch.from_numpy(X))
    assert isinstance(predicted, torch.Tensor) and predicted.dtype == torch.float32
    np.testing.assert_allclose(predicted.numpy(), reference.predict(X), rtol=1e-4, atol=1e-3)
    ours.save(tmp_path / "float32")
    loaded = Ridge.load(tmp_path / "float32")
    assert loaded.dtype == torch.float32 and loaded.coef_.dtype == ours.coef_.dtype == np.float32
    np.testing.assert_allclose(loaded.predict(X), ours.predict(X), rtol=1e-6)  # BLAS may differ in the last bit
    lasso = Lasso(0.5, dtype=torch.float32).fit(X, y)
    np.testing.assert_allclose(lasso.coef_, sk.Lasso(alpha=0.5, tol=1e-10).fit(X, y).coef_, atol=2e-2)


def test_get_params_and_defaults():
    assert Ridge().get_params()["alpha"] == 1.0 and "penalty" not in Ridge().get_params()
    assert LinearRegression().get_params() == {"alpha": 0.0, "penalty": "l2", "fit_intercept": True, "solver": "auto",
                                               "max_iter": 10_000, "tol": 1e-6, "lr": None, "device": "auto",
                                               "dtype": torch.float64}
    assert Lasso().penalty == "l1" and Ridge().penalty == "l2"


# ---- saving ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [LinearRegression(), Ridge(3.0), Lasso(0.2), LinearRegression(penalty="l1", alpha=1)])
def test_save_and_load_give_identical_predictions(diabetes, tmp_path, model):
    X, y = diabetes
    model.fit(X, y)
    model.save(tmp_path / "model")
    loaded = LinearRegression.load(tmp_path / "model")
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-14)  # BLAS may differ in the last bit
    assert loaded.n_iter_ == model.n_iter_ and loaded.intercept_ == model.intercept_


def test_loading_the_wrong_model_is_explained(diabetes, tmp_path):
    X, y = diabetes
    Lasso(0.1).fit(X, y).save(tmp_path / "lasso")
    assert isinstance(Lasso.load(tmp_path / "lasso"), Lasso)
    with pytest.raises(ValueError, match="holds a Lasso, not a Ridge"):
        Ridge.load(tmp_path / "lasso")
    PCA(2).fit(X).save(tmp_path / "pca")
    with pytest.raises(ValueError, match="not a LinearRegression"):
        LinearRegression.load(tmp_path / "pca")
    Ridge(2.0).fit(X, np.column_stack([y, y])).save(tmp_path / "two")
    assert Ridge.load(tmp_path / "two").intercept_.shape == (2,)


# ---- mistakes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("settings, error, message", [
    ({"penalty": "l3"}, ValueError, r"penalty='l3' is not known; choose one of \['l2', 'l1'\]"),
    ({"solver": "proximal"}, ValueError, "solver='proximal' does not work with penalty='l2'"),
    ({"penalty": "l1", "solver": "closed-form"}, ValueError, "does not work with penalty='l1'"),
    ({"alpha": -1.0}, ValueError, "alpha=-1.0 must be a finite number >= 0"),
    ({"alpha": float("nan")}, ValueError, "alpha=nan must be a finite number"),
    ({"lr": 0.0}, ValueError, "lr=0.0 must be None or a finite number > 0"),
    ({"max_iter": 0}, ValueError, "max_iter=0 must be a whole number >= 1"),
    ({"tol": -1e-3}, ValueError, "tol=-0.001 must be a finite number > 0"),
    ({"fit_intercept": "yes"}, ValueError, "fit_intercept='yes' must be True or False"),
    ({"dtype": torch.float16}, TypeError, "dtype=torch.float16 is not supported"),
    ({"device": "toaster"}, ValueError, "device='toaster' is not a device"),
])
def test_bad_settings_are_explained(settings, error, message):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(error, match=message):
        LinearRegression(**settings).fit(X, X.sum(1))


def test_bad_input_is_explained():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X.sum(1)
    X_nan, y_nan = X.copy(), y.copy()
    X_nan[[3, 7], 1] = np.nan
    y_nan[[2, 5, 11]] = np.inf
    with pytest.raises(ValueError, match=r"X has 2 row\(s\) with NaN or infinite values \(rows \[3, 7\]\)"):
        Ridge().fit(X_nan, y)
    with pytest.raises(ValueError, match=r"y has 3 NaN or infinite value\(s\) \(rows \[2, 5, 11\]\)"):
        Ridge().fit(X, y_nan)
    with pytest.raises(ValueError, match="X has 20 rows but y has 19 values"):
        Ridge().fit(X, y[:-1])
    with pytest.raises(TypeError, match="X must hold numbers"):
        Ridge().fit([["a", "b"], ["c", "d"]], [1.0, 2.0])
    with pytest.raises(TypeError, match="y must hold numbers for regression"):
        Ridge().fit(X, ["a"] * 20)
    with pytest.raises(ValueError, match="expected one value per row"):
        Ridge().fit(X, np.zeros((20, 2, 2)))
    with pytest.raises(ValueError, match=r"X has shape \(20,\); expected rows \(N, features\)"):
        Ridge().fit(X[:, 0], y)
    huge = np.full(20, 1e308)  # finite values whose sum overflows are no NaN
    np.testing.assert_array_equal(targets.as_values(huge, 20, torch.float64).numpy(), huge)


def test_bad_use_after_fit_is_explained(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"this Lasso is not fitted yet; call fit\(X, y\) first"):
        Lasso().predict(X)
    with pytest.raises(ValueError, match="nothing to save"):
        Ridge().save(tmp_path / "model")
    model = Ridge().fit(X, X.sum(1))
    with pytest.raises(ValueError, match="X has 2 features, but this Ridge was fitted on 3"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="X has 20 rows but y has 5 values"):
        model.score(X, X.sum(1)[:5])
    with pytest.raises(ValueError, match=r"X has shape \(3,\).*use X.reshape\(1, -1\)"):
        model.predict(X[0])


def test_a_damaged_model_file_is_explained(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    path = Ridge().fit(X, X.sum(1)).save(tmp_path / "model")
    info = json.loads((path / "model.json").read_text())
    info["linear_regression"]["settings"]["alpha"] = "much"
    (path / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="holds a damaged Ridge: alpha='much' must be a finite number"):
        Ridge.load(path)
    del info["linear_regression"]["n_iter"]
    (path / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="holds a learnable model but not a Ridge .*no complete 'linear_regression'"):
        Ridge.load(path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(diabetes):
    X, y = diabetes
    for make in (lambda d: LinearRegression(device=d), lambda d: Ridge(1.0, device=d),
                 lambda d: Lasso(0.1, tol=1e-10, device=d),
                 lambda d: LinearRegression(solver="gradient-descent", tol=1e-10, max_iter=100_000, device=d)):
        cpu, cuda = make("cpu").fit(X, y), make("cuda").fit(X, y)
        np.testing.assert_allclose(cuda.coef_, cpu.coef_, atol=1e-6)
        output = cuda.predict(torch.from_numpy(X))
        assert output.device.type == "cuda"
