"""The autoencoders: reconstruction shapes, layers from the config, JSON round trips, config errors,
and a dense autoencoder that learns a 2-D subspace about as well as PCA (scikit-learn as the oracle)."""

import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from torch import nn

from learnable import Learner
from learnable.models import (
    REGISTRY,
    Autoencoder,
    AutoencoderConfig,
    ConvAutoencoder,
    ConvAutoencoderConfig,
    build,
    describe,
)


def _layers(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


# ---- dense ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 64), (5, 1, 8, 8), (5, 4, 4, 4)])
def test_dense_reconstruction_has_the_input_shape(shape):
    model = Autoencoder(in_features=64, hidden_sizes=(32, 16), latent_size=3)
    x = torch.randn(shape)
    assert model(x).shape == shape
    assert model.encode(x).shape == (5, 3)
    assert model.decode(torch.randn(5, 3)).shape == (5, 64)


def test_dense_decoder_mirrors_the_encoder():
    model = Autoencoder(in_features=20, hidden_sizes=(16, 8), latent_size=2)
    widths = [(m.in_features, m.out_features) for m in _layers(model.encoder, nn.Linear)]
    assert widths == [(20, 16), (16, 8), (8, 2)]
    widths = [(m.in_features, m.out_features) for m in _layers(model.decoder, nn.Linear)]
    assert widths == [(2, 8), (8, 16), (16, 20)]
    assert isinstance(model.encoder[-1], nn.Linear)  # a linear code
    assert isinstance(model.decoder[-1], nn.Linear)  # and a linear output


def test_dense_forward_is_decode_of_encode():
    model = Autoencoder(in_features=12, hidden_sizes=(8,), latent_size=2, activation="tanh", dropout=0.2).eval()
    x = torch.randn(7, 12)
    expected = model.decoder(model.encoder(x))  # the plain Sequential parts as the oracle
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
    assert len(_layers(model, nn.Tanh)) == 2 and len(_layers(model, nn.Dropout)) == 2


def test_dense_autoencoder_learns_a_plane_about_as_well_as_pca():
    generator = np.random.default_rng(0)
    codes = generator.normal(size=(600, 2))
    X = (codes @ generator.normal(size=(2, 10)) + 0.05 * generator.normal(size=(600, 10))).astype(np.float32)
    pca = PCA(n_components=2).fit(X[:500])
    pca_error = np.mean((pca.inverse_transform(pca.transform(X[500:])) - X[500:]) ** 2)
    torch.manual_seed(0)
    model = Autoencoder(in_features=10, hidden_sizes=(32,), latent_size=2)
    learner = Learner(model, (X[:500], X[:500]), loss="mse", lr=3e-3, batch_size=50, validation=(X[500:], X[500:]),
                      progress=False, statistics=None, seed=0)
    learner.fit(60)
    total = np.mean((X[500:] - X[500:].mean(0)) ** 2)
    assert learner.history[-1]["val_loss"] < 0.05 * total  # the plane explains almost everything
    assert learner.history[-1]["val_loss"] < 2 * pca_error  # and gets near PCA's error (0.0026 against 0.0020)
    assert learner.history[-1]["val_loss"] < 0.2 * learner.history[0]["val_loss"]


# ---- convolutional -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("image_size", "channels"), [((28, 28), (16, 32)), ((8, 8), (4, 8)), ((7, 9), (4, 8)),
                                                      ((5, 13), (4,)), ((32, 32), (2, 4, 8))])
def test_conv_reconstruction_has_the_input_shape(image_size, channels):
    model = ConvAutoencoder(in_channels=2, image_size=image_size, channels=channels, latent_size=5)
    images = torch.randn(3, 2, *image_size)
    assert model(images).shape == images.shape
    assert model(images.flatten(1)).shape == (3, 2 * image_size[0] * image_size[1])
    assert model.encode(images).shape == (3, 5)
    assert model.decode(torch.randn(3, 5)).shape == images.shape


def test_conv_flat_and_image_inputs_give_the_same_reconstruction():
    model = ConvAutoencoder(in_channels=1, image_size=(8, 8), channels=(4, 8), latent_size=3).eval()
    images = torch.randn(4, 1, 8, 8)
    torch.testing.assert_close(model(images.flatten(1)), model(images).flatten(1), rtol=0, atol=0)


