"""Augmentation on the device: exact geometry against torch oracles, seeding, exact resume, training
batches only, test-time augmentation, and every bad setting."""

import json
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import learnable
from learnable import Learner
from learnable.callbacks.augment import Augment, AugmentConfig, _matrices, tta_predict
from learnable.callbacks.checkpoint import Checkpoint
from learnable.callbacks.events import Callback
from learnable.models import CNN

OFF = {"translate": 0, "rotate": 0, "scale": 0}  # the digit defaults switched off


def _bordered(batch=3, channels=1, height=10, width=12, seed=0):
    """Random images inside a zero border 3 pixels wide: shifts of up to 3 pixels lose nothing."""
    images = torch.zeros(batch, channels, height, width)
    generator = torch.Generator().manual_seed(seed)
    images[:, :, 3:-3, 3:-3] = torch.rand(batch, channels, height - 6, width - 6, generator=generator)
    return images


def _warp(images, u, config):
    theta = _matrices(u, config, *images.shape[-2:])  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode=config.padding, align_corners=False)


def _seeded(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


# ---- geometry against torch ----------------------------------------------------------------------------
def test_settings_that_change_nothing_give_back_the_batch_itself():
    images = torch.rand(4, 1, 8, 8)
    assert Augment(**OFF).transform(images, _seeded()) is images
    assert Augment(**OFF, cutout=0.5, cutout_probability=0.0).transform(images, _seeded()) is images


@pytest.mark.parametrize(("dx", "dy"), [(2, 0), (0, -3), (-1, 2), (3, 3)])
def test_a_whole_pixel_translation_matches_torch_roll(dx, dy):
    images = _bordered()
    config = AugmentConfig(translate=0.4, rotate=0, scale=0)
    u = torch.full((3, 13), 0.5)  # the middle of every range: no change
    u[:, 0] = 0.5 + dx / (2 * 0.4 * 12)  # shift = (2u - 1) * translate * width = dx pixels
    u[:, 1] = 0.5 + dy / (2 * 0.4 * 10)
    expected = torch.roll(images, shifts=(-dy, -dx), dims=(2, 3))  # output(p) = input(p + shift)
    torch.testing.assert_close(_warp(images, u, config), expected, atol=1e-5, rtol=0)


def test_a_quarter_turn_of_a_square_image_matches_torch_rot90():
    images = torch.rand(2, 3, 9, 9)
    config = AugmentConfig(translate=0, rotate=180, scale=0)
    u = torch.full((2, 13), 0.5)
    u[:, 2] = 0.75  # (2u - 1) * 180 = 90 degrees
    warped = _warp(images, u, config)
    turned = [torch.rot90(images, k, dims=(2, 3)) for k in (1, -1)]
    assert min((warped - t).abs().max() for t in turned) < 1e-5


def test_a_two_times_zoom_out_matches_average_pooling_on_the_centre():
    images = torch.rand(1, 1, 8, 8)
    config = AugmentConfig(translate=0, rotate=0, scale=0.5, padding="zeros")
    u = torch.full((1, 13), 0.5)
    u[:, 3] = 0.0  # scale factor 1 - 0.5: the image shrinks to half its size
    warped = _warp(images, u, config)  # each output pixel in the centre samples between four inputs
    torch.testing.assert_close(warped[:, :, 2:6, 2:6], F.avg_pool2d(images, 2), atol=1e-5, rtol=0)


def test_flip_matches_torch_flip_and_keeps_rgb_channels_apart():
    images = torch.rand(5, 3, 6, 7)
    flipped = Augment(**OFF, flip=1.0).transform(images, _seeded())
    torch.testing.assert_close(flipped, torch.flip(images, dims=(3,)), atol=1e-5, rtol=0)


def test_flip_half_the_time_flips_some_images_and_leaves_the_rest():
    images = torch.rand(40, 1, 6, 6)
    out = Augment(**OFF, flip=0.5).transform(images, _seeded())
    flipped = [(o - torch.flip(i, dims=(2,))).abs().max() < 1e-5 for o, i in zip(out, images, strict=True)]
    kept = [(o - i).abs().max() < 1e-5 for o, i in zip(out, images, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True)) and 10 < sum(flipped) < 30


def test_random_shifts_move_the_centre_of_mass_by_at_most_the_fraction():
    images = torch.zeros(64, 1, 20, 20)
    images[:, :, 9:11, 9:11] = 1.0
    out = Augment(translate=0.1, rotate=0, scale=0, padding="zeros").transform(images, _seeded())
    rows = torch.arange(20.0)
    centre_x = (out.sum(2) * rows).sum(-1).squeeze(1) / out.sum((1, 2, 3))
    centre_y = (out.sum(3) * rows).sum(-1).squeeze(1) / out.sum((1, 2, 3))
    for centre in (centre_x, centre_y):
        shift = centre - 9.5
        assert shift.abs().max() <= 2.0 + 1e-4 and shift.std() > 0.5  # up to 0.1 * 20 pixels, and spread
    torch.testing.assert_close(out.sum((1, 2, 3)), images.sum((1, 2, 3)), atol=1e-3, rtol=0)  # moved, not lost


def test_crop_zooms_in_within_the_image():
    images = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(32, 1, 1, 1)
    out = Augment(**OFF, crop=0.5).transform(images, _seeded())
    assert out.min() >= 0 and out.max() <= 15  # inside the image: no padding shows
    assert not torch.allclose(out, images)


def test_cutout_sets_one_square_to_zero():
    images = torch.ones(200, 1, 20, 20)
    out = Augment(**OFF, cutout=0.25, cutout_probability=0.5).transform(images, _seeded())
    zeros = (out == 0).sum((1, 2, 3))
    cut = zeros > 0
    assert 70 < cut.sum() < 130  # about half the images
    assert zeros.max() == 25  # a 5x5 square when it lies wholly inside
    assert ((out == 0) | (out == 1)).all()


# ---- shapes and dtypes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.uint8, torch.int64])
def test_output_keeps_the_shape_and_dtype_of_flat_and_image_batches(dtype):
    images = (torch.rand(4, 2, 8, 8) * 255).to(dtype)
    augment = Augment(rotate=20)
    for batch, shape in [(images, None), (images.reshape(4, -1), (2, 8, 8)), (images[:, 0], None)]:
        out = augment.transform(batch, _seeded(), image_shape=shape)
        assert out.shape == batch.shape and out.dtype == batch.dtype
        assert not torch.equal(out, batch)


def test_flat_rows_are_warped_as_the_images_they_were_flattened_from():
    images = torch.rand(3, 2, 6, 5)
    flat = Augment(image_shape=(2, 6, 5)).transform(images.reshape(3, -1), _seeded())
    torch.testing.assert_close(flat.reshape(3, 2, 6, 5), Augment().transform(images, _seeded()))


# ---- seeding and exact resume -------------------------------------------------------------------------------
def test_same_seed_same_batches_other_seed_other_batches():
    images = torch.rand(8, 1, 10, 10)
    a, b, c = (Augment(shear=5, cutout=0.2).transform(images, _seeded(s)) for s in (7, 7, 8))
    assert torch.equal(a, b) and not torch.allclose(a, c)


class Seen(Callback):
    """Records each training batch as the model gets it (after augmentation)."""

    order = 50

    def __init__(self):
        self.batches = []

    def after_predict(self, learner):
        self.batches.append(learner.xb.clone())


class Crash(Callback):
    order = 95  # after the checkpoint

    def after_batch(self, learner):
        if learner.step == 5:
            raise SystemExit("crash")


def _learner(callbacks, seed=0, augment_seed=None):
    generator = torch.Generator().manual_seed(1)
    X, y = torch.rand(96, 64, generator=generator), torch.randint(0, 3, (96,), generator=generator)
    torch.manual_seed(2)
    model = CNN(in_channels=1, image_size=(8, 8), out_features=3, channels=(4,), hidden_size=8)
    return Learner(model, (X, y), lr=1e-2, batch_size=32, validation=(X[:16], y[:16]), seed=seed, progress=False,
                   statistics=None, callbacks=[Augment(seed=augment_seed), *callbacks])


def test_the_learners_seed_drives_augmentation_unless_augment_has_its_own():
    runs = []
    for seed, augment_seed in [(0, None), (0, None), (1, None), (0, 5), (0, 5)]:
        seen = Seen()
        _learner([seen], seed=seed, augment_seed=augment_seed).fit(1)
        runs.append(seen.batches)
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not torch.equal(runs[0][0], runs[2][0])
    # the same batch order (Learner seed 0), but Augment's own seed: other warps, the same each time
    assert not torch.equal(runs[0][0], runs[3][0])
    assert all(torch.equal(a, b) for a, b in zip(runs[3], runs[4], strict=True))


def test_state_dict_round_trip_reproduces_the_next_batch():
    images = torch.rand(6, 1, 8, 8)
    learner = type("FakeLearner", (), {"model": nn.Identity(), "seed": 3})()
    first = Augment(rotate=30)
    first.before_fit(learner)
    for _ in range(2):
        learner.xb = images
        first.before_batch(learner)
    state = json.loads(json.dumps({"device": first.state_dict()["device"]}))  # the device survives JSON
    state["generator"] = first.state_dict()["generator"].clone()
    second = Augment(rotate=30)
    second.load_state_dict(state)
    second.before_fit(learner)
    outputs = []
    for augment in (first, second):
        learner.xb = images
        augment.before_batch(learner)
        outputs.append(learner.xb)
    assert torch.equal(outputs[0], outputs[1])


def test_a_crashed_fit_resumes_with_the_same_augmented_batches(tmp_path):
    full = Seen()
    _learner([full]).fit(2)
    with pytest.raises(SystemExit):
        _learner([Checkpoint(tmp_path, every_steps=1, handle_signals=False), Crash()]).fit(2)
    resumed = Seen()
    _learner([resumed, Checkpoint(tmp_path, every_steps=1, handle_signals=False)]).fit(2, resume=tmp_path)
    assert len(full.batches) == 2 * 3 and len(resumed.batches) == 6 - 5
    assert torch.equal(resumed.batches[0], full.batches[5])


def test_a_checkpoint_from_another_kind_of_device_is_refused():
    augment = Augment()
    augment.load_state_dict({"generator": torch.Generator().get_state(), "device": "cuda"})
    with pytest.raises(ValueError, match="ran on cuda, but this run is on cpu; resume on the same kind"):
        augment.transform(torch.rand(2, 1, 8, 8), augment._generator(torch.device("cpu")))


# ---- training batches only ------------------------------------------------------------------------------------
class Recording(nn.Module):
    """A tiny classifier that remembers every input it is given, and whether it was training."""

    def __init__(self):
        super().__init__()
        self.config = type("Config", (), {"in_channels": 1, "image_size": (4, 4)})()
        self.linear = nn.Linear(16, 2)
        self.inputs = []

    def forward(self, x):
        self.inputs.append((self.training, x.detach().clone()))
        return self.linear(x.flatten(1))


def test_only_training_batches_are_augmented():
    generator = torch.Generator().manual_seed(0)
    X, y = torch.rand(40, 16, generator=generator), torch.randint(0, 2, (40,), generator=generator)
    Xv, yv = torch.rand(10, 16, generator=generator), torch.randint(0, 2, (10,), generator=generator)
    model = Recording()
    learner = Learner(model, (X, y), lr=1e-2, batch_size=8, validation=(Xv, yv), progress=False, statistics=None,
                      callbacks=[Augment(rotate=30)])
    learner.fit(2)
    trained = [x for training, x in model.inputs if training]
    validated = [x for training, x in model.inputs[1:] if not training]  # [0]: fit's shape check on 2 rows
    assert len(trained) == 10 and len(validated) == 2
    for batch in validated:
        torch.testing.assert_close(batch, Xv, atol=0, rtol=0)
    rows = torch.cat(trained)  # (80, 16): each training row twice, changed
    assert not any((row == X).all(1).any() for row in rows)
    model.inputs.clear()
    torch.testing.assert_close(learner.predict(Xv), model.linear(Xv).detach())
    torch.testing.assert_close(model.inputs[0][1], Xv, atol=0, rtol=0)


def test_flat_batches_without_an_image_shape_fail_clearly():
    X, y = torch.rand(20, 16), torch.randint(0, 2, (20,))
    learner = Learner(nn.Linear(16, 2), (X, y), batch_size=8, validation=None, progress=False,
                      callbacks=[Augment()])
    with pytest.raises(ValueError, match=r"batch has shape \(8, 16\).*Augment\(image_shape=\(C, H, W\)\)"):
        learner.fit(1)
    assert learner.step == 0  # nothing was trained on
    learner = Learner(nn.Linear(16, 2), (X, y), batch_size=8, validation=None, progress=False,
                      callbacks=[Augment(image_shape=(1, 5, 5))])
    with pytest.raises(ValueError, match=r"holds 25 pixels, but each row of the batch has 16"):
        learner.fit(1)


# ---- test-time augmentation -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_cnn():
    torch.manual_seed(0)
    model = CNN(in_channels=1, image_size=(8, 8), out_features=10, channels=(8,), hidden_size=16).eval()
    X = torch.tensor(learnable.data.datasets.load("digits").images[:40]) / 16  # (40, 1, 8, 8)
    return model, X


def test_tta_probabilities_sum_to_one_and_views_change_them(digits_cnn):
    model, X = digits_cnn
    probabilities = tta_predict(model, X, Augment(), num_views=4)
    assert probabilities.shape == (40, 10) and probabilities.dtype == torch.float32
    torch.testing.assert_close(probabilities.sum(1), torch.ones(40))
    plain = torch.softmax(model(X), dim=1).detach()
    assert not torch.allclose(probabilities, plain)
    torch.testing.assert_close(tta_predict(model, X, Augment(), num_views=4), probabilities)  # seeded


def test_tta_with_no_views_or_identity_views_is_the_plain_softmax(digits_cnn):
    model, X = digits_cnn
    plain = torch.softmax(model(X), dim=1).detach()
    torch.testing.assert_close(tta_predict(model, X, num_views=0), plain)
    torch.testing.assert_close(tta_predict(model, X.reshape(40, 64), Augment(**OFF), num_views=3, batch_size=7), plain)


def test_tta_is_the_mean_over_the_plain_and_augmented_views(digits_cnn):
    model, X = digits_cnn
    augment = Augment(rotate=20)
    views = augment.transform(X.repeat(2, 1, 1, 1), _seeded(3))  # the views tta_predict draws with seed 3
    expected = torch.softmax(model(torch.cat([X, views])), dim=1).reshape(3, 40, 10).mean(0).detach()
    torch.testing.assert_close(tta_predict(model, X, augment, num_views=2, seed=3), expected)


def test_tta_for_a_single_logit_model_averages_sigmoids():
    torch.manual_seed(0)
    model = CNN(in_channels=1, image_size=(8, 8), out_features=1, channels=(4,), hidden_size=8).eval()
    X = torch.rand(6, 64)
    probabilities = tta_predict(model, X, num_views=3)
    assert probabilities.shape == (6, 1) and ((probabilities > 0) & (probabilities < 1)).all()
    torch.testing.assert_close(tta_predict(model, X, num_views=0), torch.sigmoid(model(X)).detach())


def test_tta_on_a_fitted_model_encodes_raw_images_first():
    digits = learnable.data.datasets.load("digits")
    fitted = learnable.fit(digits.images[:300], digits.y[:300], model="cnn", num_epochs=1, seed=0,
                           callbacks=[Augment()])
    raw = digits.images[300:320]
    probabilities = tta_predict(fitted, raw, num_views=0)
    np.testing.assert_allclose(probabilities.numpy(), fitted.predict_proba(raw), atol=1e-5)


def test_tta_refuses_bad_arguments(digits_cnn):
    model, X = digits_cnn
    with pytest.raises(ValueError, match="num_views=-1 must be a whole number >= 0"):
        tta_predict(model, X, num_views=-1)
    with pytest.raises(TypeError, match="augment must be an Augment"):
        tta_predict(model, X, AugmentConfig())
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        tta_predict("model", X)


# ---- bad settings ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("settings", "message"), [
    ({"translate": 1.0}, r"translate=1.0 must be a number >= 0 and < 1"),
    ({"rotate": -5}, r"Augment rotate=-5 must be a number >= 0 and <= 180"),
    ({"scale": "big"}, "Augment scale='big' must be a number >= 0 and < 1"),
    ({"shear": float("nan")}, "Augment shear=nan must be a number >= 0 and < 90"),
    ({"flip": 1.5}, r"Augment flip=1.5 must be a number >= 0 and <= 1"),
    ({"crop": True}, "Augment crop=True must be a number >= 0 and < 1"),
    ({"cutout_probability": 2}, r"Augment cutout_probability=2 must be a number >= 0 and <= 1"),
    ({"padding": "wrap"}, "padding='wrap' is not known; choose one of"),
    ({"image_shape": (28, 28)}, r"image_shape=\(28, 28\) must be \(channels, height, width\)"),
    ({"seed": -1}, r"Augment seed=-1 must be None or a whole number in \[0, 2\*\*64\)"),
])
def test_bad_settings_are_refused_when_made(settings, message):
    with pytest.raises(ValueError, match=message):
        Augment(**settings)


