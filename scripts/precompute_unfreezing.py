"""Precompute lesson 05's controls for gradual unfreezing and the range test: ``results/unfreezing_controls.json``.

Usage::

    python scripts/precompute_unfreezing.py            # 4 values of k x 8 seeds (~20 min on 2 cores)
    python scripts/precompute_unfreezing.py --small    # the test setting -> results/unfreezing_controls_small.json

Why: in ``results/transfer.json`` gradual unfreezing keeps more of the source task than plain fine-tuning.
But under gradual unfreezing the lower blocks also train for fewer steps (block 1 for the last quarter),
so they move less whatever the order. Two controls, paired by seed with the k-shot subsets of
``precompute_transfer.py`` (target accuracy on the 2,500 target test images, source accuracy kept on the
2,500 source test images), next to plain fine-tuning and gradual unfreezing re-run in the same jobs:

- ``gradual freezing``: the same number of steps per block, in the opposite order (every block trains from
  the start, then the blocks freeze from the bottom: block 1 after 25 steps, block 2 after 50, block 3
  after 75) — the fresh head's first, noisy gradients reach every block;
- ``matched rates``: every block trains all 100 steps, at lr 1e-3 times its share of steps under gradual
  unfreezing (block 1 x1/4, block 2 x2/4, block 3 x3/4, head x1);
- ``lr_find's rate``: full fine-tuning at the rate the range test of lesson 05 suggests on the same images.

All recipes were fixed before the sweep ran. Each finished (k, seed) is appended to
``<out>.partial.jsonl`` and a stopped run resumes from it; one thread per worker.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from precompute_heads import run_jobs  # noqa: E402  (the same resumable job file)

FT, GRADUAL = "full fine-tune, lr 1e-3", "gradual unfreezing"
METHODS = (FT, GRADUAL, "gradual freezing (same steps, reverse order)", "matched rates (same summed lr)",
           "full fine-tune at lr_find's rate")


def methods(steps: int) -> dict:
    from ftlib import experiments as E
    made = [E.pretrained(lr=1e-3, steps=steps), E.discriminative(lr=1e-3, steps=steps, factor=1.0, gradual=True),
            E.gradual_freezing(lr=1e-3, steps=steps), E.matched_rates(lr=1e-3, steps=steps), E.lr_found(steps=steps)]
    return dict(zip(METHODS, made))


def job(k: int, seed: int, steps: int, test_per_class: int | None, batch_sizes=None) -> list[dict]:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    from ftlib import experiments as E
    task = E.limit_test(E.class_task(), test_per_class)
    retention = E.source_retention(max_per_class=test_per_class)

    def metrics(model):
        found = getattr(model, "found_lr", None)
        return {**retention(model), **({"lr": found} if found is not None else {})}
    return E.run_paired(methods(steps), task, [k], [seed], metrics=metrics)


SMALL = dict(ks=[1], seeds=[0, 1], steps=8, test_per_class=20, batch_sizes=None)
FULL = dict(ks=[1, 2, 5, 10], seeds=list(range(8)), steps=100, test_per_class=None, batch_sizes=None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    settings = SMALL if args.small else FULL
    out = args.out or ROOT / "results" / ("unfreezing_controls_small.json" if args.small else "unfreezing_controls.json")
    started = time.perf_counter()
    rows = sorted(run_jobs(job, settings, out.with_suffix(".partial.jsonl"), args.workers),
                  key=lambda r: (r["k"], r["seed"], METHODS.index(r["method"])))
    from ftlib import experiments as E
    from ftlib.results import round_floats, write_result
    result = round_floats({"settings": {**settings, "methods": list(METHODS), "baseline": FT, "threads_per_worker": 1,
                                        "source_weights": "netb_source"},
                           "rows": rows, "summary": {"target": E.summarize(rows, FT),
                                                     "source": E.summarize(rows, FT, metric="source_accuracy")},
                           "environment": {"torch": torch.__version__}}, 4)
    result["seconds"] = round(time.perf_counter() - started)
    write_result(out, result, digits=None)
    out.with_suffix(".partial.jsonl").unlink(missing_ok=True)
    print(f"wrote {out} in {result['seconds']} s")


if __name__ == "__main__":
    main()
