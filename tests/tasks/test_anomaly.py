"""AnomalyDetector and embed_2d: one digit class as normal and another as anomalies (scikit-learn's
roc_auc_score as the oracle), the validation-quantile threshold, 2-D codes that separate classes,
save/load, and every bad input a user can pass."""

import json
import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

import learnable
from learnable import AnomalyDetector
from learnable.insight.embedding import plot_embedding
from learnable.models import Autoencoder, ConvAutoencoder
from learnable.tasks.anomaly import embed_2d


def _digit_split(name, normal, anomalous, images, seed=0):
    """(normal training rows, held-out normal rows, anomalous rows) of one built-in digit set."""
    data = learnable.data.datasets.load(name)
    X, y = (data.images if images else data.X), data.y.to_numpy()
    rows = np.random.default_rng(seed).permutation(np.flatnonzero(y == normal))
    cut = int(0.7 * len(rows))
    return X[rows[:cut]], X[rows[cut:]], X[y == anomalous]


def _auc(detector, held_out, anomalies):
    scores = np.concatenate([detector.score_samples(held_out), detector.score_samples(anomalies)])
    return roc_auc_score(np.r_[np.zeros(len(held_out)), np.ones(len(anomalies))], scores)


@pytest.fixture(scope="module")
def digits_dense():
    """A dense detector fitted on the 8x8 zeros as flat rows; sixes are the anomalies."""
    train, held_out, anomalies = _digit_split("digits", 0, 6, images=False)
    return AnomalyDetector("dense", num_epochs=60, seed=0).fit(train), train, held_out, anomalies


@pytest.fixture(scope="module")
def digits_conv():
    """A conv detector fitted on the 8x8 ones as images; sevens are the anomalies."""
    train, held_out, anomalies = _digit_split("digits", 1, 7, images=True)
    return AnomalyDetector("auto", num_epochs=60, seed=0).fit(train), train, held_out, anomalies


# ---- one digit normal, another anomalous ------------------------------------------------------------------
def test_dense_detector_separates_sixes_from_zeros(digits_dense):
    detector, _, held_out, anomalies = digits_dense
    assert isinstance(detector.network_, Autoencoder)
    assert _auc(detector, held_out, anomalies) >= 0.9
    assert detector.predict(anomalies).mean() > 0.5  # most sixes are flagged at the threshold


def test_conv_detector_separates_sevens_from_ones(digits_conv):
    detector, _, held_out, anomalies = digits_conv
    assert isinstance(detector.network_, ConvAutoencoder)  # "auto" picks the conv model for images
    assert _auc(detector, held_out, anomalies) >= 0.9
    assert detector.predict(anomalies).mean() > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("model", ["dense", "conv"])
@pytest.mark.parametrize(("normal", "anomalous"), [(1, 7), (0, 6)])
def test_mnist_sample_detectors_reach_an_auc_of_0_9(model, normal, anomalous):
    train, held_out, anomalies = _digit_split("mnist-sample", normal, anomalous, images=True)
    start = time.perf_counter()
    detector = AnomalyDetector(model, num_epochs=100, seed=0).fit(train)
    auc = _auc(detector, held_out, anomalies)
    print(f"mnist-sample {model} {normal} vs {anomalous}: ROC AUC {auc:.4f}, {time.perf_counter() - start:.1f}s, "
          f"flagged normal {detector.predict(held_out).mean():.3f}, anomalies {detector.predict(anomalies).mean():.3f}")
    assert auc >= 0.9


# ---- the threshold ------------------------------------------------------------------------------------------
def test_threshold_is_the_quantile_of_the_validation_errors(digits_dense):
    detector, train, _, _ = digits_dense
    validation_scores = detector.score_samples(train[detector.validation_rows_])
    np.testing.assert_array_equal(validation_scores, detector.validation_scores_)
    assert detector.threshold_ == np.quantile(validation_scores, 0.99)
    assert len(detector.validation_rows_) == int(np.ceil(0.2 * len(train)))


def test_threshold_flags_about_one_minus_the_quantile_of_new_normal_rows():
    generator = np.random.default_rng(1)
    basis = generator.normal(size=(3, 12))
    X = generator.normal(size=(6000, 3)) @ basis + 0.3 * generator.normal(size=(6000, 12))
    detector = AnomalyDetector(latent_size=3, quantile=0.9, validation=0.5, num_epochs=20, batch_size=128, seed=0)
    detector.fit(X[:4000])  # 2000 validation rows: the 0.9 quantile is known to about +-0.007
    flagged = detector.predict(X[4000:])
    assert flagged.dtype == bool
    assert abs(flagged.mean() - 0.1) < 0.04  # 2000 new normal rows: about 10% flagged (0.105 to 0.118 over 6 seeds)


