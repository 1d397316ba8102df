"""Issue 7's oracle table in one place: every classic estimator against scikit-learn on the six datasets.

- k-means: inertia within 1% of scikit-learn's best of ``n_init``; ARI >= 0.95 on well-separated blobs;
- PCA: explained-variance ratios within 1e-5, components equal up to sign;
- ridge: coefficients within 1e-4;
- logistic regression: test accuracy within 1 point on the same split.
"""

import numpy as np
import pytest
from sklearn import cluster, datasets, decomposition, linear_model
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from learnable.classic import PCA, KMeans, LogisticRegression, Ridge

LOADERS = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits,
           "breast-cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}
CLUSTERS = {"iris": 3, "wine": 3, "digits": 10, "breast-cancer": 2, "diabetes": 4, "blobs": 5}


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """X standardised (so no feature's units dominate) and y, for a dataset name."""
    if name == "blobs":
        X, y = datasets.make_blobs(n_samples=2000, centers=5, n_features=8, cluster_std=1.0, random_state=0)
    else:
        X, y = LOADERS[name](return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("name", list(CLUSTERS))
def test_kmeans_inertia_within_one_percent_of_scikit_learns_best(name):
    X, y = load(name)
    k = CLUSTERS[name]
    ours = KMeans(k, n_init=10, seed=0, device="cpu").fit(X)
    theirs = cluster.KMeans(k, n_init=10, random_state=0).fit(X)
    assert ours.inertia_ <= theirs.inertia_ * 1.01
    if name == "blobs":  # well separated: the clusters themselves are found
        assert adjusted_rand_score(y, ours.labels_) >= 0.95


@pytest.mark.parametrize("name", list(CLUSTERS))
def test_pca_ratios_within_1e_5_and_components_equal_up_to_sign(name):
    X, _ = load(name)
    k = min(X.shape[1], 10)
    ours = PCA(k, svd_solver="full", device="cpu").fit(X)
    theirs = decomposition.PCA(k, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, atol=1e-5, rtol=0)
    # Up to sign, and only where the variance is clearly apart from the next one (otherwise the direction is free).
    ratios = theirs.explained_variance_ratio_
    distinct = np.flatnonzero(np.abs(np.diff(ratios)) > 1e-6 * ratios[0])
    for i in distinct:
        sign = np.sign(ours.components_[i] @ theirs.components_[i])
        np.testing.assert_allclose(sign * ours.components_[i], theirs.components_[i], atol=1e-5)


@pytest.mark.parametrize("name", ["diabetes", "breast-cancer", "wine"])
@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_ridge_coefficients_within_1e_4(name, alpha):
    X, y = load(name)
    ours = Ridge(alpha=alpha, device="cpu").fit(X, y.astype(float))
    theirs = linear_model.Ridge(alpha=alpha).fit(X, y.astype(float))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-4, rtol=0)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-4)


@pytest.mark.parametrize("name", ["iris", "wine", "digits", "breast-cancer"])
def test_logistic_regression_accuracy_within_one_point(name):
    X, y = load(name)
    train_X, test_X, train_y, test_y = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    ours = LogisticRegression(device="cpu").fit(train_X, train_y).score(test_X, test_y)
    theirs = linear_model.LogisticRegression(max_iter=5000).fit(train_X, train_y).score(test_X, test_y)
    assert abs(ours - theirs) <= 0.01
