"""KMeans against scikit-learn: inertia, labels, distances, seeding, saving and user mistakes."""

import numpy as np
import pytest
from sklearn import cluster, datasets
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from learnable.classic.kmeans import KMeans


def _standardized(name):
    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits}[name]
    return StandardScaler().fit_transform(loader().data)


@pytest.fixture(scope="module")
def blobs():
    X, y = datasets.make_blobs(n_samples=600, centers=5, cluster_std=0.5, random_state=0)
    return X, y


@pytest.mark.parametrize(("name", "k"), [("iris", 3), ("wine", 3), ("digits", 10)])
def test_inertia_within_one_percent_of_sklearn(name, k):
    X = _standardized(name)
    reference = cluster.KMeans(k, n_init=10, random_state=0).fit(X)
    ours = KMeans(k, seed=0).fit(X)
    assert ours.inertia_ <= reference.inertia_ * 1.01
    # inertia_ is the inertia of the returned centers and labels (oracle: numpy)
    recomputed = ((X - ours.cluster_centers_[ours.labels_]) ** 2).sum()
    assert ours.inertia_ == pytest.approx(recomputed, rel=1e-4)


def test_blobs_inertia_and_adjusted_rand_index(blobs):
    X, y = blobs
    reference = cluster.KMeans(5, n_init=10, random_state=0).fit(X)
    ours = KMeans(5, seed=0).fit(X)
    assert ours.inertia_ <= reference.inertia_ * 1.01
    assert adjusted_rand_score(y, ours.labels_) >= 0.95
    assert adjusted_rand_score(reference.labels_, ours.labels_) >= 0.99


def test_random_init_and_auto_n_init(blobs):
    X, y = blobs
    reference = cluster.KMeans(5, n_init=10, random_state=0).fit(X)
    for model in (KMeans(5, init="random", seed=1), KMeans(5, n_init="auto", seed=0)):
        model.fit(X)
        assert model.inertia_ <= reference.inertia_ * 1.01
        assert adjusted_rand_score(y, model.labels_) >= 0.95


def test_array_init_matches_sklearn_lloyd(blobs):
    X, _ = blobs
    start = X[[0, 100, 200, 300, 400]]
    reference = cluster.KMeans(5, init=start, n_init=1, tol=0, max_iter=100).fit(X)
    ours = KMeans(5, init=start, tol=0, max_iter=100).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, reference.cluster_centers_, atol=1e-4)
    np.testing.assert_array_equal(ours.labels_, reference.labels_)


@pytest.mark.parametrize("name", ["iris", "digits"])
def test_mini_batch_within_five_percent_of_full_batch(name):
    X = _standardized(name)
    k = 3 if name == "iris" else 10
    full = KMeans(k, seed=0).fit(X)
    mini = KMeans(k, batch_size=256, seed=0).fit(X)
    sklearn_mini = cluster.MiniBatchKMeans(k, batch_size=256, n_init=3, random_state=0).fit(X)
    assert mini.inertia_ <= full.inertia_ * 1.05
    assert mini.inertia_ <= sklearn_mini.inertia_ * 1.05


def test_mini_batch_blobs(blobs):
    X, y = blobs
    full = KMeans(5, seed=0).fit(X)
    mini = KMeans(5, batch_size=64, seed=0).fit(X)
    assert mini.inertia_ <= full.inertia_ * 1.05
    assert adjusted_rand_score(y, mini.labels_) >= 0.95