def test_conv_layers_follow_the_config():
    model = ConvAutoencoder(in_channels=3, image_size=(28, 28), channels=(16, 32), latent_size=8)
    convs = _layers(model.encoder, nn.Conv2d)
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [(3, 16, (2, 2)), (16, 32, (2, 2))]
    ups = _layers(model.decoder, nn.ConvTranspose2d)
    assert [(c.in_channels, c.out_channels) for c in ups] == [(32, 16), (16, 3)]
    assert model.sizes == [(28, 28), (14, 14), (7, 7)]
    assert model.encoder[-1].in_features == 32 * 7 * 7 and model.encoder[-1].out_features == 8
    assert isinstance(model.decoder[-1], nn.ConvTranspose2d)  # a linear output, no ReLU clipping


def test_conv_encoder_matches_torch_functional_ops():
    model = ConvAutoencoder(in_channels=1, image_size=(8, 8), channels=(4,), latent_size=2).eval()
    images = torch.randn(2, 1, 8, 8)
    conv, norm, linear = model.encoder[0], model.encoder[1], model.encoder[-1]
    x = torch.nn.functional.conv2d(images, conv.weight, stride=2, padding=1)  # (2, 4, 4, 4)
    x = torch.nn.functional.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias).relu()
    torch.testing.assert_close(model.encode(images), x.flatten(1) @ linear.weight.T + linear.bias)


# ---- JSON round trip ---------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [
    Autoencoder(in_features=64, hidden_sizes=(32, 16), latent_size=2, activation="gelu", dropout=0.1),
    ConvAutoencoder(in_channels=1, image_size=(8, 8), channels=(4, 8), latent_size=6),
])
def test_models_are_registered_and_rebuilt_from_json(model):
    name, config = describe(model)
    assert REGISTRY[name] is type(model)
    rebuilt = build(name, json.loads(json.dumps(config)))
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(3, 64)
    torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x), rtol=0, atol=0)


def test_the_two_models_have_distinct_names():
    assert Autoencoder.name != ConvAutoencoder.name
    assert REGISTRY["autoencoder"] is Autoencoder and REGISTRY["conv_autoencoder"] is ConvAutoencoder


def test_configs_can_be_passed_as_dataclasses():
    assert Autoencoder(AutoencoderConfig(in_features=4, hidden_sizes=(3,))).config.latent_size == 2
    assert ConvAutoencoder(ConvAutoencoderConfig(in_channels=1, image_size=[8, 8])).config.image_size == (8, 8)


# ---- config errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"in_features": 0}, ValueError, r"in_features=0 must be a whole number >= 1"),
    ({"in_features": 8, "latent_size": 0}, ValueError, r"latent_size=0 must be a whole number >= 1"),
    ({"in_features": 8, "hidden_sizes": 16}, TypeError, r"hidden_sizes=16 must be a list of layer widths"),
    ({"in_features": 8, "hidden_sizes": (16, -1)}, ValueError, r"hidden_sizes\[1\]=-1"),
    ({"in_features": 8, "activation": "swish"}, ValueError, r"activation='swish' is not known; choose one of"),
    ({"in_features": 8, "dropout": 1.0}, ValueError, r"dropout=1.0 must be a number >= 0 and < 1"),
    ({"in_features": 8, "width": 3}, TypeError, r"its settings are \['in_features'"),
])
def test_dense_config_errors(fields, error, message):
    with pytest.raises(error, match=message):
        Autoencoder(**fields)


@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"in_channels": 1, "image_size": 28}, TypeError, r"image_size=28 must be a list or tuple, e.g. \(28, 28\)"),
    ({"in_channels": 1, "image_size": (28, 28, 1)}, ValueError, r"must be \(height, width\)"),
    ({"in_channels": 1, "image_size": (3, 8)}, ValueError, r"too small for 2 blocks .* at least 4 pixels per side"),
    ({"in_channels": 1, "image_size": (8, 8), "channels": ()}, ValueError, r"channels=\(\) is empty"),
    ({"in_channels": 0, "image_size": (8, 8)}, ValueError, r"in_channels=0 must be a whole number >= 1"),
    ({"in_channels": 1, "image_size": (8, 8), "latent_size": 2.5}, ValueError, r"latent_size=2.5"),
    ({"in_channels": 1, "image_size": (8, 8.0)}, ValueError, r"image_size\[1\]=8.0"),
])
def test_conv_config_errors(fields, error, message):
    with pytest.raises(error, match=message):
        ConvAutoencoder(**fields)


def test_build_rejects_unknown_settings():
    with pytest.raises(ValueError, match=r"config for model 'conv_autoencoder' has unknown settings \['depth'\]"):
        build("conv_autoencoder", {"in_channels": 1, "image_size": [8, 8], "depth": 3})
