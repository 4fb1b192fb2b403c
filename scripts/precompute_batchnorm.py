"""Precompute the BatchNorm-trap comparison for lesson 04: ``results/transfer_batchnorm.json``.

Usage::

    python scripts/precompute_batchnorm.py            # 4 values of k x 8 seeds
    python scripts/precompute_batchnorm.py --small    # the test setting -> results/transfer_batchnorm_small.json

Two ways to do *feature extraction* (frozen backbone, a fresh head trained for 100
full-batch Adam steps, lr 1e-3, shift+flip augmentation), paired by seed with the same
k-shot subsets as ``precompute_transfer.py``:

- "frozen, BN in eval mode (ftlib.freeze)": ``ftlib.experiments.pretrained(frozen_blocks=3)``;
- "frozen with requires_grad only (BN trains)": ``ftlib.experiments.naive_frozen()``, a plain
  PyTorch loop that calls ``model.train()`` every step.

For each run it also records how far block1's BatchNorm running mean moved from pretraining.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
EVAL_MODE = "frozen, BN in eval mode (ftlib.freeze)"
NAIVE = "frozen with requires_grad only (BN trains)"


def job(k: int, seed: int, steps: int, test_per_class: int | None) -> list[dict]:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    import ftlib
    from ftlib import experiments as E
    task = E.limit_test(E.class_task(), test_per_class)
    reference = ftlib.load_pretrained().block1[1].running_mean.clone()

    def drift(model):
        return {"bn_mean_shift": (model.block1[1].running_mean - reference).abs().mean().item()}
    methods = {EVAL_MODE: E.pretrained(lr=1e-3, steps=steps, frozen_blocks=3),
               NAIVE: E.naive_frozen(lr=1e-3, steps=steps)}
    return E.run_paired(methods, task, [k], [seed], metrics=drift)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    setting = SMALL if args.small else FULL
    out = args.out or ROOT / "results" / ("transfer_batchnorm_small.json" if args.small else "transfer_batchnorm.json")
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(job, k, seed, setting["steps"], setting["test_per_class"])
                   for k in setting["ks"] for seed in setting["seeds"]]
        rows = []
        for f in futures:
            rows += f.result()
            print(f"[{time.perf_counter() - started:6.0f} s] {rows[-1]['k']} {rows[-1]['seed']}", flush=True)
    from ftlib import experiments as E
    from ftlib.results import round_floats, write_result
    result = round_floats({"settings": {**setting, "methods": [EVAL_MODE, NAIVE], "baseline": EVAL_MODE,
                                  "lr": 1e-3, "threads_per_worker": 1},
                     "rows": rows, "summary": E.summarize(rows, EVAL_MODE),
                     "drift": E.summarize(rows, None, metric="bn_mean_shift"),
                     "environment": {"torch": torch.__version__}}, 4)
    result["seconds"] = round(time.perf_counter() - started)
    write_result(out, result, digits=None)
    print(f"wrote {out} in {result['seconds']} s")


SMALL = dict(ks=[1], seeds=[0, 1], steps=10, test_per_class=20)
FULL = dict(ks=[1, 2, 5, 10], seeds=list(range(8)), steps=100, test_per_class=None)

if __name__ == "__main__":
    main()
