"""The command line for language models: `train --task language-model`, `generate`, `score`, the run
store and the report, and one-line errors for mistakes."""

import re

import pytest
from typer.testing import CliRunner

from cli_checks import assert_user_error
from learnable.cli import app
from learnable.model_file import save_model
from learnable.models import GPT, LSTMLanguageModel
from learnable.models.mlp import MLP
from learnable.runs import RunStore
from learnable.tasks.language_model import LanguageModel

runner = CliRunner()
TEXT = "to be or not to be, that is the question. " * 10  # 430 characters


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A text file and one-epoch language models trained on it from the command line."""
    folder = tmp_path_factory.mktemp("lm-cli")
    (folder / "hamlet.txt").write_text(TEXT, encoding="utf-8")
    data = str(folder / "hamlet.txt")
    default = runner.invoke(app, ["train", "--task", "language-model", "--data", data, "--epochs", "1",
                                  "--out", str(folder / "gpt"), "--quiet"])
    lstm = runner.invoke(app, ["train", "--task", "language-model", "--data", data, "--model", "lstm",
                               "--epochs", "2", "--out", str(folder / "lstm"), "--name", "lstm-run", "--quiet"])
    return folder, default, lstm


def test_train_saves_records_and_prints_bits_against_the_unigram_baseline(trained, runs_directory):
    folder, result, _ = trained
    assert result.exit_code == 0, result.output
    found = re.search(r"^validation bits per character: ([0-9.]+) \(unigram baseline: ([0-9.]+)\)$",
                      result.stdout, re.MULTILINE)
    model = LanguageModel.load(folder / "gpt")
    metrics = model.metrics_
    assert found.groups() == (f"{metrics['val_bits_per_char']:.3f}", f"{metrics['unigram_bits_per_char']:.3f}")
    assert isinstance(model.network_, GPT) and model.training_["epochs"] == 1  # --model auto: the transformer
    assert "model: transformer," in result.stdout and f"model saved to {folder / 'gpt'}" in result.stdout
    run = RunStore(runs_directory).get("hamlet-lm")
    assert run["status"] == "finished" and run["config"]["task"] == "language-model"
    assert run["summary"]["val_bits_per_char"] == pytest.approx(model.metrics_["val_bits_per_char"])
    assert len(run["epochs"]) == 1 and "val_bits_per_char" in run["epochs"][0]
    assert run["artifacts"]["model"] == str((folder / "gpt").resolve())


def test_the_lstm_run_is_listed_and_reported(trained, runs_directory):
    folder, _, result = trained
    assert result.exit_code == 0, result.output
    assert isinstance(LanguageModel.load(folder / "lstm").network_, LSTMLanguageModel)
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0 and "lstm-run" in listing.stdout and "hamlet-lm" in listing.stdout
    report = runner.invoke(app, ["report", "lstm-run", "--out", str(folder / "report.html")])
    assert report.exit_code == 0, report.output
    assert "val_bits_per_char" in (folder / "report.html").read_text()


def test_generate_prints_the_prompt_and_its_continuation(trained):
    folder = trained[0]
    result = runner.invoke(app, ["generate", str(folder / "lstm"), "--prompt", "to be", "--length", "30",
                                 "--temperature", "0.8", "--seed", "7"])
    assert result.exit_code == 0, result.output
    expected = LanguageModel.load(folder / "lstm").generate("to be", 30, temperature=0.8, seed=7)
    assert result.stdout == expected + "\n" and len(expected) == 35
    greedy = runner.invoke(app, ["generate", str(folder / "gpt"), "--prompt", "or", "--top-k", "1", "--length", "5"])
    assert greedy.stdout == LanguageModel.load(folder / "gpt").generate("or", 5, temperature=0) + "\n"


def test_score_prints_nats_then_bits(trained):
    folder = trained[0]
    result = runner.invoke(app, ["score", str(folder / "lstm"), "that is the question"])
    assert result.exit_code == 0, result.output
    nats, bits = LanguageModel.load(folder / "lstm").score("that is the question")
    assert result.stdout.splitlines() == [f"mean log-likelihood per character (nats): {nats:.4f}",
                                          f"bits per character: {bits:.4f}"]


def test_generate_and_score_mistakes_are_one_line(trained, tmp_path):
    folder = trained[0]
    assert_user_error(runner.invoke(app, ["generate", str(tmp_path / "nothing"), "--prompt", "a"]),
                      "no model directory")
    save_model(tmp_path / "mlp", MLP(in_features=2, out_features=2), {})
    assert_user_error(runner.invoke(app, ["score", str(tmp_path / "mlp"), "hello"]), "not a language model")
    assert_user_error(runner.invoke(app, ["generate", str(folder / "gpt"), "--prompt", "to", "--temperature", "-1"]),
                      "temperature=-1.0 must be a finite number >= 0")
    assert_user_error(runner.invoke(app, ["generate", str(folder / "gpt"), "--prompt", "to", "--top-k", "0"]),
                      "top_k=0 must be None or a whole number >= 1")
    assert_user_error(runner.invoke(app, ["score", str(folder / "gpt"), "t"]), "score needs at least 2 characters")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--task", "language-model", "--target", "price"], "--target does not apply to --task language-model"),
        (["--task", "language-model", "--model", "mlp"], "--model mlp does not train a language model"),
        (["--model", "lstm"], "--model lstm is a language model: add --task language-model"),
        (["--task", "language-model", "--data", "no-such.txt"], "--data 'no-such.txt' is not a file"),
        (["--task", "language-model", "--data", "{short}"], "the text has 9 characters: too few"),
        (["--task", "language-model", "--data", "{binary}"], "is not UTF-8 text"),
        (["--task", "language-model", "--data", "{text}", "--epochs", "0"], "num_epochs=0 must be a whole number"),
        (["--task", "language-model", "--data", "{text}", "--out", "{occupied}"], "refusing to replace"),
    ],
)
def test_train_mistakes_are_one_line_and_record_no_run(arguments, message, tmp_path, runs_directory):
    (tmp_path / "short.txt").write_text("too short")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00 not text")
    (tmp_path / "text.txt").write_text(TEXT)
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "model.json").write_text('{"mine": true}')  # another program's: never overwritten
    paths = {name: str(tmp_path / file) for name, file in
             [("short", "short.txt"), ("binary", "binary.txt"), ("text", "text.txt"), ("occupied", "occupied")]}
    before = len(RunStore(runs_directory).list(1000))
    result = runner.invoke(app, ["train", *(a.format(**paths) for a in arguments)])
    assert_user_error(result, message)
    assert len(RunStore(runs_directory).list(1000)) == before


@pytest.mark.slow
def test_train_without_data_learns_the_shipped_corpus(tmp_path):
    result = runner.invoke(app, ["train", "--task", "language-model", "--epochs", "1", "--out", str(tmp_path / "lm"),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    assert "shakespeare, 111,902 characters" in result.stdout
    model = LanguageModel.load(tmp_path / "lm")
    assert model.metrics_["val_bits_per_char"] < model.metrics_["unigram_bits_per_char"] - 0.5