def test_unknown_settings_and_mixed_config_are_refused():
    with pytest.raises(TypeError, match=r"no setting\(s\) \['rotation'\]; its settings are"):
        Augment(rotation=10)
    with pytest.raises(TypeError, match="an AugmentConfig or keyword settings, not both"):
        Augment(AugmentConfig(), rotate=5)
    with pytest.raises(TypeError, match="takes an AugmentConfig"):
        Augment({"rotate": 5})


def test_the_warp_is_fast_enough_to_hide_in_a_training_step():
    images = torch.rand(64, 1, 28, 28)
    augment = Augment(shear=5, crop=0.1, cutout=0.2)
    augment.transform(images, _seeded())
    start = time.perf_counter()
    for _ in range(10):
        augment.transform(images, _seeded())
    assert (time.perf_counter() - start) / 10 < 0.05  # about 1 ms unloaded; one CNN step takes ~20 ms


def test_turns_keep_angles_on_non_square_images():
    """In pixel units a pure turn is orthogonal, however unequal the sides (normalized units are not)."""
    height, width = 10, 30
    theta = _matrices(torch.rand(16, 13, generator=_seeded()), AugmentConfig(translate=0, rotate=45, scale=0),
                      height, width)
    half = torch.tensor([width / 2, height / 2])
    in_pixels = half[:, None] * theta[:, :, :2] / half[None, :]  # diag(half) @ A @ diag(1/half), (16, 2, 2)
    torch.testing.assert_close(in_pixels @ in_pixels.transpose(1, 2), torch.eye(2).expand(16, 2, 2))
    assert in_pixels[:, 0, 1].abs().max() > 0.3  # turned by more than a few degrees


def test_a_restored_state_is_kept_until_the_first_batch():
    images = torch.rand(6, 1, 8, 8)
    learner = type("FakeLearner", (), {"model": nn.Identity(), "seed": 3})()
    first = Augment(rotate=30)
    first.before_fit(learner)
    learner.xb = images
    first.before_batch(learner)
    state = first.state_dict()
    second = Augment(rotate=30)
    second.load_state_dict(state)
    assert torch.equal(second.state_dict()["generator"], state["generator"])  # a checkpoint before any batch
