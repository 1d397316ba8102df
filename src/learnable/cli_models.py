"""The commands of the model families: language models (`generate`, `score`, and `train --task
language-model`) and forecasting (`forecast`). They hang on the one ``learnable`` app of
:mod:`learnable.cli`, with its options and its one-line errors.

    learnable train --task language-model            # a small GPT on the shipped Shakespeare corpus
    learnable generate models/shakespeare-lm --prompt "ROMEO:" --length 300 --temperature 0.8
    learnable score models/shakespeare-lm "Now is the winter of our discontent"
    learnable forecast --data co2 --horizon 12 --season 12
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from learnable.cli import DEFAULT_DATA, RUNS_DIR, SEED, app, end_recorded_run, user_errors
from learnable.terminal import for_stdout, say


def check_language_model_options(*, target: str | None, checkpoint_every: int, resume: str | None) -> None:
    given = [flag for flag, value in (("--target", target), ("--checkpoint-every", checkpoint_every),
                                      ("--resume", resume)) if value]
    if given:
        verb, pronoun = ("does", "it") if len(given) == 1 else ("do", "them")
        raise ValueError(f"{' and '.join(given)} {verb} not apply to --task language-model (it learns a whole text, "
                         f"and is not checkpointed); drop {pronoun}.")


def _language_model_kind(model: str) -> str:
    from learnable.language_model import MODEL_NAMES

    if model == "auto":
        return "transformer"
    if model not in MODEL_NAMES:
        raise ValueError(f"--model {model} does not train a language model; with --task language-model use "
                         f"auto (a transformer), {' or '.join(MODEL_NAMES)}.")
    return model


def _load_text(data: str) -> tuple[str, str]:
    """The text to learn and its name: a text file, a shipped corpus by name, or (the default) Shakespeare."""
    from learnable.language_model import corpus_names, load_corpus

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


@contextlib.contextmanager
def _ending_recorded(store: Any, run_id: str) -> Iterator[None]:
    """Record a run that ends early as interrupted (Ctrl-C or SIGTERM: exit status 130) or failed."""
    try:
        yield
    except KeyboardInterrupt:
        store.writer(run_id).finish("interrupted", error="interrupted (SIGINT/SIGTERM)")
        raise typer.Exit(130) from None
    except BaseException as error:
        store.writer(run_id).finish("failed", error=f"{type(error).__name__}: {error}")
        raise


def train_language_model_run(store: Any, settings: dict[str, Any], quiet: bool) -> None:
    """Check, record, train, save and report a language model (`train --task language-model`)."""
    import hashlib

    import torch

    from learnable.language_model import check_settings, train_language_model
    from learnable.model_file import check_replaceable
    from learnable.runs import RecordRun
    from learnable.utils import check_output_path

    start = time.perf_counter()
    kind = _language_model_kind(settings["model"])
    text, corpus = _load_text(settings["data"])
    options = {"model": kind, "num_epochs": settings["epochs"], "lr": settings["lr"],
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
    with _ending_recorded(store, run_id):
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
    from learnable.language_model import LanguageModel

    typer.echo(for_stdout(LanguageModel.load(model_dir).generate(prompt, length, temperature, top_k, seed)))


@app.command()
@user_errors
def score(
    model_dir: Path = typer.Argument(..., help="A directory written by `learnable train --task language-model`."),
    text: str = typer.Argument(..., help="The sentence to score (at least 2 characters)."),
) -> None:
    """How likely a language model finds TEXT: mean log-likelihood per character (nats), then bits per character."""
    from learnable.language_model import LanguageModel

    nats, bits = LanguageModel.load(model_dir).score(text)
    say(f"mean log-likelihood per character (nats): {nats:.4f}")
    say(f"bits per character: {bits:.4f}")


@app.command()
@user_errors
def forecast(
    data: str = typer.Option("sunspots", help="A built-in series (sunspots, co2) or a CSV/Parquet file in time order."),
    column: str = typer.Option(None, help="The column holding the series (required for files)."),
    window: int = typer.Option(24, help="Past values each forecast reads."),
    horizon: int = typer.Option(1, help="Future values each forecast gives."),
    cell: str = typer.Option("lstm", help="lstm, gru or rnn."),
    season: int = typer.Option(None, help="The season length for the seasonal-naive baseline (e.g. 12 for months)."),
    epochs: int = typer.Option(200, help="Most epochs (early stopping on the validation block may end sooner)."),
    seed: int = SEED,
    out: Path = typer.Option(None, help="Where to save the forecaster (default: models/<data name>-forecast)."),
    runs_dir: Path = RUNS_DIR,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-epoch lines."),
) -> None:
    """Train an RNN forecaster on a series, test it on the last 20% against the naive forecasts, save it."""
    from learnable import Forecaster
    from learnable.data import fingerprint
    from learnable.data.windows import as_series
    from learnable.model_file import check_replaceable
    from learnable.runs import RecordRun, RunStore
    from learnable.utils import check_output_path

    series, name = _load_series(data, column)
    as_series(series)  # a column of text or with gaps: refused before a run is recorded
    forecaster = Forecaster(window, horizon, cell=cell, season=season, num_epochs=epochs, seed=seed,
                            progress=not quiet)
    forecaster.check_settings()  # before a run is recorded
    out = Path(out or Path("models") / f"{name}-forecast")
    check_output_path(out, inputs=[data])
    check_replaceable(out)
    store = RunStore(runs_dir)
    settings = {"data": data, "column": column, **forecaster.get_params(), "out": str(out)}
    run_id = store.create(f"{name}-forecast", config=settings, seed=seed, dataset=fingerprint(series.to_frame()))
    say(f"run {run_id}: {name}, {len(series)} steps; the last 20% is the test block, 10% before it validation")
    with _ending_recorded(store, run_id):
        forecaster.fit(series, callbacks=[RecordRun(store, run_id, finish=False)])
        path = forecaster.save(out)
    m = forecaster.metrics_
    say(f"test MAE: {m['mae']:.4g} ({cell}), naive last value {m['naive_mae']:.4g}"
        + (f", seasonal naive {m['seasonal_naive_mae']:.4g}" if "seasonal_naive_mae" in m else ""))
    say(f"model saved to {path}")
    end_recorded_run(store, run_id, {"test": m, **forecaster.training_}, {"model": path})


def _load_series(data: str, column: str | None) -> tuple[Any, str]:
    """A built-in series by name, or one column of a CSV/Parquet file, as a pandas Series."""
    import pandas as pd

    from learnable import datasets
    from learnable.data import read_frame

    if data in datasets.names() and not Path(data).exists():
        dataset = datasets.load(data)
        if not isinstance(dataset.y.index, pd.DatetimeIndex):
            raise ValueError(f"'{data}' is not a series; the built-in series are sunspots and co2.")
        return dataset.y, data
    frame = read_frame(data)
    if column is None or column not in frame.columns:
        given = "--column is required with a file" if column is None else f"there is no column {column!r}"
        raise ValueError(f"{given}: name the column holding the series, one of {list(frame.columns)[:20]}.")
    return frame[column], Path(data).stem
