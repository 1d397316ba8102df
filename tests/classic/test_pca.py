"""PCA against scikit-learn's PCA as the oracle, on five small real tables."""

import numpy as np
import pytest
import torch
from sklearn import datasets
from sklearn.decomposition import PCA as SklearnPCA

from learnable.classic.pca import PCA

LOADERS = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits,
           "breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}


@pytest.fixture(scope="module", params=list(LOADERS))
def table(request):
    return LOADERS[request.param]().data.astype(np.float64)


def _sign_aligned(ours, theirs, axis):
    """``ours`` with each column (axis 0) or row (axis 1) flipped to agree in sign with ``theirs``."""
    signs = np.sign((ours * theirs).sum(axis=axis, keepdims=True))
    return ours * signs


def test_full_matches_sklearn(table):
    ours = PCA(svd_solver="full", device="cpu").fit(table)
    theirs = SklearnPCA(svd_solver="full").fit(table)
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, atol=1e-5)
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.singular_values_, theirs.singular_values_, rtol=1e-8)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12, atol=1e-12)
    assert ours.n_components_ == theirs.n_components_ and ours.n_features_in_ == theirs.n_features_in_
    # Directions of well-separated variances are unique up to sign; compare those (all but near-ties).
    gaps = np.abs(np.diff(theirs.explained_variance_)) / theirs.explained_variance_[0]
    distinct = [k for k in range(len(gaps)) if gaps[k] > 1e-6 and (k == 0 or gaps[k - 1] > 1e-6)]
    np.testing.assert_allclose(_sign_aligned(ours.components_[distinct], theirs.components_[distinct], 1),
                               theirs.components_[distinct], atol=1e-5)


def test_components_signs_are_sklearns(table):
    """svd_flip is the same rule, so the signs match exactly, not only up to sign (top 3 components)."""
    ours = PCA(3, svd_solver="full").fit(table)
    theirs = SklearnPCA(3, svd_solver="full").fit(table)
    np.testing.assert_allclose(ours.components_, theirs.components_, atol=1e-6)
    np.testing.assert_allclose(ours.transform(table), theirs.transform(table), atol=1e-6 * np.abs(table).max())
    assert ours.noise_variance_ == pytest.approx(theirs.noise_variance_, rel=1e-8)


def test_transform_equal_up_to_sign(table):
    ours = PCA(2, svd_solver="full").fit(table).transform(table)
    theirs = SklearnPCA(2, svd_solver="full").fit_transform(table)
    np.testing.assert_allclose(_sign_aligned(ours, theirs, 0), theirs, atol=1e-6 * np.abs(table).max())


def test_whitening_matches_sklearn_and_has_unit_variance(table):
    ours = PCA(3, whiten=True, svd_solver="full").fit_transform(table)
    theirs = SklearnPCA(3, whiten=True, svd_solver="full").fit_transform(table)
    np.testing.assert_allclose(ours.var(axis=0, ddof=1), np.ones(3), atol=1e-10)
    np.testing.assert_allclose(_sign_aligned(ours, theirs, 0), theirs, atol=1e-6)


def test_inverse_transform_with_all_components_recovers_X(table):
    for whiten in (False, True):
        pca = PCA(whiten=whiten).fit(table)
        np.testing.assert_allclose(pca.inverse_transform(pca.transform(table)), table, atol=1e-8 * np.abs(table).max())


@pytest.mark.parametrize("fraction", [0.5, 0.8, 0.95, 0.99])
def test_float_n_components_keeps_sklearns_count(table, fraction):
    ours = PCA(fraction).fit(table)
    theirs = SklearnPCA(fraction, svd_solver="full").fit(table)
    assert ours.n_components_ == theirs.n_components_
    assert ours.noise_variance_ == pytest.approx(theirs.noise_variance_, rel=1e-8)


