"""The models: output shapes, layers built from the config, JSON round trips and config errors."""

import json

import pytest
import torch
from torch import nn

from learnable.models import (
    CNN,
    MLP,
    REGISTRY,
    CNNConfig,
    LinearClassifierConfig,
    LinearRegressionNet,
    LinearSVM,
    LogisticRegressionNet,
    MLPConfig,
    build,
    describe,
)


def _layers(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


# ---- linear models -------------------------------------------------------------------------------
def test_linear_regression_output_shapes():
    assert LinearRegressionNet(in_features=5)(torch.randn(7, 5)).shape == (7, 1)
    assert LinearRegressionNet(in_features=5, out_features=3)(torch.randn(7, 5)).shape == (7, 3)


def test_linear_regression_is_one_affine_map():
    model = LinearRegressionNet(in_features=4, out_features=2)
    x = torch.randn(6, 4)
    torch.testing.assert_close(model(x), x @ model.linear.weight.T + model.linear.bias)
    assert len(_layers(model, nn.Linear)) == 1


@pytest.mark.parametrize("cls", [LogisticRegressionNet, LinearSVM])
@pytest.mark.parametrize(("classes", "outputs"), [(2, 1), (3, 3), (10, 10)])
def test_linear_classifiers_have_one_output_when_binary_else_one_per_class(cls, classes, outputs):
    model = cls(in_features=6, num_classes=classes)
    assert model(torch.randn(4, 6)).shape == (4, outputs)
    assert model.linear.weight.shape == (outputs, 6)


def test_linear_classifiers_default_to_binary():
    assert LogisticRegressionNet(in_features=3)(torch.randn(2, 3)).shape == (2, 1)


# ---- MLP -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden_sizes", [(), (8,), (16, 8, 4)])
def test_mlp_builds_one_linear_layer_per_hidden_size_plus_the_head(hidden_sizes):
    model = MLP(in_features=5, out_features=3, hidden_sizes=hidden_sizes)
    linears = _layers(model, nn.Linear)
    widths = [5, *hidden_sizes, 3]
    assert [(m.in_features, m.out_features) for m in linears] == list(zip(widths, widths[1:], strict=False))
    assert model(torch.randn(9, 5)).shape == (9, 3)


def test_mlp_flattens_its_input():
    model = MLP(in_features=12, out_features=2, hidden_sizes=[4])
    assert model(torch.randn(3, 3, 4)).shape == (3, 2)


@pytest.mark.parametrize(
    ("activation", "cls", "function"),
    [
        ("relu", nn.ReLU, torch.relu),
        ("gelu", nn.GELU, nn.functional.gelu),
        ("tanh", nn.Tanh, torch.tanh),
        ("sigmoid", nn.Sigmoid, torch.sigmoid),
    ],
)
def test_mlp_activation(activation, cls, function):
    model = MLP(in_features=4, out_features=2, hidden_sizes=[6, 5], activation=activation)
    assert len(_layers(model, cls)) == 2
    first, _, second, _, head = model.layers  # Linear, activation, Linear, activation, Linear
    x = torch.randn(3, 4)
    torch.testing.assert_close(model(x), head(function(second(function(first(x))))))


def test_mlp_dropout_adds_dropout_layers_active_only_in_training():
    model = MLP(in_features=4, out_features=2, hidden_sizes=[64, 64], dropout=0.5)
    dropouts = _layers(model, nn.Dropout)
    assert [d.p for d in dropouts] == [0.5, 0.5]
    assert _layers(MLP(in_features=4, out_features=2, hidden_sizes=[8]), nn.Dropout) == []
    x = torch.randn(16, 4)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    assert not torch.equal(model(x), model(x))


def test_mlp_batch_norm_adds_batchnorm1d_after_each_hidden_linear():
    model = MLP(in_features=4, out_features=2, hidden_sizes=[8, 6], batch_norm=True)
    norms = _layers(model, nn.BatchNorm1d)
    assert [n.num_features for n in norms] == [8, 6]
    kinds = [type(m) for m in model.layers]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert _layers(MLP(in_features=4, out_features=2), nn.BatchNorm1d) == []
    assert model(torch.randn(5, 4)).shape == (5, 2)


def test_mlp_accepts_a_config_object():
    config = MLPConfig(in_features=3, out_features=2, hidden_sizes=(4,))
    model = MLP(config)
    assert model.config is config
    assert model(torch.randn(2, 3)).shape == (2, 2)


# ---- CNN -----------------------------------------------------------------------------------------
def test_cnn_accepts_flat_and_image_inputs_alike():
    torch.manual_seed(0)
    model = CNN(in_channels=3, image_size=(12, 10), out_features=5, channels=(4, 8), hidden_size=16).eval()
    images = torch.randn(6, 3, 12, 10)
    out = model(images)
    assert out.shape == (6, 5)
    torch.testing.assert_close(model(images.reshape(6, -1)), out)


def test_cnn_layers_follow_the_config():
    model = CNN(in_channels=1, image_size=(28, 28), out_features=10, channels=(4, 8, 16), hidden_size=32)
    convs = _layers(model, nn.Conv2d)
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 4), (4, 8), (8, 16)]
    assert len(_layers(model, nn.BatchNorm2d)) == 3 and all(c.bias is None for c in convs)
    head = _layers(model, nn.Linear)
    assert head[0].in_features == 16 * 3 * 3  # 28 -> 14 -> 7 -> 3
    assert head[-1].out_features == 10
    assert model(torch.zeros(2, 784)).shape == (2, 10)


