"""The command of reinforcement learning: `learnable rl`. It hangs on the one ``learnable`` app of
:mod:`learnable.cli.app`, trains an agent of :mod:`learnable.rl` on a Gymnasium environment, and records a run
that `learnable runs` lists, `learnable report` draws and `learnable doctor` diagnoses.

    learnable rl FrozenLake-v1 --steps 200000          # tabular Q-learning (discrete observations)
    learnable rl CartPole-v1 --record cartpole.gif     # DQN (continuous observations), a GIF of an episode
    learnable rl --resume last                         # continue an interrupted run, as `train --resume` does
    learnable rl --evaluate last --episodes 1000       # the saved agent's greedy policy: mean return

One command, three uses: ENV_ID trains; ``--resume RUN`` and ``--evaluate RUN`` act on a recorded run and take
no ENV_ID (a RUN is named by an option, as in `learnable train --resume RUN`, never by a positional argument).
Everything a user can get wrong is checked before a run is recorded; Gymnasium is needed only here
(`pip install 'learnable[rl]'`).
"""

from __future__ import annotations

import inspect
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import typer

from learnable.cli.app import RUNS_DIR, app, end_recorded_run, ending_recorded, open_store, user_errors
from learnable.cli.rl_choice import build_agent, choose_algo, space_types
from learnable.utils.terminal import say
from learnable.utils.validation import check_count, check_output_file

DEFAULTS = {"steps": 100_000, "seed": 0, "num_envs": 1, "eval_episodes": 100, "checkpoint_every": 0}
PROGRESS_LINES = 10  # progress lines printed over a training run


# ---- checking the options -------------------------------------------------------------------------------
def _check_counts(options: dict[str, Any]) -> None:
    """--steps, --num-envs, --eval-episodes >= 1 and --checkpoint-every >= 0 (Typer has made them whole numbers)."""
    for key in ("steps", "num_envs", "eval_episodes"):
        check_count("--" + key.replace("_", "-"), options[key], DEFAULTS[key])
    check_count("--checkpoint-every", options["checkpoint_every"], 10_000, least=0)


def check_record(record: Path | None) -> None:
    """--record: a .gif file (the episode is written as an animated GIF) in a folder that exists."""
    if record is None:
        return
    # pygame draws the frames off screen; without a display its default video driver prints a stray
    # "error: XDG_RUNTIME_DIR ..." line that reads like learnable's own. The dummy driver renders the same.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    check_output_file(record, flag="--record", suffixes=(".gif",))


def _check_checkpoints(agent: Any, every: int) -> None:
    if every and "checkpoint_every" not in inspect.signature(agent.learn).parameters:
        raise ValueError(f"--checkpoint-every: {agent.algo} agents do not write checkpoints during training; "
                         "leave it out.")


def _reward_threshold(env_id: str) -> float | None:
    import gymnasium

    threshold = gymnasium.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