def test_randomized_close_to_full_on_digits():
    X = datasets.load_digits().data
    full = PCA(10, svd_solver="full").fit(X)
    randomized = PCA(10, svd_solver="randomized", seed=0).fit(X)
    assert randomized.solver_ == "randomized"
    np.testing.assert_allclose(randomized.explained_variance_ratio_, full.explained_variance_ratio_, atol=1e-3)
    np.testing.assert_allclose(randomized.components_, full.components_, atol=1e-3)
    oracle = SklearnPCA(10, svd_solver="randomized", random_state=0).fit(X)
    np.testing.assert_allclose(randomized.explained_variance_ratio_, oracle.explained_variance_ratio_, atol=1e-5)
    again = PCA(10, svd_solver="randomized", seed=0).fit(X)
    np.testing.assert_array_equal(again.components_, randomized.components_)  # seeded: reproducible


@pytest.mark.parametrize("shape, n_components", [((600, 20), 5), ((100, 20), 5), ((100, 40), 5), ((600, 80), 5),
                                                 ((600, 80), 0.9), ((600, 80), 70), ((2000, 200), 10)])
def test_auto_solver_rule_is_scikit_learns(shape, n_components):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(shape[0], 8)) @ rng.normal(size=(8, shape[1])) * 3 + rng.normal(size=shape)  # rank 8 + noise
    theirs = SklearnPCA(n_components, random_state=0).fit(X)
    ours = PCA(n_components).fit(X)
    assert ours.solver_ == theirs._fit_svd_solver
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, atol=1e-5)


def test_covariance_eigh_equals_full_svd():
    X = datasets.load_wine().data
    eigh = PCA(svd_solver="covariance_eigh").fit(X)
    full = SklearnPCA(svd_solver="full").fit(X)
    np.testing.assert_allclose(eigh.explained_variance_ratio_, full.explained_variance_ratio_, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(eigh.components_[:6], full.components_[:6], atol=1e-6)  # signs fixed the same way


def test_dtype_follows_the_input_as_scikit_learn():
    X = datasets.load_iris().data
    single = PCA(2).fit(X.astype(np.float32))
    assert single.dtype_ == torch.float32 and single.transform(X.astype(np.float32)).dtype == np.float32
    assert PCA(2).fit(X).dtype_ == torch.float64
    assert PCA(2).fit(X.tolist()).dtype_ == torch.float64
    np.testing.assert_allclose(single.explained_variance_ratio_, PCA(2).fit(X).explained_variance_ratio_, atol=1e-5)


def test_float32_and_tensor_input():
    X = datasets.load_iris().data
    pca = PCA(2, dtype=torch.float32).fit(torch.from_numpy(X))
    output = pca.transform(torch.from_numpy(X))
    assert isinstance(output, torch.Tensor) and output.dtype == torch.float32
    theirs = SklearnPCA(2, svd_solver="full").fit(X)
    np.testing.assert_allclose(pca.explained_variance_ratio_, theirs.explained_variance_ratio_, atol=1e-5)


def test_save_and_load_give_identical_transform(tmp_path):
    X = datasets.load_wine().data
    pca = PCA(4, whiten=True).fit(X)
    loaded = PCA.load(pca.save(tmp_path / "pca"))
    np.testing.assert_array_equal(loaded.transform(X), pca.transform(X))
    assert loaded.get_params() == pca.get_params() and loaded.n_components_ == 4
    assert loaded.noise_variance_ == pca.noise_variance_ and loaded.solver_ == pca.solver_
    pca.save(tmp_path / "pca")  # replacing a saved PCA is allowed
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "model.json").write_text('{"mine": true}')  # another program's file: never overwritten
    with pytest.raises(ValueError, match="refusing to replace"):
        pca.save(tmp_path / "other")