def test_cnn_without_batch_norm_has_conv_biases():
    model = CNN(in_channels=1, image_size=(8, 8), out_features=2, channels=(4,), batch_norm=False)
    assert _layers(model, nn.BatchNorm2d) == []
    assert _layers(model, nn.Conv2d)[0].bias is not None


# ---- describe and build ----------------------------------------------------------------------------
MODELS = [
    lambda: LinearRegressionNet(in_features=4, out_features=2),
    lambda: LogisticRegressionNet(in_features=4, num_classes=3),
    lambda: LinearSVM(in_features=4, num_classes=2),
    lambda: MLP(in_features=4, out_features=3, hidden_sizes=[7, 5], activation="tanh", dropout=0.1, batch_norm=True),
    lambda: CNN(in_channels=2, image_size=(8, 6), out_features=3, channels=(3, 5), hidden_size=9),
]


@pytest.mark.parametrize("make", MODELS, ids=["linear", "logistic", "svm", "mlp", "cnn"])
def test_describe_and_build_round_trip_through_json(make):
    torch.manual_seed(0)
    model = make().eval()
    name, config = describe(model)
    assert REGISTRY[name] is type(model)
    rebuilt = build(*json.loads(json.dumps([name, config])))
    assert type(rebuilt) is type(model)
    assert rebuilt.config == model.config
    assert describe(rebuilt) == (name, config)
    assert str(rebuilt) == str(model)  # the same architecture, layer by layer
    rebuilt.load_state_dict(model.state_dict())  # strict: every key and shape matches
    rebuilt.eval()
    x = torch.randn(3, 4) if name != "cnn" else torch.randn(3, 2 * 8 * 6)
    torch.testing.assert_close(rebuilt(x), model(x))


def test_registry_names():
    assert {"linear", "logistic", "svm", "mlp", "cnn"} <= set(REGISTRY)


def test_describe_rejects_a_plain_module():
    with pytest.raises(TypeError, match="Linear is not a registered learnable model"):
        describe(nn.Linear(2, 2))


def test_build_unknown_model_name():
    with pytest.raises(ValueError, match=r"unknown model 'transformer'; known models are .*'mlp'"):
        build("transformer", {})


def test_build_unknown_config_keys():
    with pytest.raises(ValueError, match=r"config for model 'mlp' has unknown settings \['depth', 'width'\]"):
        build("mlp", {"in_features": 2, "out_features": 1, "width": 3, "depth": 2})