def test_score_samples_is_the_mean_squared_error_of_the_scaled_reconstruction(digits_dense):
    detector, _, held_out, _ = digits_dense
    shift, scale = np.asarray(detector.scaling_.shift), np.asarray(detector.scaling_.scale)
    scaled, rebuilt = (held_out - shift) / scale, (detector.reconstruct(held_out) - shift) / scale
    np.testing.assert_allclose(detector.score_samples(held_out), ((rebuilt - scaled) ** 2).mean(1), rtol=1e-4)
    np.testing.assert_array_equal(detector.predict(held_out), detector.score_samples(held_out) > detector.threshold_)


def test_scaling_is_learned_on_the_training_part_only(digits_dense):
    detector, train, _, _ = digits_dense
    training_rows = np.setdiff1d(np.arange(len(train)), detector.validation_rows_)
    assert detector.scaling_.method == "standard"  # flat rows
    np.testing.assert_allclose(detector.scaling_.shift, train[training_rows].mean(0), atol=1e-5)
    assert not np.allclose(detector.scaling_.shift, train.mean(0), atol=1e-5)


def test_images_are_scaled_by_one_range_and_flat_rows_score_like_images(digits_conv):
    detector, train, held_out, _ = digits_conv
    training_rows = np.setdiff1d(np.arange(len(train)), detector.validation_rows_)
    assert detector.scaling_.method == "minmax"
    assert detector.scaling_.shift == [train[training_rows].min()]
    assert detector.input_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(detector.score_samples(held_out.reshape(len(held_out), -1)),
                                  detector.score_samples(held_out))
    np.testing.assert_array_equal(detector.score_samples(held_out[:, 0]), detector.score_samples(held_out))  # (N, H, W)
    assert detector.reconstruct(held_out).shape == held_out.shape


def test_history_and_early_stopping_on_the_validation_loss():
    train, _, _ = _digit_split("digits", 0, 6, images=False)
    detector = AnomalyDetector(num_epochs=200, patience=2, lr=3e-2, seed=0).fit(train)
    losses = [h["val_loss"] for h in detector.history_]
    assert len(losses) < 200  # stopped early
    best = int(np.argmin(losses))
    assert len(losses) == best + 1 + 2  # two epochs without improvement after the best one
    np.testing.assert_allclose(detector.validation_scores_.mean(), losses[best], rtol=1e-4)  # best weights kept
    assert detector.metrics_ == {"val_mean_score": detector.validation_scores_.mean(), "threshold": detector.threshold_}
    training = detector.training_
    assert training["model"] == "dense" and training["epochs"] == len(losses) and training["best_epoch"] == best + 1
    assert training["train_rows"] == len(train) - len(detector.validation_rows_) and training["seconds"] > 0
    assert training["stop_reason"]


# ---- dimensionality reduction -------------------------------------------------------------------------------
def test_two_dimensional_codes_separate_three_digit_classes(tmp_path):
    data = learnable.data.datasets.load("digits")
    y = data.y.to_numpy()
    keep = np.isin(y, [0, 1, 2])
    points = embed_2d(data.X[keep], model="dense", num_epochs=60, seed=0)
    assert points.shape == (keep.sum(), 2)
    accuracy = cross_val_score(KNeighborsClassifier(5), points, y[keep], cv=5).mean()
    assert accuracy > 0.8  # chance is about 0.33
    path = plot_embedding(points, y[keep], path=tmp_path / "codes.png", title="digits 0, 1, 2")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_transform_gives_one_code_per_row(digits_conv):
    detector, _, held_out, _ = digits_conv
    codes = detector.transform(held_out)
    assert codes.shape == (len(held_out), 16) and codes.dtype == np.float32
    np.testing.assert_array_equal(detector.embed(held_out), codes)


# ---- saving ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["digits_dense", "digits_conv"])
def test_save_and_load_reproduce_the_scores_exactly(fixture, request, tmp_path):
    detector, _, held_out, anomalies = request.getfixturevalue(fixture)
    detector.save(tmp_path / "detector")
    info = json.loads((tmp_path / "detector" / "model.json").read_text())
    assert info["anomaly_detector"]["threshold"] == detector.threshold_
    loaded = AnomalyDetector.load(tmp_path / "detector")
    assert loaded.get_params() == detector.get_params()
    for rows in (held_out, anomalies):
        np.testing.assert_array_equal(loaded.score_samples(rows), detector.score_samples(rows))
        np.testing.assert_array_equal(loaded.transform(rows), detector.transform(rows))
    assert loaded.threshold_ == detector.threshold_ and loaded.history_ == detector.history_
    assert loaded.metrics_ == detector.metrics_ and loaded.training_ == detector.training_


