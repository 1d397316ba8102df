"""Race learnable against its peers: each run in its own process, contestants alternated, medians.

    .venv-bench/bin/python benchmarks/peers/run.py [--tasks mlp cnn logreg] [--repeats 3] [--threads 2]

Prints, per task, a table of each contestant's median training time, its ratio to the hand-written
PyTorch loop, and its test accuracy; ``--json FILE`` also keeps every run. See contestants.py for
the tasks and what is timed, and requirements.txt for installing the peers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from contestants import CONTESTANTS, TASKS

HERE = Path(__file__).resolve().parent


def run_once(contestant: str, task: str, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "KERAS_BACKEND": "torch", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, str(HERE / "contestants.py"), contestant, task, "--threads", str(threads)],
                          capture_output=True, text=True, env=env, timeout=1800)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def table(task: str, results: dict[str, list[dict]]) -> str:
    base = statistics.median(r["seconds"] for r in results["hand-written loop"] if "seconds" in r)
    spec = TASKS[task]
    rows = [f"**{task}** ({spec['epochs']} epochs, batch {spec['batch_size']}, Adam {spec['lr']:g})", "",
            "| contestant | median s | min s | ratio to hand loop | test accuracy | runs |",
            "|---|---|---|---|---|---|"]
    for name, runs in results.items():
        timed = [r for r in runs if "seconds" in r]
        if not timed:
            reason = runs[0].get("skipped") or runs[0].get("error", "")
            rows.append(f"| {name} | - | - | - | - | {reason} |")
            continue
        median = statistics.median(r["seconds"] for r in timed)
        accuracy = statistics.median(r["accuracy"] for r in timed)
        rows.append(f"| {name} | {median:.2f} | {min(r['seconds'] for r in timed):.2f} | {median / base:.2f} | "
                    f"{accuracy:.4f} | {len(timed)} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--contestants", nargs="+", default=list(CONTESTANTS), choices=list(CONTESTANTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Also write every run to this file.")
    args = parser.parse_args()
    names = list(args.contestants)
    everything: dict[str, dict[str, list[dict]]] = {}
    for task in args.tasks:
        results: dict[str, list[dict]] = {name: [] for name in names}
        for repeat in range(args.repeats):
            order = names[repeat % len(names):] + names[: repeat % len(names)]  # each goes first in turn
            for name in order:
                if results[name] and "skipped" in results[name][0]:
                    continue
                results[name].append(run_once(name, task, args.threads))
                print(f"{task} #{repeat + 1} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
        everything[task] = results
        print(table(task, results), "\n", flush=True)
    print(f"{args.threads} threads, median of {args.repeats} runs per contestant, each in its own process, "
          f"{time.strftime('%Y-%m-%d')}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
