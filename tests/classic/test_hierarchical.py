"""AgglomerativeClustering against scikit-learn: the same merges, distances and labels, saving, user mistakes."""

import json

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn import cluster, datasets
from sklearn.metrics import adjusted_rand_score

from learnable.classic.hierarchical import AgglomerativeClustering, cut_tree

LINKAGES = ["ward", "complete", "average", "single"]


@pytest.fixture(scope="module")
def iris():
    return datasets.load_iris().data


@pytest.fixture(scope="module")
def blobs():
    return datasets.make_blobs(n_samples=400, centers=4, cluster_std=1.0, random_state=0)[0]


def _same_as_sklearn(ours, reference, linkage):
    """The same partition and the same merge heights; the labels even numbered alike, except for single
    linkage, which scikit-learn builds with its own spanning tree (so equal merges may come in another order)."""
    assert adjusted_rand_score(reference.labels_, ours.labels_) == 1.0
    if linkage != "single":
        np.testing.assert_array_equal(ours.labels_, reference.labels_)
    assert ours.n_clusters_ == reference.n_clusters_
    np.testing.assert_allclose(ours.distances_, reference.distances_, rtol=0, atol=1e-8)


@pytest.mark.parametrize("linkage", LINKAGES)
@pytest.mark.parametrize("data", ["iris", "blobs"])
def test_labels_and_distances_equal_sklearn(linkage, data, request):
    X = request.getfixturevalue(data)
    for k in (2, 3, 5):
        reference = cluster.AgglomerativeClustering(k, linkage=linkage, compute_distances=True).fit(X)
        ours = AgglomerativeClustering(k, linkage=linkage).fit(X)
        _same_as_sklearn(ours, reference, linkage)
        if linkage != "single":
            np.testing.assert_array_equal(ours.children_, reference.children_)


@pytest.mark.parametrize("linkage", LINKAGES)
def test_distance_threshold_equals_sklearn(linkage, iris, blobs):
    for X in (iris, blobs):
        for threshold in (0.5, 2.0, 8.0):
            reference = cluster.AgglomerativeClustering(None, linkage=linkage, distance_threshold=threshold).fit(X)
            ours = AgglomerativeClustering(None, linkage=linkage, distance_threshold=threshold).fit(X)
            _same_as_sklearn(ours, reference, linkage)


def test_ward_distances_equal_sklearn(blobs):
    reference = cluster.AgglomerativeClustering(4, compute_distances=True).fit(blobs)
    ours = AgglomerativeClustering(4).fit(blobs)
    assert np.abs(ours.distances_ - reference.distances_).max() <= 1e-8
    assert ours.linkage_matrix_.shape == (399, 4) and ours.n_leaves_ == 400 and ours.n_features_in_ == 2
    np.testing.assert_array_equal(ours.linkage_matrix_[:, 3][-1], 400)  # the last merge holds every row


@pytest.mark.parametrize("metric", ["manhattan", "l1", "cosine", "cityblock", "chebyshev"])
def test_other_metrics(metric, iris):
    sklearn_metric = {"cityblock": "manhattan"}.get(metric, metric)
    if metric == "chebyshev":  # scikit-learn has no such name: compare with a precomputed matrix
        from scipy.spatial.distance import pdist, squareform

        reference = cluster.AgglomerativeClustering(3, linkage="complete", metric="precomputed").fit(
            squareform(pdist(iris, "chebyshev")))
    else:
        reference = cluster.AgglomerativeClustering(3, linkage="complete", metric=sklearn_metric).fit(iris)
    ours = AgglomerativeClustering(3, linkage="complete", metric=metric).fit(iris)
    np.testing.assert_array_equal(ours.labels_, reference.labels_)


@pytest.mark.parametrize("linkage", LINKAGES)
def test_fit_predict_recovers_well_separated_blobs(linkage):
    X, truth = datasets.make_blobs(n_samples=400, centers=4, cluster_std=0.5, random_state=0)
    labels = AgglomerativeClustering(4, linkage=linkage).fit_predict(X)
    assert adjusted_rand_score(truth, labels) == 1.0


