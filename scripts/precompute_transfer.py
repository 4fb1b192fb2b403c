"""Precompute the transfer sweep that lessons 03-05 read: ``results/transfer.json``.

Usage::

    python scripts/precompute_transfer.py                      # the full sweep (~30-60 min on 2 busy cores)
    python scripts/precompute_transfer.py --small              # the test setting -> results/transfer_small.json

What it measures, always with *paired* seeds (the same k-shot subset of the target classes
5-9 for every method within a seed, ``ftlib.experiments.run_paired``):

1. ``rows``: target test accuracy of every fine-tuning method for every (k, seed), and the
   source-task accuracy kept by the methods that start from the pretrained backbone;
2. ``probe_rows``: linear probes on each block's frozen features, pretrained vs random init;
3. ``curves``: test accuracy every 10 steps at the largest k, scratch vs fine-tuning
   (time to accuracy), on the first ``--curve-per-class`` test images of each class.

The chosen setup was fixed *before* the sweep ran: fine-tune the shipped backbone with the
very recipe of the scratch baseline (Adam lr 1e-3, 100 full-batch steps, shift+flip, frozen
BN in eval mode) — "full fine-tune, lr 1e-3" — and compare every method with scratch.

Every worker uses one thread, so results do not depend on ``--workers``.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "scratch, lr 1e-3"
CHOSEN = "full fine-tune, lr 1e-3"
PROBE_LAYERS = ("block1", "block2", "block3", "pooled")
RETENTION_METHODS = (CHOSEN, "full fine-tune, lr 1e-4", "discriminative LRs (÷2.6)",
                     "gradual unfreezing", "ULMFiT (gradual + discr. + STLR)")


def methods(steps: int) -> dict:
    from ftlib import experiments as E
    return {
        BASELINE: E.scratch(lr=1e-3, steps=steps),
        CHOSEN: E.pretrained(lr=1e-3, steps=steps),
        "full fine-tune, lr 1e-4": E.pretrained(lr=1e-4, steps=steps),
        "discriminative LRs (÷2.6)": E.discriminative(lr=1e-3, steps=steps),
        "gradual unfreezing": E.discriminative(lr=1e-3, steps=steps, factor=1.0, gradual=True),
        "ULMFiT (gradual + discr. + STLR)": E.discriminative(lr=1e-3, steps=steps, gradual=True, stlr=True),
    }


def _setup() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def _task(test_per_class):
    from ftlib import experiments as E
    return E.limit_test(E.class_task(), test_per_class)


def sweep_job(k: int, seed: int, steps: int, test_per_class: int | None) -> list[dict]:
    """Every fine-tuning method on the (k, seed) subset, with source retention where defined."""
    _setup()
    from ftlib import experiments as E
    task = _task(test_per_class)
    retention = E.source_retention(max_per_class=test_per_class)
    chosen = {name: m for name, m in methods(steps).items()}

    def metrics(model):
        return retention(model)
    return E.run_paired(chosen, task, [k], [seed], metrics=metrics)


def probe_job(ks: list[int], seed: int, test_per_class: int | None, probe_steps: int) -> list[dict]:
    """Linear probes by depth on the pretrained and on a random (seeded) backbone."""
    _setup()
    import ftlib
    from ftlib import probing
    task = _task(test_per_class)
    torch.manual_seed(seed)
    backbones = {"pretrained": ftlib.load_pretrained(), "random init": ftlib.NetB(5)}
    rows = []
    for init, net in backbones.items():
        cache: dict = {}
        for k in ks:
            x, y = ftlib.k_shot(task.x_pool, task.y_pool, k, seed=seed)
            accs = probing.probe_by_depth(net, x, y, task.x_test, task.y_test, PROBE_LAYERS,
                                          test_features=cache, steps=probe_steps)
            rows += [{"init": init, "layer": layer, "k": k, "seed": seed, "accuracy": acc}
                     for layer, acc in accs.items()]
    return rows


def curve_job(k: int, seed: int, steps: int, per_class: int, every: int) -> list[dict]:
    """Test accuracy every ``every`` steps for scratch and the chosen fine-tuning."""
    _setup()
    import ftlib
    from ftlib import experiments as E
    task = E.limit_test(E.class_task(), per_class)
    x, y = ftlib.k_shot(task.x_pool, task.y_pool, k, seed=seed)
    val = (task.x_test, task.y_test)
    out = []
    for name, method in {BASELINE: E.scratch(1e-3, steps, val=val, eval_every=every),
                         CHOSEN: E.pretrained(1e-3, steps, val=val, eval_every=every)}.items():
        h = method(x, y, seed).fit_history
        out.append({"method": name, "k": k, "seed": seed, "step": [s + 1 for s in h.eval_step],
                    "accuracy": h.val_acc})
    return out


def summaries(rows: list[dict], probe_rows: list[dict]) -> dict:
    from ftlib import experiments as E
    target = E.summarize(rows, BASELINE)
    kept = [r for r in rows if "source_accuracy" in r]
    source = E.summarize(kept, CHOSEN, metric="source_accuracy") if kept else []
    probe_as_methods = [{"method": f"{r['init']} {r['layer']}", "k": r["k"], "seed": r["seed"],
                         "accuracy": r["accuracy"]} for r in probe_rows]
    probes = E.summarize(probe_as_methods, None) if probe_rows else []
    return {"target": target, "source": source, "probes": probes}


def run(ks, seeds, steps, test_per_class, probe_steps, curve_k, curve_per_class, curve_every,
        workers: int, log=print) -> dict:
    started = time.perf_counter()
    jobs = []
    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for seed in seeds:
            jobs.append(("probe", seed, pool.submit(probe_job, list(ks), seed, test_per_class, probe_steps)))
        for k in ks:
            for seed in seeds:
                jobs.append(("sweep", (k, seed), pool.submit(sweep_job, k, seed, steps, test_per_class)))
        if curve_k:
            for seed in seeds:
                jobs.append(("curve", seed, pool.submit(curve_job, curve_k, seed, steps, curve_per_class,
                                                        curve_every)))
        results: dict[str, list] = {"probe": [], "sweep": [], "curve": []}
        for kind, key, fut in jobs:
            part = fut.result()
            results[kind] += part
            log(f"[{time.perf_counter() - started:6.0f} s] {kind} {key} done", flush=True)
    order = {name: i for i, name in enumerate(methods(steps))}
    rows = sorted(results["sweep"], key=lambda r: (r["k"], r["seed"], order[r["method"]]))
    probe_rows = sorted(results["probe"], key=lambda r: (r["k"], r["seed"], r["init"], PROBE_LAYERS.index(r["layer"])))
    import ftlib
    out = {
        "settings": {"ks": list(ks), "seeds": list(seeds), "steps": steps, "test_per_class": test_per_class,
                     "probe_steps": probe_steps, "probe_layers": list(PROBE_LAYERS), "curve_k": curve_k,
                     "curve_per_class": curve_per_class, "curve_every": curve_every,
                     "baseline": BASELINE, "chosen": CHOSEN, "methods": list(order),
                     "target_classes": [5, 6, 7, 8, 9], "source_classes": [0, 1, 2, 3, 4],
                     "source_weights": "netb_source", "threads_per_worker": 1,
                     "rule": "chosen before the sweep: fine-tune the shipped backbone with the scratch "
                             "baseline's own recipe (Adam 1e-3, 100 full-batch steps, shift+flip aug)"},
        "rows": rows, "probe_rows": probe_rows, "curves": results["curve"],
        "summary": summaries(rows, probe_rows),
        "environment": {"torch": torch.__version__, "ftlib": ftlib.__version__},
    }
    from ftlib.results import round_floats
    out = round_floats(out, 4)
    out["seconds"] = round(time.perf_counter() - started)
    return out


SMALL = dict(ks=[1], seeds=[0, 1], steps=10, test_per_class=20, probe_steps=20, curve_k=1, curve_per_class=10,
             curve_every=5)
FULL = dict(ks=[1, 2, 5, 10], seeds=list(range(8)), steps=100, test_per_class=None, probe_steps=200, curve_k=10,
            curve_per_class=100, curve_every=10)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="the test setting (writes transfer_small.json)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    setting = SMALL if args.small else FULL
    out = args.out or ROOT / "results" / ("transfer_small.json" if args.small else "transfer.json")
    result = run(**setting, workers=args.workers)
    from ftlib.results import write_result
    write_result(out, result, digits=None)
    print(f"wrote {out} in {result['seconds']} s")


if __name__ == "__main__":
    main()
