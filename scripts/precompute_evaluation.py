"""Lesson 09's paired comparison on the validation task -> results/evaluation_seeds.json.

Usage::

    python scripts/precompute_evaluation.py            # 8 seeds, k = 1 (about 1 minute on 2 cores)
    python scripts/precompute_evaluation.py --small --out results/evaluation_seeds_small.json

Lesson 09 section 2 compares fine-tuning with scratch at k = 1 on the *validation* split that the
lesson carves out of the target pool (``train_val_split(..., val_fraction=0.05, seed=0)``), paired by
seed, with lesson 04's recipe (100 full-batch Adam steps, lr 1e-3, ±2 px shifts + flips, fresh head).
The lesson runs seeds 0-1 live and checks them against these rows; the statistics use all 8 seeds.
The recipe and the seeds were fixed before anything was run (they are the lesson's own).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ftlib.data import train_val_split
from ftlib.experiments import Task, class_task, pretrained, run_paired, scratch
from ftlib.results import write_result

ROOT = Path(__file__).resolve().parent.parent
FULL = {"k": 1, "seeds": list(range(8)), "steps": 100, "lr": 1e-3, "val_fraction": 0.05, "split_seed": 0}
SMALL = {**FULL, "seeds": [0, 1], "steps": 3}


def validation_task(val_fraction: float = 0.05, split_seed: int = 0) -> Task:
    """Lesson 09's task: classes 5-9, the pool minus a validation split, scored on the validation split."""
    task = class_task()
    (x_pool, y_pool), (x_val, y_val) = train_val_split(task.x_pool, task.y_pool, val_fraction=val_fraction,
                                                       seed=split_seed)
    return Task("classes 5-9, validation", x_pool, y_pool, x_val, y_val)


def methods(s: dict) -> dict:
    """The two methods of lesson 09 section 2, in the order the lesson runs them."""
    return {"scratch": scratch(lr=s["lr"], steps=s["steps"]), "fine-tune": pretrained(lr=s["lr"], steps=s["steps"])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="tiny setting for the test suite")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "evaluation_seeds.json")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = reproducible everywhere)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    s = SMALL if args.small else FULL
    started = time.perf_counter()
    task = validation_task(s["val_fraction"], s["split_seed"])
    rows = run_paired(methods(s), task, ks=[s["k"]], seeds=s["seeds"], verbose=True)
    result = {"settings": {**s, "threads": args.threads, "validation_images": len(task.x_test),
                           "recipe": "100 full-batch Adam steps lr 1e-3, ±2 px shift + flip, fresh head (COURSE.md)"},
              "rows": rows, "seconds_not_reproducible": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_result(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