def test_loading_a_model_that_is_not_a_detector_is_refused(tmp_path):
    from learnable.model_file import save_model

    save_model(tmp_path / "plain", Autoencoder(in_features=4, hidden_sizes=(3,)), {})
    with pytest.raises(ValueError, match=r"holds a learnable model but not an AnomalyDetector"):
        AnomalyDetector.load(tmp_path / "plain")


# ---- bad input ------------------------------------------------------------------------------------------------
ROWS = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)


@pytest.mark.parametrize(("settings", "X", "error", "message"), [
    ({"quantile": 1.0}, ROWS, ValueError, r"quantile=1.0 must be a number > 0 and < 1"),
    ({"quantile": 0}, ROWS, ValueError, r"quantile=0 must be a number > 0 and < 1"),
    ({"quantile": -0.5}, ROWS, ValueError, r"quantile=-0.5"),
    ({"validation": 1.5}, ROWS, ValueError, r"validation=1.5 must be a number > 0 and < 1"),
    ({"model": "lstm"}, ROWS, ValueError, r"model='lstm' is not known; choose one of \['auto', 'dense', 'conv'\]"),
    ({"scaling": "robust"}, ROWS, ValueError, r"scaling='robust' is not known"),
    ({"lr": 0}, ROWS, ValueError, r"lr=0 must be a finite number > 0"),
    ({"num_epochs": 0}, ROWS, ValueError, r"num_epochs=0 must be a whole number >= 1"),
    ({"batch_size": 0}, ROWS, ValueError, r"batch_size=0 must be a whole number >= 1"),
    ({"patience": 0}, ROWS, ValueError, r"patience=0 must be a whole number >= 1"),
    ({"latent_size": 0}, ROWS, ValueError, r"latent_size=0 must be a whole number >= 1"),
    ({}, ROWS[:, 0], ValueError, r"X has shape \(60,\); expected rows \(N, features\).*X.reshape\(-1, 1\)"),
    ({}, np.where(np.arange(60)[:, None] % 7 == 3, np.nan, ROWS), ValueError,
     r"X has 9 row\(s\) with NaN or infinite values \(rows \[3, 10, 17, 24, 31, \.\.\.\]\); drop or impute"),
    ({}, ROWS.astype(str), TypeError, r"X must hold numbers, got dtype <U"),
    ({}, ROWS[:30], ValueError, r"too few rows for a validation split: got 30 rows.*at least 50 rows"),
    ({"validation": 0.5}, ROWS[:15], ValueError, r"holds out 8; .* at least 20 rows"),
    ({"model": "conv"}, ROWS, ValueError, r"model='conv' needs images shaped \(N, C, H, W\).*model='dense'"),
    ({}, np.zeros((0, 5)), ValueError, r"no rows or no values per row"),
])
def test_bad_input_is_refused_before_training(settings, X, error, message):
    detector = AnomalyDetector(**settings)
    with pytest.raises(error, match=message):
        detector.fit(X)
    assert not hasattr(detector, "network_")


def test_patience_is_any_whole_number_but_not_a_bool():
    detector = AnomalyDetector(patience=np.int64(1), num_epochs=3).fit(ROWS)  # a NumPy integer, as from a grid
    assert detector.patience == 1 and len(detector.history_) >= 2
    with pytest.raises(ValueError, match=r"patience=True must be a whole number >= 1, for example 10 epochs"):
        AnomalyDetector(patience=True).fit(ROWS)


def test_scoring_checks_the_rows_against_the_training_data(digits_dense):
    detector, _, held_out, _ = digits_dense
    with pytest.raises(ValueError, match=r"rows of shape \(63,\) \(63 values\), but this detector was fitted on rows "
                                         r"of shape \(64,\)"):
        detector.score_samples(held_out[:, :63])
    with pytest.raises(ValueError, match=r"1 row\(s\) with NaN"):
        detector.predict(np.where(np.arange(len(held_out))[:, None] == 2, np.inf, held_out))
    with pytest.raises(ValueError, match=r"X has shape \(64,\)"):
        detector.transform(held_out[0])


def test_an_unfitted_detector_says_so(tmp_path):
    with pytest.raises(ValueError, match=r"not fitted yet; call fit\(X_normal\)"):
        AnomalyDetector().score_samples(ROWS)
    with pytest.raises(ValueError, match=r"not fitted yet, so there is nothing to save"):
        AnomalyDetector().save(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_a_failed_refit_leaves_the_fitted_detector_as_it_was():
    detector = AnomalyDetector(num_epochs=2, seed=0).fit(ROWS)
    scores, shape = detector.score_samples(ROWS), detector.input_shape_
    detector.latent_size = 0  # checked by the model's config, after the data
    with pytest.raises(ValueError, match=r"latent_size=0"):
        detector.fit(np.random.default_rng(1).normal(size=(80, 7)))
    assert detector.input_shape_ == shape == (5,)
    np.testing.assert_array_equal(detector.score_samples(ROWS), scores)