# ---- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LinearRegressionNet(in_features=0), r"linear in_features=0 must be a whole number >= 1"),
        (lambda: LinearRegressionNet(in_features=3, out_features=-1), r"out_features=-1 must be a whole number >= 1"),
        (lambda: LinearRegressionNet(in_features=2.5), r"in_features=2.5 must be a whole number >= 1"),
        (lambda: LogisticRegressionNet(in_features=3, num_classes=1), r"num_classes=1 must be a whole number >= 2"),
        (lambda: LinearSVM(in_features=0), r"svm in_features=0 must be a whole number >= 1"),
        (lambda: MLP(in_features=True, out_features=2), r"MLP in_features=True must be a whole number >= 1"),
        (lambda: MLP(in_features=3, out_features=2, hidden_sizes=[4, 0]), r"hidden_sizes\[1\]=0 must be a whole"),
        (lambda: CNN(in_channels=0, image_size=(8, 8), out_features=2), r"CNN in_channels=0 must be a whole number"),
        (lambda: CNN(in_channels=1, image_size=(8, 8), out_features=2, channels=(4, -2)), r"channels\[1\]=-2"),
    ],
)
def test_bad_sizes(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_activation():
    with pytest.raises(ValueError, match=r"MLP activation='swish' is not known; choose one of .*'gelu'"):
        MLP(in_features=3, out_features=2, activation="swish")


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 2])
def test_dropout_out_of_range(dropout):
    with pytest.raises(ValueError, match=r"MLP dropout=.* must be a number >= 0 and < 1"):
        MLP(in_features=3, out_features=2, dropout=dropout)
    with pytest.raises(ValueError, match=r"CNN dropout=.* must be a number >= 0 and < 1"):
        CNN(in_channels=1, image_size=(8, 8), out_features=2, dropout=dropout)


def test_config_and_keyword_settings_both_given():
    with pytest.raises(TypeError, match="MLP: pass a config or keyword settings, not both"):
        MLP(MLPConfig(in_features=3, out_features=2), dropout=0.1)


def test_wrong_config_type():
    with pytest.raises(TypeError, match="MLP takes a MLPConfig, got LinearClassifierConfig"):
        MLP(LinearClassifierConfig(in_features=3))
    with pytest.raises(TypeError, match="CNN takes a CNNConfig, got dict"):
        CNN({"in_channels": 1, "image_size": (8, 8), "out_features": 2})


def test_unknown_or_missing_keyword_settings_list_the_known_ones():
    with pytest.raises(TypeError, match=r"MLP: .*'width'.*its settings are \['in_features', 'out_features'"):
        MLP(in_features=3, out_features=2, width=5)
    with pytest.raises(TypeError, match=r"LinearRegressionNet: .*in_features.*its settings are"):
        LinearRegressionNet()


@pytest.mark.parametrize(("image_size", "channels"), [((3, 8), (4, 8)), ((8, 8), (2, 2, 2, 2))])
def test_cnn_image_too_small_for_its_blocks(image_size, channels):
    needed = 2 ** len(channels)
    with pytest.raises(ValueError, match=rf"too small for {len(channels)} blocks .* at least {needed} pixels"):
        CNN(in_channels=1, image_size=image_size, out_features=2, channels=channels)


def test_cnn_image_size_must_have_two_sides():
    with pytest.raises(ValueError, match=r"CNN image_size=\(8, 8, 8\)"):
        CNN(in_channels=1, image_size=(8, 8, 8), out_features=2)


def test_cnn_config_dataclass_is_accepted():
    config = CNNConfig(in_channels=1, image_size=[4, 4], out_features=2, channels=[2])
    model = CNN(config)
    assert model.config.image_size == (4, 4) and model.config.channels == (2,)
    assert model(torch.randn(3, 16)).shape == (3, 2)


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (lambda: CNN(in_channels=1, image_size=28, out_features=2), "image_size"),
        (lambda: MLP(in_features=3, out_features=2, hidden_sizes=64), "hidden_sizes"),
    ],
)
def test_a_single_number_for_a_sequence_setting_is_a_clear_error(make, setting):
    with pytest.raises((TypeError, ValueError), match=setting):
        make()
