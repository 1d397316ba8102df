"""Models: ``nn.Module`` classes built from a config dataclass, rebuildable from JSON."""

from learnable.models.autoencoder import Autoencoder, AutoencoderConfig, ConvAutoencoder, ConvAutoencoderConfig
from learnable.models.base import REGISTRY, ConfigModule, build, describe, register
from learnable.models.cnn import CNN, CNNConfig
from learnable.models.linear import (
    LinearClassifierConfig,
    LinearRegressionConfig,
    LinearRegressionNet,
    LinearSVM,
    LogisticRegressionNet,
)
from learnable.models.mlp import MLP, MLPConfig
from learnable.models.recurrent_lm import LSTMLanguageModel, LSTMLanguageModelConfig
from learnable.models.rnn import RNN, RNNConfig
from learnable.models.text import TextClassifier, TextClassifierConfig
from learnable.models.transformer import GPT, GPTConfig

__all__ = [
    "Autoencoder",
    "AutoencoderConfig",
    "ConvAutoencoder",
    "ConvAutoencoderConfig",
    "CNN",
    "CNNConfig",
    "GPT",
    "GPTConfig",
    "LSTMLanguageModel",
    "LSTMLanguageModelConfig",
    "MLP",
    "REGISTRY",
    "ConfigModule",
    "LinearClassifierConfig",
    "LinearRegressionNet",
    "LinearRegressionConfig",
    "LinearSVM",
    "LogisticRegressionNet",
    "MLPConfig",
    "RNN",
    "RNNConfig",
    "TextClassifier",
    "TextClassifierConfig",
    "build",
    "describe",
    "register",
]
