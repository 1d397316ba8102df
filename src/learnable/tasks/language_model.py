"""Character-level language models: learn to continue text in the style of a corpus, and say how
likely a sentence is.

:func:`train_language_model` learns a character vocabulary on the training part of a text, holds out
its last ``validation`` fraction (one contiguous piece, so nothing of it is seen in training), and
trains a :class:`~learnable.models.GPT` or an :class:`~learnable.models.LSTMLanguageModel` with the
:class:`~learnable.train.Learner` to predict each character from the ones before it. The result, a
:class:`LanguageModel`, writes text (:meth:`~LanguageModel.generate`), scores it
(:meth:`~LanguageModel.score`) and saves as safetensors + JSON (no pickle).

Quality is measured in bits per character: the average number of bits the model needs to encode
each next character, ``-log2 p(character | the ones before)``; lower is better. The baseline is a
unigram model (character frequencies of the training text, add-one smoothed), which ignores context.

Example:
    >>> import learnable
    >>> text = learnable.data.datasets.load_corpus()          # Shakespeare, ~110 KB, public domain
    >>> model = train_language_model(text, num_epochs=1)       # doctest: +SKIP
    >>> model.generate("ROMEO:", length=100, seed=0)           # doctest: +SKIP
    >>> model.score("To be, or not to be")                     # doctest: +SKIP
    (-1.52, 2.19)
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from learnable.callbacks.basic import EarlyStopping, GradientClipping, LRSchedule
from learnable.callbacks.events import Callback
from learnable.data.loader import check_batch_size
from learnable.data.text_windows import WindowLoader, validation_windows
from learnable.data.tokenizer import Tokenizer
from learnable.model_file import load_model, save_model
from learnable.models.recurrent_lm import LSTMLanguageModel, LSTMLanguageModelConfig
from learnable.models.transformer import GPT, GPTConfig
from learnable.optim.optimizers import OptimizerConfig
from learnable.train.learner import Learner, check_num_epochs
from learnable.train.seed import seed_everything
from learnable.utils.validation import check_count, check_number, check_positive, check_seed, quote, whole

GREEDY_BELOW = 1e-3  # a temperature below this always takes the most likely character
UNGENERATED = 2  # ids 0 (padding) and 1 (unknown) are never generated


@dataclass
class LanguageModelRecipe:
    """How :func:`train_language_model` builds and trains one of its models (``RECIPES[name]``) when given no
    settings."""

    config: GPTConfig | LSTMLanguageModelConfig  # vocab_size is set from the learned vocabulary
    lr: float
    num_epochs: int
    batch_size: int = 16  # more, smaller steps beat fewer large ones in a short run on a CPU
    patience: int = 3


RECIPES = {  # sized to train in about two minutes on one CPU core (no dropout: such short runs do not overfit)
    "transformer": LanguageModelRecipe(
        GPTConfig(0, context_length=64, embed_dim=96, num_heads=4, num_layers=3, dropout=0.0), lr=3e-3, num_epochs=12),
    "lstm": LanguageModelRecipe(
        LSTMLanguageModelConfig(0, embed_dim=48, hidden_size=192, num_layers=2, dropout=0.0), lr=5e-3, num_epochs=8),
}
MODEL_NAMES = tuple(RECIPES)


class BitsPerCharacter(Callback):
    """Adds ``val_bits_per_char`` (the validation loss in bits: nats / ln 2) to each epoch's metrics."""

    def after_validate(self, learner: Learner) -> None:
        learner.metrics["val_bits_per_char"] = learner.metrics["val_loss"] / math.log(2)


