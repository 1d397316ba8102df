"""DQN on CartPole-v1: does each seed's agent reach a mean return >= 475 over 100 greedy episodes
within 100,000 environment steps, and how fast do the environments step?

Each seed trains for ``--steps`` steps (default 100,000) in one ``learn`` call. The agent evaluates its
latest network every 10,000 steps on 10 fixed-seed episodes and keeps the best one (``keep_best``, the
default). Printed per seed: the steps at the first of those evaluations >= 475 (or "-"), the mean return
of the kept network over 100 fresh episodes (what ``learnable rl --evaluate`` reports), the same for the
latest network (DQN's policy often collapses after it has solved CartPole), the training time and the
speed (environment steps per second, updates and evaluations included). Then the speed of the
environment alone through Gymnasium's vector API (random actions) for 1, 4 and 8 copies.

For comparison: RL Zoo (Stable-Baselines3) lists DQN on CartPole-v1 at 500.0 +- 0.0 after 50k steps
(benchmark.md; one run, 300 deterministic evaluation episodes).

    python benchmarks/dqn_cartpole.py [--seeds 0 1 2 3 4] [--steps 100000] [--threads 1] [--device cpu]
                                      [--lr 1e-3]
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import numpy as np
import torch

from learnable.rl import DQN, make_env

TARGET = 475.0


def run_seed(seed: int, steps: int, episodes: int, device: str, **settings) -> dict:
    """Train one seed; return the first evaluation >= TARGET, the kept and latest networks' returns, speed."""
    agent = DQN("CartPole-v1", seed=seed, device=device, **settings)
    start = time.perf_counter()
    agent.learn(steps)
    seconds = time.perf_counter() - start
    first = next((e["step"] for e in agent.evaluations_ if e["mean_return"] >= TARGET), None)
    kept = agent.evaluate(episodes)["mean_return"]
    agent.keep_best = False  # the latest network
    latest = agent.evaluate(episodes)["mean_return"]
    return {"seed": seed, "first": first, "kept": kept, "best_step": agent.best_step_, "latest": latest,
            "seconds": seconds, "steps_per_second": agent.steps_done_ / seconds, "curve": agent.evaluations_}


def env_speed(num_envs: int, steps: int = 20_000) -> float:
    """Environment steps per second (all copies) of CartPole-v1 stepped with random actions."""
    if num_envs == 1:  # make_env gives a plain Env for one copy: wrap it, as DQN does
        envs = gymnasium.vector.SyncVectorEnv([lambda: make_env("CartPole-v1")])
        envs.reset(seed=0)
    else:
        envs = make_env("CartPole-v1", seed=0, num_envs=num_envs)
    rng = np.random.default_rng(0)
    calls = steps // num_envs
    actions = rng.integers(2, size=(calls, num_envs))
    start = time.perf_counter()
    for row in actions:
        envs.step(row)
    seconds = time.perf_counter() - start
    envs.close()
    return calls * num_envs / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lr", type=float, default=None, help="the learning rate, instead of DQN's default")
    args = parser.parse_args()
    settings = {} if args.lr is None else {"lr": args.lr}
    torch.set_num_threads(args.threads)
    print(f"DQN CartPole-v1, {args.steps:,} steps, final evaluations over {args.episodes} episodes, "
          f"{args.threads} thread(s), device {args.device}, settings {settings or 'default'}")
    print("| seed | first evaluation >= 475 | kept network (from step) | latest network | train s | steps/s | "
          "evaluations (10 episodes each) |")
    print("|---|---|---|---|---|---|---|")
    results = []
    for seed in args.seeds:
        result = run_seed(seed, args.steps, args.episodes, args.device, **settings)
        results.append(result)
        first = f"{result['first']:,}" if result["first"] is not None else "-"
        curve = " ".join(f"{e['step'] // 1000}k:{e['mean_return']:.0f}" for e in result["curve"])
        print(f"| {seed} | {first} | {result['kept']:.1f} ({result['best_step']:,}) | {result['latest']:.1f} | "
              f"{result['seconds']:.0f} | {result['steps_per_second']:.0f} | {curve} |", flush=True)
    solved = sum(r["kept"] >= TARGET for r in results)
    print(f"solved (the kept network >= {TARGET:.0f} over {args.episodes} episodes after {args.steps:,} steps): "
          f"{solved} of {len(results)} seeds")
    print("RL Zoo DQN CartPole-v1 (benchmark.md): 500.0 +- 0.0 after 50k steps, one run")
    for num_envs in (1, 4, 8):
        print(f"environment alone, num_envs={num_envs}: {env_speed(num_envs):,.0f} steps/s", flush=True)


if __name__ == "__main__":
    main()