# ---- training -------------------------------------------------------------------------------------------
class Progress:
    """A callback printing about PROGRESS_LINES lines over the run: steps, episodes, recent return, epsilon."""

    def __init__(self, total_steps: int, start_step: int = 0) -> None:
        self.every = max(1, total_steps // PROGRESS_LINES)
        self.next, self.total, self.start = start_step + self.every, start_step + total_steps, start_step
        self.clock = time.perf_counter()
        self.returns: deque[float] = deque(maxlen=100)  # the recent returns the line averages

    def __call__(self, record: dict[str, Any]) -> None:
        self.returns.append(record["return"])
        if record["step"] < self.next:
            return
        recent = self.returns
        rate = (record["step"] - self.start) / max(time.perf_counter() - self.clock, 1e-9)
        say(f"step {record['step']:,}/{self.total:,}  episode {record['episode']:,}  "
            f"return (last {len(recent)}) {sum(recent) / len(recent):.3f}  epsilon {record['epsilon']:.3f}  "
            f"({rate:,.0f} steps/s)")
        self.next = record["step"] + self.every


def train_agent(agent: Any, options: dict[str, Any], checkpoints: Path) -> float:
    """Train for --steps (with checkpoints when asked); return the seconds it took."""
    extra = {}
    if options["checkpoint_every"]:
        extra = {"checkpoint_every": options["checkpoint_every"], "checkpoint_dir": checkpoints}
    start = time.perf_counter()
    agent.learn(options["steps"], callbacks=[Progress(options["steps"], agent.steps_done_)], **extra)
    return time.perf_counter() - start


def rl_summary(agent: Any, evaluation: dict[str, Any], seconds: float) -> dict[str, Any]:
    """What an RL run records: the greedy evaluation (metrics first: `learnable runs` shows the first), the
    training's steps, episodes, throughput and time, and the environment's 'solved' threshold."""
    metrics = {"mean_return": evaluation["mean_return"]}
    if evaluation.get("success_rate") is not None:
        metrics["success_rate"] = evaluation["success_rate"]
    return {"task": "rl", "metrics": metrics, "evaluation": evaluation, "env_id": agent.env_id, "algo": agent.algo,
            "steps": int(agent.steps_done_), "episodes_trained": len(agent.history_),
            "steps_per_second": agent.steps_done_ / max(seconds, 1e-9), "seconds": seconds,
            "reward_threshold": _reward_threshold(agent.env_id), **_kept(agent)}


def _kept(agent: Any) -> dict[str, Any]:
    """For a DQN that keeps its best evaluated network: its evaluations during training and which one acts."""
    if not getattr(agent, "keep_best", False) or not getattr(agent, "evaluations_", None):
        return {}
    return {"evaluations": agent.evaluations_, "kept_network": {"step": agent.best_step_, "score": agent.best_score_,
                                                            "episodes": agent.eval_episodes}}


def print_evaluation(evaluation: dict[str, Any]) -> None:
    """The lines of a greedy evaluation: `mean return X` (and `success rate X` where the env has a goal)."""
    say(f"evaluation over {evaluation['episodes']} episodes (greedy, no exploration):")
    say(f"mean return {evaluation['mean_return']:.4f}")
    say(f"std return {evaluation['std_return']:.4f}")
    say(f"mean length {evaluation['mean_length']:.2f}")
    if evaluation.get("success_rate") is not None:
        say(f"success rate {evaluation['success_rate']:.4f}")


def train_run(env_id: str, options: dict[str, Any]) -> None:
    """Check everything, record the run, train, evaluate, save the agent and write the report."""
    from learnable.model_file import check_replaceable
    from learnable.utils.validation import check_distinct_outputs

    _check_counts(options)
    check_record(options["record"])
    check_distinct_outputs({"--record": options["record"], "--out": options["out"]})
    if options["out"] is not None:
        check_replaceable(options["out"])  # fail now, not after training
    observation = space_types(env_id, options["record"] is not None)
    algo = choose_algo(options["algo"], env_id, observation)
    agent = build_agent(algo, env_id, options["seed"], options["num_envs"])
    _check_checkpoints(agent, options["checkpoint_every"])
    recorded = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if k != "runs_dir"}
    settings = {"task": "rl", "env_id": env_id, **recorded, "algo": algo,
                **{k: v for k, v in agent.get_params().items() if k not in options}}
    store = open_store(options["runs_dir"])
    run_id = store.create(options["name"] or f"{env_id}-{algo}", config=settings, seed=options["seed"])
    say(f"run {run_id}: {algo} on {env_id} ({observation[1]} observations), {options['steps']:,} steps")
    _train_and_finish(store, run_id, agent, options)


def _train_and_finish(store: Any, run_id: str, agent: Any, options: dict[str, Any]) -> None:
    """Train for options["steps"] more steps, evaluate, save, and record the ending of the run."""
    folder = store.folder(run_id)
    if options["checkpoint_every"]:
        say(f"checkpoints every {options['checkpoint_every']:,} steps in {folder / 'checkpoints'}; continue "
            f"an interrupted run with `learnable rl --resume {run_id}`")
    with ending_recorded(store, run_id):
        try:
            seconds = train_agent(agent, options, folder / "checkpoints")
        finally:  # an interrupted or failed run keeps the episodes it played
            store.writer(run_id).set_detail("history", agent.history_)
        evaluation = agent.evaluate(options["eval_episodes"], record=options["record"])
        artifacts = {"model": agent.save(options["out"] or folder / "agent")}
    _finish_run(store, run_id, rl_summary(agent, evaluation, seconds), artifacts, options)


def _finish_run(store: Any, run_id: str, summary: dict[str, Any], artifacts: dict[str, Path],
                options: dict[str, Any]) -> None:
    if options["record"] is not None:
        artifacts["recording"] = options["record"]
    if options["checkpoint_every"]:
        artifacts["checkpoints"] = store.folder(run_id) / "checkpoints"
    say(f"trained {summary['steps']:,} steps, {summary['episodes_trained']:,} episodes in "
        f"{summary['seconds']:.1f}s ({summary['steps_per_second']:,.0f} env steps/s)")
    if "kept_network" in summary:
        kept = summary["kept_network"]
        say(f"acting with the best network evaluated during training: step {kept['step']:,}, mean return "
            f"{kept['score']:.1f} over {kept['episodes']} episodes (keep_best)")
    print_evaluation(summary["evaluation"])
    say(f"agent saved to {artifacts['model']}")
    if options["record"] is not None:
        say(f"episode recorded to {options['record']}")
    end_recorded_run(store, run_id, summary, artifacts)