# ---- training ---------------------------------------------------------------------------------------------
def train_language_model(
    text: str,
    *,
    model: str | GPTConfig | LSTMLanguageModelConfig = "transformer",
    context_length: int | None = None,
    num_epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    validation: float = 0.1,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
) -> LanguageModel:
    """Train a character-level language model on ``text`` and return it.

    Args:
        text: the training text (a few hundred KB trains in minutes on a CPU).
        model: "transformer" (a :class:`GPT`), "lstm" (an :class:`LSTMLanguageModel`), or a
            ``GPTConfig`` / ``LSTMLanguageModelConfig`` with the sizes you want (its vocab_size is
            replaced by the size of the learned vocabulary).
        context_length: characters per training window, and the most a prediction looks back
            (default: the GPT config's context_length, else 64).
        num_epochs: the most epochs (one epoch reads about as many characters as the training part
            holds); early stopping on the validation loss may end sooner.
        lr, batch_size: AdamW's peak learning rate (warm-up, then cosine decay) and windows per batch.
        validation: the fraction at the END of the text held out, in one piece, for early stopping
            and the validation bits per character.
        seed, device, progress, callbacks: as for :class:`~learnable.train.Learner`.

    Example:
        >>> tiny = GPTConfig(0, context_length=16, embed_dim=32, num_heads=2, num_layers=1, dropout=0.0)
        >>> model = train_language_model("abc" * 200, model=tiny, num_epochs=15, lr=1e-2, batch_size=8)
        >>> model.generate("abca", length=6, temperature=0)
        'abcabcabca'
    """
    start = time.perf_counter()
    plan = _plan(text, model, context_length, num_epochs, lr, batch_size, validation)
    seed_everything(seed)
    tokenizer = Tokenizer.learn([plan.train_text], level="char")  # from the training part only
    train_ids = torch.tensor(tokenizer.encode(plan.train_text), dtype=torch.long)  # (N_train,)
    val_ids = torch.tensor(tokenizer.encode(plan.val_text), dtype=torch.long)  # (N_val,): unseen characters -> 1
    network = _build(plan.recipe.config, len(tokenizer))
    stopper = EarlyStopping(patience=plan.recipe.patience)
    learner = Learner(
        network,
        WindowLoader(train_ids, plan.context_length, plan.recipe.batch_size, seed=seed),
        loss="cross_entropy",
        optimizer=OptimizerConfig("adamw", lr=plan.recipe.lr, weight_decay=0.01),
        validation=validation_windows(val_ids, plan.context_length),
        callbacks=[LRSchedule("cosine", warmup=0.05), GradientClipping(1.0), BitsPerCharacter(), stopper, *callbacks],
        device=device,
        seed=seed,
        progress=progress,
    )
    learner.fit(plan.recipe.num_epochs)
    fitted = LanguageModel(learner.model, tokenizer, context_length=plan.context_length)
    fitted.history_ = learner.history
    fitted.metrics_ = {
        "val_bits_per_char": -fitted.log_likelihoods(val_ids).mean().item() / math.log(2),
        "unigram_bits_per_char": unigram_bits_per_char(train_ids, val_ids[1:], len(tokenizer)),
        "train_chars": len(train_ids),
        "val_chars": len(val_ids),
    }
    fitted.training_ = {
        "model": "transformer" if isinstance(network, GPT) else "lstm", "context_length": plan.context_length,
        "parameters": sum(p.numel() for p in network.parameters()), "epochs": learner.epoch, "steps": learner.step,
        "best_epoch": stopper.best_epoch or learner.epoch, "batch_size": plan.recipe.batch_size,
        "lr": plan.recipe.lr, "seed": seed, "stop_reason": learner.stop_reason, "seconds": time.perf_counter() - start,
    }
    return fitted


def check_settings(text: Any, *, model: Any = "transformer", context_length: Any = None, num_epochs: Any = None,
                   lr: Any = None, batch_size: Any = None, validation: Any = 0.1) -> None:
    """Raise the error :func:`train_language_model` would raise for these settings, before anything is
    trained or recorded (the command line checks with it before it records a run)."""
    _plan(text, model, context_length, num_epochs, lr, batch_size, validation)


