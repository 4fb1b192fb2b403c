"""Lesson 07's measurements: forgetting of the source task while fine-tuning -> results/forgetting.json.

Usage::

    python scripts/precompute_forgetting.py                    # the lesson's sweep (8 seeds)
    python scripts/precompute_forgetting.py --small --out results/forgetting_small.json
    python scripts/precompute_forgetting.py --part tradeoff     # -> results/forgetting_tradeoff.json
    python scripts/precompute_forgetting.py --part tradeoff --small

Setting (recorded in the JSON): as scripts/precompute_regularisation.py — the shipped Net-B
pretrained on classes 0-4, fresh head for classes 5-9, k labelled images per class,
full-batch Adam lr 1e-3 for 100 steps, no augmentation, the same k-shot subset for every
method within a seed.  After training, the *old* source head is put back on the backbone
to measure source accuracy (forgetting at the output), and a fresh linear probe on the
backbone's features measures what the representation still knows.  Methods: plain,
lr 1e-4, frozen backbone, discriminative LRs (÷2.6 per block),
gradual unfreezing, EWC (diagonal Fisher on 100 source images per class).
L2-SP and weight decay rows come from results/regularisation.json (same seeds and subsets).
Also records source and target accuracy every 10 steps for three recipes (seed 0).

``--part tradeoff`` (lesson 07's controls; grids fixed before the sweep): every row also records the old
head's source accuracy with the *source* BatchNorm statistics put back (``source_accuracy_source_bn``),
and each seed gets a forward-only control (``statistics only``: the pretrained weights, BatchNorm
statistics re-estimated by 100 training-mode passes over the k-shot images, nothing trained).  λ is swept
for L2-SP (head decayed, as in lesson 06, and head free, as in EWC) and for EWC with the empirical and
the true Fisher; the learning rate for plain fine-tuning.  Rows are saved as they come; a stopped sweep
with the same settings resumes.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ftlib.data import class_subset, k_shot, load_fashion_mnist
from ftlib.forgetting import (TARGET_CLASSES, SourceReference, source_accuracy, source_data,
                              stratified_head, sweep)
from ftlib.regularizers import ewc
from ftlib.results import resumable_rows, write_result
from ftlib.training import evaluate, fit

ROOT = Path(__file__).resolve().parent.parent
FULL = {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 100, "probe_per_class": 50,
        "fisher_per_class": 100, "ewc_lams": [10000.0], "curve_per_class": 50, "curve_every": 10}
TRADEOFF = {"lrs": [1e-4, 3e-4], "sp_lams": [1e-2, 1e-1, 1.0, 10.0, 100.0],
            "ewc_lams": [1e2, 1e3, 1e4, 1e5, 1e6], "statistics_passes": 100}
SMALL_TRADEOFF = {"lrs": [1e-4], "sp_lams": [1.0], "ewc_lams": [1e4], "statistics_passes": 4}
SMALL = {"k": 2, "seeds": [0], "steps": 4, "test_per_class": 10, "probe_per_class": 10,
         "fisher_per_class": 5, "ewc_lams": [100.0], "curve_per_class": 5, "curve_every": 2}


def configs(ewc_lams):
    out = [{"name": m, "method": m} for m in ("plain", "lr1e-4", "frozen", "discriminative", "gradual")]
    out += [{"name": f"ewc λ={lam:g}", "method": "ewc", "lam": lam} for lam in ewc_lams]
    return out


def tradeoff_configs(s: dict) -> list[dict]:
    out = [{"name": "plain", "method": "plain"}]
    out += [{"name": f"lr {lr:g}", "method": "lr", "lr": lr} for lr in s["lrs"]]
    out += [{"name": m, "method": m} for m in ("frozen", "discriminative", "gradual")]
    for family, label in (("l2_sp", "L2-SP"), ("l2_sp_free_head", "L2-SP head free")):
        out += [{"name": f"{label} λ={lam:g}", "method": family, "lam": lam} for lam in s["sp_lams"]]
    for family, label in (("ewc", "EWC empirical"), ("ewc_true", "EWC true")):
        out += [{"name": f"{label} λ={lam:g}", "method": family, "lam": lam} for lam in s["ewc_lams"]]
    return out


def statistics_rows(s: dict) -> list[dict]:
    """Per seed: the pretrained model with BatchNorm statistics re-estimated on the k-shot images only."""
    from ftlib.forgetting import statistics_only

    ref = SourceReference(fisher_per_class=s["fisher_per_class"])
    x_pool, y_pool = class_subset(*load_fashion_mnist("train"), TARGET_CLASSES)
    src = source_data("test", s["test_per_class"])
    rows = []
    for seed in s["seeds"]:
        x_k, _ = k_shot(x_pool, y_pool, s["k"], seed=seed)
        model = statistics_only(ref.model, x_k, passes=s["statistics_passes"])
        rows.append({"method": "statistics only", "seed": seed, "k": s["k"],
                     "source_accuracy": source_accuracy(model, ref.head, *src)})
    return rows


def curves(s: dict) -> dict:
    """Source (old head) and target accuracy during training, seed 0."""
    ref = SourceReference(fisher_per_class=s["fisher_per_class"])
    x_pool, y_pool = class_subset(*load_fashion_mnist("train"), TARGET_CLASSES)
    x_k, y_k = k_shot(x_pool, y_pool, s["k"], seed=0)
    tgt = stratified_head(*class_subset(*load_fashion_mnist("test"), TARGET_CLASSES), s["curve_per_class"])
    src = source_data("test", s["curve_per_class"])
    out = {}
    for name, method, lam in (("plain", "plain", 0.0), ("lr1e-4", "lr1e-4", 0.0),
                              (f"ewc λ={s['ewc_lams'][-1]:g}", "ewc", s["ewc_lams"][-1])):
        log = {"step": [0], "target": [], "source": []}
        model0 = ref.fresh(5, 0)
        log["target"].append(evaluate(model0, *tgt)["accuracy"])
        log["source"].append(source_accuracy(model0, ref.head, *src))
        model = ref.fresh(5, 0)

        def callback(step, history, model=model, log=log):
            if (step + 1) % s["curve_every"] == 0:
                log["step"].append(step + 1)
                log["target"].append(evaluate(model, *tgt)["accuracy"])
                log["source"].append(source_accuracy(model, ref.head, *src))
        fit(model, x_k, y_k, steps=s["steps"], lr=1e-4 if method == "lr1e-4" else 1e-3, batch_size=None, seed=0,
            progress=False, callback=callback,
            regularizer=ewc(model, ref.theta0, ref.fisher, lam) if method == "ewc" else None)
        out[name] = log
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("sweep", "tradeoff"), default="sweep")
    parser.add_argument("--small", action="store_true", help="tiny setting for the test suite")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = reproducible everywhere)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (to split a sweep over processes)")
    parser.add_argument("--skip-curves", action="store_true", help="only the sweep (e.g. for a second process)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    s = dict(SMALL if args.small else FULL)
    if args.part == "tradeoff":
        s.update(SMALL_TRADEOFF if args.small else TRADEOFF)
        args.skip_curves = True
    args.out = args.out or ROOT / "results" / ("forgetting.json" if args.part == "sweep" else
                                               f"forgetting_tradeoff{'_small' if args.small else ''}.json")
    if args.seeds:
        s["seeds"] = [int(v) for v in args.seeds.split(",")]
    started = time.perf_counter()
    result = {"settings": {**s, "source": "netb_source (classes 0-4)", "target_classes": list(TARGET_CLASSES),
                           "recipe": "full-batch Adam lr 1e-3 (lr1e-4: 1e-4), no augmentation",
                           "discriminative": "lr / 2.6 per block below the head",
                           "gradual": "head, +block3, +block2, +block1: steps/4 each",
                           "probe": "fresh linear probe (Adam 0.05, 300 steps) on pooled features of "
                                    "probe_per_class source train images per class",
                           "threads": args.threads}}

    def save(rows):
        result["rows"] = rows
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_result(args.out, result)

    if not args.skip_curves:
        result["curves"] = curves(s)
    done = []
    if args.part == "tradeoff":
        result["settings"]["statistics_only"] = "pretrained weights, BatchNorm statistics from statistics_passes " \
                                                "training-mode passes over the k-shot images, nothing trained"
        done = resumable_rows(args.out, result["settings"])
        result["statistics_only"] = statistics_rows(s)
    chosen = tradeoff_configs(s) if args.part == "tradeoff" else configs(s["ewc_lams"])
    rows = sweep(chosen, k=s["k"], seeds=s["seeds"], steps=s["steps"],
                 test_per_class=s["test_per_class"], probe_per_class=s["probe_per_class"],
                 fisher_per_class=s["fisher_per_class"], probe=True, verbose=not args.small, on_row=save, done=done)
    result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
    save(rows)
    print(f"wrote {args.out} ({len(rows)} runs)")


if __name__ == "__main__":
    main()