# ---- resuming an interrupted run ----------------------------------------------------------------------
def resume_run(run: str, runs_dir: Path | None) -> None:
    """Continue an interrupted or failed run from its newest checkpoint, with its recorded settings, up to
    its recorded --steps: the result equals the run that never stopped."""
    from learnable.rl import Agent

    store = open_store(runs_dir)
    found = _rl_run(store, run)
    if found["status"] == "finished":  # a 'running' one was killed, unless its process still runs it (reopen says)
        raise ValueError(f"run {found['id']} is finished; only an interrupted, failed or killed run can be resumed. "
                         "Start a new run instead.")
    checkpoints = store.folder(found["id"]) / "checkpoints"
    if not (checkpoints / "model.json").is_file():
        raise ValueError(f"run {found['id']} has no checkpoint in '{checkpoints}' (it ran without --checkpoint-every, "
                         "or stopped before the first one); start it again.")
    config = _recorded_settings(found)
    options = {key: config[key] for key in ("steps", "eval_episodes", "checkpoint_every")}
    options.update({key: None if config.get(key) is None else Path(config[key]) for key in ("record", "out")})
    store.claim(found["id"])  # first: refused while another process runs it (its checkpoint may be mid-write)
    try:
        agent = Agent.load(checkpoints)  # a damaged checkpoint leaves the run as it was: its status and its error
    except BaseException:
        store.release(found["id"])
        raise
    store.reopen(found["id"])
    options["steps"] -= agent.steps_done_
    say(f"resuming run {found['id']} ({agent.algo} on {agent.env_id}) at step {agent.steps_done_:,}: "
        f"{options['steps']:,} steps to go, with its recorded settings")
    _train_and_finish(store, found["id"], agent, options)


def _recorded_settings(run: dict[str, Any]) -> dict[str, Any]:
    """The settings a resume reads from ``run``'s record, checked (the store may be anyone's)."""
    from learnable.utils.validation import is_whole

    config = run["config"]
    counts = [k for k in ("steps", "eval_episodes", "checkpoint_every")
              if not is_whole(config.get(k)) or config[k] < (0 if k == "checkpoint_every" else 1)]
    paths = [k for k in ("record", "out") if not isinstance(config.get(k), (str, type(None)))]
    if counts or paths:
        raise ValueError(f"run {run['id']} cannot be resumed: its recorded settings are damaged (missing or wrong: "
                         f"{', '.join(counts + paths)}). Start a new run instead.")
    return config


def _rl_run(store: Any, run: str) -> dict[str, Any]:
    found = store.get(run)
    if (found.get("config") or {}).get("task") != "rl":
        raise ValueError(f"run {found['id']} ({found['name']}) is not a `learnable rl` run; pass the id or name of "
                         "one (`learnable runs` lists them).")
    return found


# ---- evaluating a recorded run ------------------------------------------------------------------------
def evaluate_run(run: str, episodes: int, record: Path | None, runs_dir: Path | None) -> None:
    """Load the agent a run saved and print its greedy evaluation."""
    from learnable.rl import Agent

    check_count("--episodes", episodes, DEFAULTS["eval_episodes"])
    check_record(record)
    found = _rl_run(open_store(runs_dir), run)
    path = (found.get("artifacts") or {}).get("model")
    if path is None or not Path(path).is_dir():
        raise ValueError(f"run {found['id']} saved no agent that can be found (status {found['status']}, "
                         f"agent folder {path or 'not recorded'}); train it again with `learnable rl`.")
    agent = Agent.load(path)
    say(f"run {found['id']}: {agent.algo} on {agent.env_id}, trained {agent.steps_done_:,} steps")
    print_evaluation(agent.evaluate(episodes, record=record))
    if record is not None:
        say(f"episode recorded to {record}")


def _refuse_training_options(given: dict[str, Any], usage: str, what: str) -> None:
    flags = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None and v != "auto"]
    if flags:
        raise ValueError(f"{', '.join(flags)} set(s) up training, but `learnable rl {usage}` {what}; drop them.")


def _run_option(env_id: str | None, resume: str | None, evaluate: str | None) -> tuple[str, str] | None:
    """The one of --resume RUN and --evaluate RUN given, as (flag, RUN); None when neither is (training)."""
    given = [(flag, run) for flag, run in (("--resume", resume), ("--evaluate", evaluate)) if run is not None]
    for flag, run in given:
        if run.startswith("-"):  # `--resume --runs-dir x`: the next option taken for the RUN
            raise ValueError(f"{flag} needs a RUN (an id, a name or `last`), not the option '{run}'; for example "
                             f"`learnable rl {flag} last`.")
    if len(given) == 2:
        raise ValueError(f"--resume {resume} continues an interrupted run and --evaluate {evaluate} evaluates a saved "
                         "agent; pass one of them.")
    if given and env_id is not None:  # the run's recorded environment is used
        flag, run = given[0]
        raise ValueError(f"{flag} {run} acts on the environment the run recorded, so it takes no ENV_ID (got "
                         f"'{env_id}'); run `learnable rl {flag} {run}` alone.")
    return given[0] if given else None