@pytest.mark.parametrize(("settings", "X", "error", "message"), [
    ({}, np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]]), ValueError, r"NaN or infinite values \(rows \[0\]\)"),
    ({}, np.arange(5.0), ValueError, r"expected rows \(N, features\)"),
    ({"n_components": 5}, np.eye(4, 3), ValueError, r"more than min\(n_samples, n_features\)"),
    ({"n_components": 0}, np.eye(4, 3), ValueError, "keeps no components"),
    ({"n_components": 1.5}, np.eye(4, 3), ValueError, r"float outside \(0, 1\)"),
    ({"n_components": "two"}, np.eye(4, 3), TypeError, "must be None, a whole number"),
    ({"svd_solver": "arpack"}, np.eye(4, 3), ValueError, "svd_solver='arpack' is not known"),
    ({"svd_solver": "randomized", "n_components": 0.5}, np.eye(4, 3), ValueError, "needs a whole number"),
    ({}, np.array([["a", "b"]]), TypeError, "must hold numbers"),
    ({}, np.ones((1, 3)), ValueError, "at least 2 rows"),
])
def test_bad_input_is_explained(settings, X, error, message):
    with pytest.raises(error, match=message):
        PCA(**settings).fit(X)


def test_bad_use_after_fit_is_explained(tmp_path):
    X = datasets.load_iris().data
    with pytest.raises(ValueError, match="not fitted yet; call fit"):
        PCA(2).transform(X)
    with pytest.raises(ValueError, match="nothing to save"):
        PCA(2).save(tmp_path / "p")
    pca = PCA(2).fit(X)
    with pytest.raises(ValueError, match="X has 3 columns, but this PCA expects 4 features"):
        pca.transform(X[:, :3])
    with pytest.raises(ValueError, match="expects 2 components"):
        pca.inverse_transform(X)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    X = datasets.load_digits().data
    for solver in ("full", "randomized"):
        cpu = PCA(10, svd_solver=solver, device="cpu").fit(X)
        cuda = PCA(10, svd_solver=solver, device="cuda").fit(X)
        np.testing.assert_allclose(cuda.explained_variance_ratio_, cpu.explained_variance_ratio_, atol=1e-10)
        np.testing.assert_allclose(cuda.components_, cpu.components_, atol=1e-8)
        output = cuda.transform(torch.from_numpy(X))
        assert output.device.type == "cuda"
        np.testing.assert_allclose(output.cpu().numpy(), cpu.transform(X), atol=1e-8)


def test_loading_something_else_is_explained(tmp_path):
    from learnable.model_file import save_tensors

    save_tensors(tmp_path / "other", {"centers": torch.zeros(2, 3)}, {"kmeans": {}})
    with pytest.raises(ValueError, match="not a PCA"):
        PCA.load(tmp_path / "other")
    with pytest.raises(FileNotFoundError, match="no model directory"):
        PCA.load(tmp_path / "missing")


def test_images_are_read_as_flattened_rows():
    images = np.random.default_rng(0).normal(size=(40, 1, 4, 4))
    flat = PCA(3, svd_solver="full").fit(images.reshape(40, -1))
    np.testing.assert_allclose(PCA(3, svd_solver="full").fit(images).components_, flat.components_)


def test_orthonormal_basis_spans_the_columns_and_falls_back_when_cholesky_fails():
    from learnable.classic.pca import orthonormal_basis

    Y = torch.from_numpy(np.random.default_rng(0).normal(size=(500, 6)))
    Q = orthonormal_basis(Y)
    torch.testing.assert_close(Q.T @ Q, torch.eye(6, dtype=Y.dtype), atol=1e-12, rtol=0)
    torch.testing.assert_close(Q @ (Q.T @ Y), Y)  # the same column space
    singular = torch.cat([Y, Y[:, :1]], dim=1)  # a repeated column: Y^T Y is singular, Cholesky fails
    Q = orthonormal_basis(singular)
    torch.testing.assert_close(Q.T @ Q, torch.eye(7, dtype=Y.dtype), atol=1e-12, rtol=0)