def test_cut_tree_on_a_hand_made_tree():
    # rows 0,1 merge (node 4), rows 2,3 merge (node 5), then 4 and 5 (node 6)
    children = np.array([[0, 1], [2, 3], [4, 5]])
    assert cut_tree(children, 4, 1).tolist() == [0, 0, 0, 0]
    assert sorted(cut_tree(children, 4, 2).tolist()) == [0, 0, 1, 1]
    assert len(set(cut_tree(children, 4, 4).tolist())) == 4


def test_save_and_load(iris, tmp_path):
    ours = AgglomerativeClustering(3, linkage="average").fit(iris)
    loaded = AgglomerativeClustering.load(ours.save(tmp_path / "agglomerative"))
    np.testing.assert_array_equal(loaded.labels_, ours.labels_)
    np.testing.assert_array_equal(loaded.linkage_matrix_, ours.linkage_matrix_)
    np.testing.assert_array_equal(loaded.children_, ours.children_)
    assert loaded.get_params() == ours.get_params() and loaded.n_clusters_ == 3 and loaded.n_features_in_ == 4
    info = json.loads((tmp_path / "agglomerative" / "model.json").read_text())
    del info["agglomerative"]
    (tmp_path / "agglomerative" / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="not an AgglomerativeClustering"):
        AgglomerativeClustering.load(tmp_path / "agglomerative")


def test_dendrogram_draws_without_pyplot(iris, tmp_path):
    model = AgglomerativeClustering(3).fit(iris)
    figure = model.dendrogram(truncate=12)
    assert isinstance(figure, Figure) and len(figure.axes[0].get_xticks()) == 12
    figure.savefig(tmp_path / "tree.png")
    assert (tmp_path / "tree.png").stat().st_size > 1000
    small = AgglomerativeClustering(2).fit(iris[:20])
    axes = Figure().add_subplot()
    assert small.dendrogram(ax=axes, truncate=None) is axes.figure and len(axes.get_xticks()) == 20


# ---- user mistakes ------------------------------------------------------------------------------
@pytest.mark.parametrize(("settings", "message"), [
    ({"n_clusters": 3, "distance_threshold": 1.0}, "set exactly one of them"),
    ({"n_clusters": None}, "set exactly one of them"),
    ({"n_clusters": 0}, "n_clusters=0 must be None or a whole number >= 1"),
    ({"n_clusters": None, "distance_threshold": -1.0}, "distance_threshold=-1.0 must be"),
    ({"linkage": "centroid"}, "linkage='centroid' is not known"),
    ({"linkage": "ward", "metric": "cosine"}, "linkage='ward' needs metric='euclidean', got metric='cosine'"),
    ({"linkage": "average", "metric": "hamming distance"}, "metric='hamming distance' is not known"),
    ({"n_clusters": 200}, "n_clusters=200 is more than the 150 rows of X"),
])
def test_bad_settings(settings, message, iris):
    with pytest.raises(ValueError, match=message):
        AgglomerativeClustering(**settings).fit(iris)


def test_bad_input(iris, monkeypatch):
    with pytest.raises(ValueError, match="NaN or infinite"):
        AgglomerativeClustering(2).fit(np.where(iris > 7.5, np.nan, iris))
    with pytest.raises(ValueError, match="needs at least 2 rows"):
        AgglomerativeClustering(1).fit(iris[:1])
    with pytest.raises(ValueError, match="not fitted yet"):
        AgglomerativeClustering().dendrogram()
    with pytest.raises(ValueError, match="not fitted yet, so there is nothing to save"):
        AgglomerativeClustering().save("unused")
    with pytest.raises(ValueError, match="gave NaN distances"):
        AgglomerativeClustering(2, linkage="average", metric="cosine").fit(np.vstack([iris, np.zeros((1, 4))]))
    monkeypatch.setattr("learnable.classic.hierarchical.MAX_ROWS", 100)
    with pytest.raises(ValueError, match=r"X has 150 rows; .* pairwise distances in memory .* Use KMeans"):
        AgglomerativeClustering(2).fit(iris)


def test_too_many_rows_message_counts_the_memory():
    X = np.zeros((20_001, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=r"X has 20,001 rows; .*\(1\.6 GB here\).* more than 20,000 rows"):
        AgglomerativeClustering(2).fit(X)