# ---- the command ----------------------------------------------------------------------------------------
@app.command("rl")
@user_errors
def rl(
    env_id: str = typer.Argument(None, metavar="ENV_ID",
                                 help="A Gymnasium id (FrozenLake-v1, Taxi-v4, CartPole-v1, ...) to train on. Left "
                                 "out with --resume or --evaluate."),
    algo: str = typer.Option("auto", help="auto (Discrete observations: q-learning; Box: dqn), dqn, q-learning, "
                             "sarsa."),
    steps: int = typer.Option(None, help="Environment steps to train, counting every env (default 100000)."),
    seed: int = typer.Option(None, help="One seed for the environment, exploration and weights (default 0)."),
    num_envs: int = typer.Option(None, help="Environments stepped together (vectorised; DQN) (default 1)."),
    eval_episodes: int = typer.Option(None, help="Greedy evaluation episodes after training (default 100)."),
    episodes: int = typer.Option(None, help="With --evaluate: greedy evaluation episodes (default 100)."),
    record: Path = typer.Option(None, help="Write the first evaluation episode as an animated .gif."),
    checkpoint_every: int = typer.Option(None, help="Checkpoint every N steps to RUNS_DIR/RUN/checkpoints (DQN)."),
    name: str = typer.Option(None, help="A name for the run (default: ENV_ID-ALGO)."),
    out: Path = typer.Option(None, help="Save the trained agent to this directory (default: RUNS_DIR/RUN/agent)."),
    resume: str = typer.Option(None, metavar="RUN", help="Continue an interrupted run (id, name or `last`) from its "
                               "newest checkpoint, with the settings it was started with."),
    evaluate: str = typer.Option(None, metavar="RUN", help="Evaluate the agent a run (id, name or `last`) saved: "
                                 "print its greedy policy's mean return. Records no run."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Train an agent on a Gymnasium environment, continue an interrupted run, or evaluate a trained agent.

    `learnable rl ENV_ID` trains (tabular Q-learning/SARSA for Discrete observations, DQN for Box ones),
    evaluates the greedy policy, saves the agent and records the run (`learnable runs`, `report`, `doctor`).

    `learnable rl --resume RUN` continues an interrupted run from its newest checkpoint (written with
    --checkpoint-every), exactly as if it had never stopped, as `learnable train --resume RUN` does.

    `learnable rl --evaluate RUN` (RUN: an id, a name or `last`) loads the agent a run saved and prints
    `mean return X` (and `success rate X` where the environment has a goal).
    """
    training = {"algo": algo, "steps": steps, "seed": seed, "num_envs": num_envs, "eval_episodes": eval_episodes,
                "checkpoint_every": checkpoint_every, "name": name, "out": out}
    chosen = _run_option(env_id, resume, evaluate)
    if chosen is not None and chosen[0] == "--resume":
        _refuse_training_options({**training, "episodes": episodes, "record": record}, "--resume RUN",
                                 "continues the run with its recorded settings (only --runs-dir applies)")
        resume_run(resume, runs_dir)
    elif chosen is not None:
        _refuse_training_options(training, "--evaluate RUN",
                                 "only evaluates a saved agent (with --episodes, --record, --runs-dir)")
        evaluate_run(evaluate, DEFAULTS["eval_episodes"] if episodes is None else episodes, record, runs_dir)
    else:
        train_run(_training_env(env_id, episodes), _training_options(training, record, runs_dir))


def _training_env(env_id: str | None, episodes: int | None) -> str:
    """ENV_ID, checked for training: given, and without --evaluate's --episodes."""
    if env_id is None:
        raise ValueError("`learnable rl` needs an environment id to train on (for example `learnable rl "
                         "CartPole-v1`), --evaluate RUN to evaluate a saved agent, or --resume RUN to continue a run.")
    if episodes is not None:
        raise ValueError("--episodes is for `learnable rl --evaluate RUN`; when training, --eval-episodes sets the "
                         "evaluation after training.")
    return env_id


def _training_options(training: dict[str, Any], record: Path | None, runs_dir: Path) -> dict[str, Any]:
    """The options of a training run, with DEFAULTS for the counts left out."""
    counts = {k: DEFAULTS[k] if training[k] is None else training[k] for k in DEFAULTS}
    return {**counts, "algo": training["algo"], "record": record, "name": training["name"], "out": training["out"],
            "runs_dir": runs_dir}