@dataclass
class _Plan:
    recipe: LanguageModelRecipe  # with the lr, num_epochs and batch_size to use
    context_length: int
    train_text: str
    val_text: str


def _plan(text: Any, model: Any, context_length: Any, num_epochs: Any, lr: Any, batch_size: Any,
          validation: Any) -> _Plan:
    """Check every setting and fill in the recipe's defaults; cut the text into its two parts."""
    if isinstance(model, (GPTConfig, LSTMLanguageModelConfig)):  # the user's sizes, the recipe's training
        recipe = dataclasses.replace(RECIPES["transformer" if isinstance(model, GPTConfig) else "lstm"], config=model)
    elif isinstance(model, str) and model in RECIPES:
        recipe = RECIPES[model]
    else:
        raise ValueError(f"unknown language model {model!r}; choose one of {list(MODEL_NAMES)}, or pass a "
                         "GPTConfig or an LSTMLanguageModelConfig.")
    if context_length is not None:
        check_count("context_length", context_length, 64)
    config = recipe.config
    if isinstance(config, GPTConfig) and context_length is not None:
        if isinstance(model, GPTConfig) and model.context_length != context_length:
            raise ValueError(f"context_length={context_length} differs from the GPTConfig's context_length="
                             f"{model.context_length}; give one of them.")
        config = dataclasses.replace(config, context_length=context_length)
    context = config.context_length if isinstance(config, GPTConfig) else context_length or 64
    train_text, val_text = _split(text, validation, context)
    recipe = LanguageModelRecipe(config, lr=recipe.lr if lr is None else lr, patience=recipe.patience,
                    num_epochs=recipe.num_epochs if num_epochs is None else num_epochs,
                    batch_size=recipe.batch_size if batch_size is None else batch_size)
    OptimizerConfig("adamw", lr=recipe.lr).check()
    check_num_epochs(recipe.num_epochs)
    check_batch_size(recipe.batch_size)
    return _Plan(recipe, context, train_text, val_text)


def _split(text: Any, validation: Any, context_length: int) -> tuple[str, str]:
    """The text cut in two at ``1 - validation``: the training part first, the held-out end second."""
    if not isinstance(text, str):
        raise TypeError(f"a language model learns from text (str), got {type(text).__name__}.")
    check_number("validation", validation, 0, 0.5, "0.1 (the last tenth of the text)", low_open=True)
    cut = round(len(text) * (1 - validation))
    train_text, val_text = text[:cut], text[cut:]
    if len(train_text) < context_length + 1 or len(val_text) < 2:
        raise ValueError(
            f"the text has {len(text)} characters: too few to train on windows of context_length + 1 = "
            f"{context_length + 1} characters and hold out {validation:g} of it (at least 2 characters) "
            "for validation. Pass a longer text or a smaller context_length."
        )
    return train_text, val_text


def _build(config: GPTConfig | LSTMLanguageModelConfig, vocab_size: int) -> nn.Module:
    config = dataclasses.replace(config, vocab_size=vocab_size)
    return GPT(config) if isinstance(config, GPTConfig) else LSTMLanguageModel(config)


def unigram_bits_per_char(train_ids: torch.Tensor, target_ids: torch.Tensor, vocab_size: int) -> float:
    """Bits per character of a model that ignores context: the cross-entropy, in bits, of the training
    ids' frequencies (add-one smoothed over ids 1..vocab_size-1, so unseen characters get some
    probability) on ``target_ids``."""
    counts = torch.bincount(train_ids, minlength=vocab_size)[1:].double() + 1.0  # ids 1.. (padding never occurs)
    log2_p = torch.log2(counts / counts.sum())  # (vocab_size - 1,)
    return -log2_p[target_ids - 1].mean().item()


