"""The model surface: every learnable model is an ``nn.Module`` built from one config dataclass.

A saved model is its config as JSON plus its weights, so loading rebuilds the module from the
registry by name and never unpickles anything. Register a new model with :func:`register`.

Example:
    >>> from learnable.models import MLP, build
    >>> model = MLP(in_features=4, out_features=3, hidden_sizes=[8])
    >>> name, config = describe(model)
    >>> type(build(name, config)).__name__
    'MLP'
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from learnable.utils.validation import check_count, check_number

REGISTRY: dict[str, type[ConfigModule]] = {}


class ConfigModule(nn.Module):
    """An ``nn.Module`` whose constructor takes one config dataclass (or its fields as keywords)."""

    name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config: Any = None, **fields: Any) -> None:
        super().__init__()
        if config is None:
            try:
                config = self.config_class(**fields)
            except TypeError as error:
                known = [f.name for f in dataclasses.fields(self.config_class)]
                raise TypeError(f"{type(self).__name__}: {error}; its settings are {known}.") from None
        elif fields:
            raise TypeError(f"{type(self).__name__}: pass a config or keyword settings, not both.")
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}."
            )
        self.config = config


def check_sizes(model: str, **sizes: int) -> None:
    """Raise a clear error unless every size is a whole number >= 1 (a NumPy integer too)."""
    for name, value in sizes.items():
        check_count(name, value, 16, owner=model)


def check_dropout(model: str, dropout: Any) -> None:
    """Raise a clear error unless ``dropout`` is a probability in [0, 1)."""
    check_number("dropout", dropout, 0, 1, "0.1", high_open=True, owner=model)


def check_token_ids(model: str, ids: torch.Tensor) -> None:
    """Raise unless ``ids`` are integer token ids shaped (batch, length), as a Tokenizer gives them."""
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{model} takes token ids, int64 of shape (batch, length); got {ids.dtype} of shape "
                        f"{tuple(ids.shape)}. Pass integer token ids: encode text with learnable.data.tokenizer.")
    if ids.ndim != 2:
        raise ValueError(f"{model} takes token ids shaped (batch, time), got shape {tuple(ids.shape)}.")


def register(cls: type[ConfigModule]) -> type[ConfigModule]:
    """Class decorator: make ``cls`` buildable by its ``name`` from a saved config."""
    REGISTRY[cls.name] = cls
    return cls


def describe(model: nn.Module) -> tuple[str, dict[str, Any]]:
    """Return ``(name, config dict)`` for a registered model, ready for JSON."""
    name = getattr(model, "name", None)
    if not isinstance(model, ConfigModule) or REGISTRY.get(name) is not type(model):
        raise TypeError(
            f"{type(model).__name__} is not a registered learnable model, so it cannot be rebuilt "
            "from JSON. Save its weights with safetensors.torch.save_model and rebuild it in code."
        )
    return name, dataclasses.asdict(model.config)


def build(name: str, config: dict[str, Any]) -> ConfigModule:
    """Rebuild a registered model from its name and config dict (as saved in model.json)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {str(name)[:60]!r}; known models are {sorted(REGISTRY)}.")
    cls = REGISTRY[name]
    known = {f.name for f in dataclasses.fields(cls.config_class)}
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"config for model {name!r} has unknown settings {str(sorted(unknown)[:5]):.200}.")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return cls(cls.config_class(**fields))