def test_predict_transform_score_against_numpy(blobs):
    X, _ = blobs
    model = KMeans(5, seed=0).fit(X)
    new = np.random.default_rng(0).normal(scale=5, size=(50, 2))
    distances = np.linalg.norm(new[:, None, :] - model.cluster_centers_[None].astype(np.float64), axis=2)
    np.testing.assert_allclose(model.transform(new), distances, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(model.predict(new), distances.argmin(1))
    assert model.score(new) == pytest.approx(-(distances.min(1) ** 2).sum(), rel=1e-5)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert model.n_features_in_ == 2 and model.cluster_centers_.shape == (5, 2)
    # scikit-learn with our centers gives the same answers
    oracle = cluster.KMeans(5, init=model.cluster_centers_, n_init=1, max_iter=1).fit(model.cluster_centers_)
    np.testing.assert_array_equal(oracle.predict(new.astype(np.float32)), model.predict(new))


def test_fit_predict_and_same_seed_same_result(blobs):
    X, _ = blobs
    first, second = KMeans(5, seed=3).fit(X), KMeans(5, seed=3)
    np.testing.assert_array_equal(second.fit_predict(X), first.labels_)
    np.testing.assert_array_equal(second.cluster_centers_, first.cluster_centers_)
    mini = [KMeans(5, batch_size=32, seed=3).fit(X).cluster_centers_ for _ in range(2)]
    np.testing.assert_array_equal(*mini)


def test_empty_cluster_is_reseeded():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    start = np.array([[0.0, 0.0], [10.0, 10.0], [100.0, 100.0]])  # the third center gets no rows
    model = KMeans(3, init=start, max_iter=20).fit(X)
    assert len(np.unique(model.labels_)) == 3
    assert np.isfinite(model.cluster_centers_).all()


def test_save_and_load_give_identical_predictions(blobs, tmp_path):
    X, _ = blobs
    model = KMeans(5, seed=0).fit(X)
    path = model.save(tmp_path / "kmeans")
    loaded = KMeans.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.cluster_centers_, model.cluster_centers_)
    assert loaded.get_params() == model.get_params() and loaded.inertia_ == model.inertia_
    model.save(path)  # replacing a saved model is allowed
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "model.json").write_text('{"keep": "me"}')  # another program's file: never overwritten
    with pytest.raises(ValueError, match="is not a learnable model file.*refusing to replace"):
        model.save(tmp_path / "other")


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        KMeans(2).fit(np.where(np.eye(20, 3) > 0, np.nan, X))
    with pytest.raises(ValueError, match=r"expected rows \(N, features\)"):
        KMeans(2).fit(X[:, 0])
    with pytest.raises(ValueError, match="more than the 20 rows"):
        KMeans(21).fit(X)
    with pytest.raises(ValueError, match="n_clusters=0 must be a whole number >= 1"):
        KMeans(0).fit(X)
    with pytest.raises(ValueError, match="init='kmeans' is not known"):
        KMeans(2, init="kmeans").fit(X)
    with pytest.raises(ValueError, match=r"need shape \(2, 3\)"):
        KMeans(2, init=X[:3]).fit(X)
    for settings, message in [({"n_init": 0}, "n_init=0"), ({"max_iter": 0}, "max_iter=0"),
                              ({"tol": -1.0}, "tol=-1.0"), ({"batch_size": 0}, "batch_size=0")]:
        with pytest.raises(ValueError, match=message):
            KMeans(2, **settings).fit(X)
    with pytest.raises(TypeError, match="must hold numbers"):
        KMeans(2).fit([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="not fitted yet"):
        KMeans(2).predict(X)
    with pytest.raises(ValueError, match="not fitted yet"):
        KMeans(2).save("/tmp/never-written")
    model = KMeans(2).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but this KMeans was fitted on 3"):
        model.predict(X[:, :2])


def test_chunked_distances_equal_one_chunk(blobs, monkeypatch):
    X, _ = blobs
    model = KMeans(5, seed=0).fit(X)
    whole_labels, whole_distances = model.predict(X), model.transform(X)
    monkeypatch.setattr("learnable.classic.kmeans.CHUNK_VALUES", 35)  # 7 rows per chunk
    np.testing.assert_array_equal(model.predict(X), whole_labels)
    np.testing.assert_array_equal(model.transform(X), whole_distances)
    np.testing.assert_array_equal(KMeans(5, seed=0).fit(X).cluster_centers_, model.cluster_centers_)
