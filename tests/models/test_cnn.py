"""The CNN's residual option: block layout, shapes, gradients, JSON round trips, old configs."""

import json
import time

import pytest
import torch
from torch import nn

from learnable.model_file import load_model, save_model
from learnable.models import CNN, CNNConfig, build, describe
from learnable.models.cnn import ResidualBlock


def _small(**settings):
    return CNN(in_channels=2, image_size=(12, 10), out_features=5, channels=(4, 8), hidden_size=16, **settings)


def test_residual_cnn_accepts_flat_and_image_inputs_alike():
    torch.manual_seed(0)
    model = _small(residual=True).eval()
    images = torch.randn(6, 2, 12, 10)
    out = model(images)
    assert out.shape == (6, 5)
    torch.testing.assert_close(model(images.reshape(6, -1)), out)


def test_residual_blocks_follow_the_config():
    model = _small(residual=True)
    blocks = [m for m in model.features if isinstance(m, ResidualBlock)]
    assert len(blocks) == 2
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 2
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # per block: 3x3 in->out, 3x3 out->out, and a 1x1 in->out projection since the channels change
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (2, 4, (3, 3)), (4, 4, (3, 3)), (2, 4, (1, 1)),
        (4, 8, (3, 3)), (8, 8, (3, 3)), (4, 8, (1, 1)),
    ]
    assert all(c.bias is None for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 6


def test_identity_skip_when_channels_stay():
    block = ResidualBlock(4, 4)
    assert isinstance(block.skip, nn.Identity)
    assert sum(isinstance(m, nn.Conv2d) for m in block.modules()) == 2


def test_residual_block_computes_relu_of_body_plus_skip():
    torch.manual_seed(0)
    block = ResidualBlock(3, 6).eval()
    x = torch.randn(2, 3, 5, 5)
    expected = torch.relu(block.body(x) + block.skip(x))
    torch.testing.assert_close(block(x), expected)
    conv, norm = block.skip[0], block.skip[1]
    torch.testing.assert_close(block.skip(x), norm(nn.functional.conv2d(x, conv.weight)))  # 1x1 projection


def test_residual_block_without_batch_norm_has_biases_and_no_norms():
    model = _small(residual=True, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    assert model(torch.randn(3, 240)).shape == (3, 5)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_gradient_reaches_every_parameter(batch_norm):
    torch.manual_seed(0)
    model = _small(residual=True, batch_norm=batch_norm)
    loss = nn.functional.cross_entropy(model(torch.randn(8, 2, 12, 10)), torch.arange(8) % 5)
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_plain_cnn_is_unchanged_by_the_option():
    """residual=False keeps the layer list, and so the state_dict of models saved before the option."""
    model = CNN(in_channels=1, image_size=(28, 28), out_features=10)
    reference = nn.Module()  # the network as it was built before residual existed
    reference.features = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    )
    reference.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
                                   nn.Linear(128, 10))
    assert str(model.features) == str(reference.features) and str(model.head) == str(reference.head)
    expected = {k: v.shape for k, v in reference.state_dict().items()}
    assert {k: v.shape for k, v in model.state_dict().items()} == expected


def test_residual_cnn_round_trips_through_json_and_model_files(tmp_path):
    torch.manual_seed(0)
    model = _small(residual=True).eval()
    name, config = describe(model)
    assert config["residual"] is True
    rebuilt = build(*json.loads(json.dumps([name, config])))
    assert rebuilt.config == model.config and str(rebuilt) == str(model)
    save_model(tmp_path / "m", model, {})
    loaded, _ = load_model(tmp_path / "m")
    x = torch.randn(3, 240)
    torch.testing.assert_close(loaded.eval()(x), model(x))


def test_an_old_config_without_residual_still_builds_the_plain_network():
    old = {"in_channels": 1, "image_size": [8, 8], "out_features": 3, "channels": [4], "hidden_size": 8,
           "dropout": 0.25, "batch_norm": True}  # as model.json held it before the option existed
    model = build("cnn", old)
    assert model.config.residual is False
    assert not any(isinstance(m, ResidualBlock) for m in model.modules())
    assert model(torch.randn(2, 64)).shape == (2, 3)


def test_residual_must_be_a_bool():
    with pytest.raises(ValueError, match="CNN residual='yes' must be True or False"):
        CNN(CNNConfig(in_channels=1, image_size=(8, 8), out_features=2, residual="yes"))


# ---- the target: >= 98% on held-out MNIST-sample digits in under 2 minutes on the CPU ----------------
def _train_on_mnist_sample(data, *, residual=False, augment=None, num_epochs=8):
    """The CNN recipe of ``learnable.fit`` (AdamW, lr 1e-2, one-cycle, weight decay 1e-4, batch 64), seed 0."""
    from learnable import Learner
    from learnable.callbacks import LRSchedule
    from learnable.optim.optimizers import OptimizerConfig
    from learnable.train.seed import seed_everything

    seed_everything(0)
    model = CNN(in_channels=1, image_size=(28, 28), out_features=10, residual=residual)
    callbacks = [LRSchedule("one_cycle"), *([augment] if augment is not None else [])]
    start = time.perf_counter()
    learner = Learner(model, data.train, optimizer=OptimizerConfig("adamw", lr=1e-2, weight_decay=1e-4),
                      batch_size=64, validation=data.validation, metrics=["accuracy"], callbacks=callbacks, seed=0,
                      progress=False)
    learner.fit(num_epochs)
    seconds = time.perf_counter() - start
    X, y = data.test
    accuracy = float((learner.predict(X).argmax(1).numpy() == y).mean())
    return learner, {"test_accuracy": accuracy, "seconds": seconds, "epochs": num_epochs,
                     "seconds_per_epoch": seconds / num_epochs}


@pytest.mark.slow
def test_the_cnn_meets_the_mnist_sample_target(capsys):
    """(a) the default recipe, (b) with Augment(), (c) residual with Augment(), (d) (c) with TTA.

    Split 80/10/10 stratified with seed 0 as ``learnable.fit`` splits: 4,000 / 500 / 500 digits.
    Run with ``pytest -m slow -s tests/models/test_cnn.py`` to see the table.
    """
    import learnable
    from learnable.callbacks.augment import Augment, tta_predict
    from learnable.data import prepare

    digits = learnable.data.datasets.load("mnist-sample")
    data = prepare(digits.images, digits.y, validation=0.1, test=0.1, seed=0)
    results = {}
    _, results["(a) plain"] = _train_on_mnist_sample(data)
    _, results["(b) augment"] = _train_on_mnist_sample(data, augment=Augment())
    learner, results["(c) residual + augment"] = _train_on_mnist_sample(data, residual=True, augment=Augment())
    start = time.perf_counter()
    probabilities = tta_predict(learner.model, data.test[0], Augment(), num_views=8)
    tta = {**results["(c) residual + augment"], "test_accuracy": float((probabilities.argmax(1).numpy()
                                                                         == data.test[1]).mean())}
    results["(d) (c) + TTA, 8 views"] = {**tta, "seconds": tta["seconds"] + time.perf_counter() - start}
    with capsys.disabled():
        for name, r in results.items():
            print(f"\n{name:26s} test accuracy {r['test_accuracy']:.3f}  {r['epochs']} epochs  {r['seconds']:.1f}s "
                  f"({r['seconds_per_epoch']:.2f}s per epoch)")
    assert results["(c) residual + augment"]["test_accuracy"] >= 0.98
    assert results["(d) (c) + TTA, 8 views"]["test_accuracy"] >= 0.98
    assert results["(a) plain"]["test_accuracy"] >= 0.97  # the plain recipe stays close