# ---- the trained model ---------------------------------------------------------------------------------------
class LanguageModel:
    """A trained character-level language model: a network, its vocabulary and its context length.

    Built by :func:`train_language_model` and :meth:`load`, not by the user: a result of training, so it
    holds only learned state and every attribute ends in ``_``.

    Attributes (set by :func:`train_language_model`, kept by :meth:`save`):
        network_: the trained :class:`GPT` or :class:`LSTMLanguageModel` (on the CPU, in eval mode).
        tokenizer_: the character vocabulary learned on the training part of the text.
        context_length_: the most characters a prediction looks back (the training windows' length).
        metrics_: ``val_bits_per_char``, ``unigram_bits_per_char``, ``train_chars``, ``val_chars``.
        training_: the model ("transformer" or "lstm"), parameters, epochs, steps, batch size, lr, seed, seconds.
        history_: one dict of metrics per epoch.
    """

    kind = "language_model"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, network: nn.Module, tokenizer: Tokenizer, *, context_length: int) -> None:
        if not isinstance(network, (GPT, LSTMLanguageModel)):
            raise TypeError(f"a LanguageModel holds a GPT or an LSTMLanguageModel, got {type(network).__name__}.")
        self.network_ = network.cpu().eval()
        self.tokenizer_ = tokenizer
        self.context_length_ = context_length
        self.metrics_: dict[str, Any] = {}
        self.training_: dict[str, Any] = {}
        self.history_: list[dict[str, Any]] = []

    def log_likelihoods(self, ids: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """``log p(ids[j] | ids[j-T:j])`` for j = 1..len(ids)-1 (natural log), shape (len(ids) - 1,).

        Each id after the first is predicted from the ones before it, at most ``context_length_``
        of them. A stream longer than the context is read in windows of ``context_length_`` that
        advance by half of it; each window scores only the ids not scored yet, so every id after
        the first half-window has at least ``context_length_ / 2`` ids of context.
        """
        T, n = self.context_length_, len(ids)
        ends = [n - 1] if n - 1 <= T else [*range(T, n - 1, max(1, T // 2)), n - 1]  # where each window ends
        length = min(T, n - 1)
        starts = torch.tensor([end - length for end in ends])  # (W,)
        index = starts[:, None] + torch.arange(length + 1)  # (W, L+1)
        windows = ids[index]
        scores = []
        with torch.no_grad():
            for chunk in windows.split(batch_size):
                log_p = torch.log_softmax(self.network_(chunk[:, :-1]).float(), dim=-1)  # (w, L, V)
                scores.append(log_p.gather(-1, chunk[:, 1:, None]).squeeze(-1))  # (w, L)
        scores = torch.cat(scores)  # (W, L): the log-probability of each window's targets
        new = [ends[0], *(b - a for a, b in zip(ends, ends[1:], strict=False))]  # targets each window adds
        return torch.cat([row[length - count :] for row, count in zip(scores, new, strict=True)])

    def score(self, text: str) -> tuple[float, float]:
        """How likely ``text`` is: (mean log-likelihood per character in nats, bits per character).

        The first character is only context (it is not scored); every later character is scored
        given the ones before it (see :meth:`log_likelihoods`). Characters the model never saw in
        training count as its "unknown" token. Higher nats (closer to 0) and fewer bits mean likelier.
        """
        if not isinstance(text, str):
            raise TypeError(f"score takes text (str), got {type(text).__name__}.")
        if len(text) < 2:
            raise ValueError(
                f"score needs at least 2 characters (the first is only context), got {len(text)}: {text!r}."
            )
        nats = self.log_likelihoods(torch.tensor(self.tokenizer_.encode(text), dtype=torch.long)).mean().item()
        return nats, -nats / math.log(2)

    def generate(self, prompt: str, length: int = 200, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = None) -> str:
        """The ``prompt`` followed by ``length`` characters written by the model, one at a time.

        Each character is drawn from the model's next-character distribution given the last
        ``context_length_`` characters: the logits are divided by ``temperature`` (below 1: safer;
        above 1: wilder; 0 or below 1e-3: always the most likely character), and with ``top_k`` only
        the k most likely characters can be drawn. Prompt characters the model never saw count as
        its unknown token; padding and the unknown token are never written. ``seed`` makes it repeatable.
        """
        _check_generate(prompt, length, temperature, top_k, seed)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        ids = torch.tensor(self.tokenizer_.encode(prompt), dtype=torch.long)  # (P,)
        written: list[int] = []
        with torch.no_grad():
            for _ in range(length):
                logits = self.network_(ids[-self.context_length_ :][None])[0, -1].float()  # (V,): the next character
                next_id = _pick(logits, temperature, top_k, generator)
                ids = torch.cat([ids, next_id.view(1)])
                written.append(int(next_id))
        return prompt + self.tokenizer_.decode(written)

    def save(self, directory: str | Path) -> Path:
        """Save as ``model.safetensors`` + ``model.json`` (vocabulary, settings, metrics) in ``directory``."""
        state = {"context_length": self.context_length_, "tokenizer": self.tokenizer_.to_dict(),
                 "metrics": self.metrics_, "training": self.training_}
        return save_model(directory, self.network_, {self.kind: state, "history": self.history_})

    @classmethod
    def load(cls, directory: str | Path) -> LanguageModel:
        """Load a language model saved by :meth:`save`; never unpickles."""
        network, info = load_model(directory)
        state = info.get(cls.kind)
        if not isinstance(state, dict) or not isinstance(network, (GPT, LSTMLanguageModel)):
            raise ValueError(
                f"'{directory}' is not a language model: it holds {type(network).__name__} weights and no vocabulary. "
                "Load it with learnable.load, or train one with `learnable train --task language-model`."
            )
        try:
            tokenizer, context_length = Tokenizer.from_dict(state["tokenizer"]), state.get("context_length")
            _check_saved(network, tokenizer, context_length)
            model = cls(network, tokenizer, context_length=context_length)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"'{directory}' has damaged language model settings in model.json: "
                             f"{quote(str(error))}") from None
        model.metrics_, model.training_ = state.get("metrics", {}), state.get("training", {})
        model.history_ = info.get("history", [])
        return model


def _check_saved(network: nn.Module, tokenizer: Tokenizer, context_length: Any) -> None:
    """Raise unless a loaded vocabulary and context fit the network: one embedding row per token, and no
    more context than a GPT has positions (a mismatch would fail, or decode garbage, at generate time)."""
    name, vocab_size = type(network).__name__, network.config.vocab_size
    if len(tokenizer) != vocab_size:
        raise ValueError(f"the vocabulary has {len(tokenizer)} tokens, but the {name} network embeds {vocab_size}")
    whole(context_length, "context_length", 1)
    if isinstance(network, GPT) and context_length > network.config.context_length:
        raise ValueError(f"context_length={context_length}, but the GPT network has {network.config.context_length} "
                         "positions")


def _check_generate(prompt: Any, length: Any, temperature: Any, top_k: Any, seed: Any) -> None:
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"generate needs a prompt: the text to continue (1 character or more), got {prompt!r}.")
    check_count("length", length, "200 characters", least=0)
    check_positive("temperature", temperature, "1 (1 samples as the model predicts, lower is safer, 0 always takes "
                   "the most likely character)", allow_zero=True)
    check_count("top_k", top_k, "40 (1 is greedy; None: no limit)", allow_none=True)
    check_seed("seed", seed, allow_none=True, example="0 (None: PyTorch's global generator)")


def _pick(logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None):
    """The next id from (V,) logits: greedy for a tiny temperature, else sampled (top-k, temperature)."""
    logits = logits.clone()
    logits[:UNGENERATED] = -math.inf  # never padding or the unknown token
    if temperature < GREEDY_BELOW:
        return logits.argmax()
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, len(logits) - UNGENERATED)).values[-1]  # the k-th largest logit
        logits[logits < kth] = -math.inf
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)[0]
