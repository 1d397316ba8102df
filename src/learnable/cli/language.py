"""The commands of the model families: language models (`generate`, `score`, and `train --task
language-model`) and forecasting (`forecast`). They hang on the one ``learnable`` app of
:mod:`learnable.cli.app`, with its options and its one-line errors.

    learnable train --task language-model            # a small GPT on the shipped Shakespeare corpus
    learnable generate models/shakespeare-lm --prompt "ROMEO:" --length 300 --temperature 0.8
    learnable score models/shakespeare-lm "Now is the winter of our discontent"
    learnable forecast --data co2 --horizon 12 --season 12
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import typer

from learnable.cli.app import DEFAULT_DATA, app, end_recorded_run, ending_recorded, user_errors
from learnable.utils.terminal import for_stdout, say


def check_language_model_options(*, target: str | None, checkpoint_every: int, resume: str | None) -> None:
    given = [flag for flag, value in (("--target", target), ("--checkpoint-every", checkpoint_every),
                                      ("--resume", resume)) if value]
    if given:
        verb, pronoun = ("does", "it") if len(given) == 1 else ("do", "them")
        raise ValueError(f"{' and '.join(given)} {verb} not apply to --task language-model (it learns a whole text, "
                         f"and is not checkpointed); drop {pronoun}.")


def _language_model_architecture(model: str) -> str:
    """The network --model names for a language model: "transformer" (also for "auto") or "lstm"."""
    from learnable.tasks.language_model import MODEL_NAMES

    if model == "auto":
        return "transformer"
    if model not in MODEL_NAMES:
        raise ValueError(f"--model {model} does not train a language model; with --task language-model use "
                         f"auto (a transformer), {' or '.join(MODEL_NAMES)}.")
    return model


def _load_text(data: str) -> tuple[str, str]:
    """The text to learn and its name: a text file, a shipped corpus by name, or (the default) Shakespeare."""
    from learnable.data.datasets import corpus_names, load_corpus

    if data == DEFAULT_DATA or (data in corpus_names() and not Path(data).exists()):
        name = "shakespeare" if data == DEFAULT_DATA else data
        return load_corpus(name), name
    path = Path(data)
    if not path.is_file():
        raise ValueError(f"--data '{data}' is not a file; give a UTF-8 text file or a shipped corpus {corpus_names()}.")
    try:
        return path.read_text(encoding="utf-8"), path.stem
    except UnicodeDecodeError as error:
        raise ValueError(f"--data '{data}' is not UTF-8 text ({error.reason} at byte {error.start}); "
                         "a language model learns from a plain text file.") from None


def train_language_model_run(store: Any, settings: dict[str, Any], quiet: bool) -> None:
    """Check, record, train, save and report a language model (`train --task language-model`)."""
    import hashlib

    import torch

    from learnable.model_file import check_replaceable
    from learnable.runs import RecordRun
    from learnable.tasks.language_model import check_settings, train_language_model
    from learnable.utils.validation import check_output_path

    start = time.perf_counter()
    architecture = _language_model_architecture(settings["model"])
    text, corpus = _load_text(settings["data"])
    options = {"model": architecture, "num_epochs": settings["epochs"], "lr": settings["lr"],
               "batch_size": settings["batch_size"]}
    check_settings(text, **options)  # before a run is recorded
    out = Path(settings["out"] or Path("models") / f"{corpus}-lm")
    check_output_path(out, inputs=[settings["data"]])
    check_replaceable(out)  # fail now, not after training
    settings["out"] = str(out)
    torch.use_deterministic_algorithms(bool(settings["deterministic"]))
    run_id = store.create(settings["name"] or f"{corpus}-lm", config=settings, seed=settings["seed"],
                          dataset=hashlib.sha256(text.encode()).hexdigest()[:16])
    say(f"run {run_id}: {corpus}, {len(text):,} characters; holding out the last 10% for validation")
    with ending_recorded(store, run_id):
        model = train_language_model(text, **options, seed=settings["seed"], progress=not quiet,
                                     callbacks=[RecordRun(store, run_id, finish=False)])
        path = model.save(out)
    metrics, t = model.metrics_, model.training_
    say(f"model: {t['model']}, {t['parameters']:,} parameters, context {t['context_length']} characters; "
        f"epochs run: {t['epochs']}, kept epoch {t['best_epoch']}")
    say(f"validation bits per character: {metrics['val_bits_per_char']:.3f} "
        f"(unigram baseline: {metrics['unigram_bits_per_char']:.3f})")
    say(f"time: {time.perf_counter() - start:.1f}s")
    prompt = shlex.quote(text.lstrip().split("\n")[0][:20] or "The")  # the text's first line, as an example
    say(f"model saved to {path}  (try `learnable generate {shlex.quote(str(path))} --prompt {prompt}`)")
    end_recorded_run(store, run_id, {**metrics, **t}, {"model": path})


@app.command()
@user_errors
def generate(
    model_dir: Path = typer.Argument(..., help="A directory written by `learnable train --task language-model`."),
    prompt: str = typer.Option(..., help="The text to continue."),
    length: int = typer.Option(200, help="Characters to write after the prompt."),
    temperature: float = typer.Option(1.0, help="1: as the model predicts; lower: safer; 0: the likeliest always."),
    top_k: int = typer.Option(None, help="Draw only from the K likeliest characters."),
    seed: int = typer.Option(None, help="Seed for repeatable text."),
) -> None:
    """Write text with a language model: the prompt, then LENGTH more characters."""
    from learnable.tasks.language_model import LanguageModel

    typer.echo(for_stdout(LanguageModel.load(model_dir).generate(prompt, length, temperature, top_k, seed)))


@app.command()
@user_errors
def score(
    model_dir: Path = typer.Argument(..., help="A directory written by `learnable train --task language-model`."),
    text: str = typer.Argument(..., help="The sentence to score (at least 2 characters)."),
) -> None:
    """How likely a language model finds TEXT: mean log-likelihood per character (nats), then bits per character."""
    from learnable.tasks.language_model import LanguageModel

    nats, bits = LanguageModel.load(model_dir).score(text)
    say(f"mean log-likelihood per character (nats): {nats:.4f}")
    say(f"bits per character: {bits:.4f}")
