"""Lesson 06's measurements: regularising fine-tuning with few labels -> results/regularisation.json.

Usage::

    python scripts/precompute_regularisation.py                 # the lesson's sweep (8 seeds)
    python scripts/precompute_regularisation.py --part curves   # -> results/regularisation_curves.json
    python scripts/precompute_regularisation.py --part lambda   # -> results/regularisation_lambda.json
    python scripts/precompute_regularisation.py --small --out results/regularisation_small.json

Setting (recorded in the JSON): the shipped Net-B pretrained on classes 0-4, a fresh head
for classes 5-9, k labelled images per class, full-batch Adam (lr 1e-3) for 100 steps,
*no* augmentation unless the method is ``augment``; every method sees the same k-shot
subset within a seed.  Methods: plain fine-tuning, weight decay λ‖θ‖², L2-SP
λ‖θ−θ₀‖² (+λ‖θ_head‖²), dropout 0.5 before the head, early stopping on a validation
set of another k per class, torchvision augmentation.  ``--part curves`` records
learning curves (training and validation loss over 300 steps, seed 0) of training from
scratch, plain fine-tuning and fine-tuning with L2-SP (λ=0.1).  ``--part lambda`` sweeps λ
for weight decay and L2-SP (8 paired seeds, plain fine-tuning as λ = 0) for lesson 06's curve.
Each row also has the source-task accuracy through the old head (used by lesson 07).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ftlib.data import class_subset, k_shot, load_fashion_mnist
from ftlib.forgetting import TARGET_CLASSES, SourceReference, sweep
from ftlib.models import NetB
from ftlib.regularizers import l2_sp
from ftlib.results import write_result
from ftlib.training import fit

ROOT = Path(__file__).resolve().parent.parent
FULL = {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 100, "probe_per_class": 50,
        "fisher_per_class": 100, "wd_lams": [0.001], "sp_lams": [0.01, 0.1], "curve_steps": 300,
        "curve_val_per_class": 50}
LAMBDAS = {"wd_lams": [1e-4, 1e-3, 1e-2, 1e-1], "sp_lams": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]}
SMALL = {"k": 2, "seeds": [0], "steps": 4, "test_per_class": 10, "probe_per_class": 10,
         "fisher_per_class": 5, "wd_lams": [0.01], "sp_lams": [0.01], "curve_steps": 6, "curve_val_per_class": 4}


def configs(wd_lams, sp_lams, others=("dropout", "early_stopping", "augment")):
    out = [{"name": "plain", "method": "plain"}]
    out += [{"name": f"weight_decay λ={lam:g}", "method": "weight_decay", "lam": lam} for lam in wd_lams]
    out += [{"name": f"l2_sp λ={lam:g}", "method": "l2_sp", "lam": lam} for lam in sp_lams]
    out += [{"name": m, "method": m} for m in others]
    return out


def curves(s: dict) -> dict:
    """Training and validation loss every 10 steps over a long run (seed 0): overfitting made visible.

    Three runs on the same k-shot subset: Net-B from scratch, plain fine-tuning, and fine-tuning
    with L2-SP (λ=0.1).  The recorded training loss is what ``fit`` minimises (cross-entropy
    plus the penalty).
    """
    ref = SourceReference(fisher_per_class=s["fisher_per_class"])
    x_pool, y_pool = class_subset(*load_fashion_mnist("train"), TARGET_CLASSES)
    x_k, y_k = k_shot(x_pool, y_pool, s["k"], seed=0)
    val = k_shot(x_pool, y_pool, s["curve_val_per_class"], seed=10_000)
    out = {}
    for name in ("scratch", "plain", "l2_sp λ=0.1"):
        if name == "scratch":
            torch.manual_seed(0)
            model = NetB(5)
        else:
            model = ref.fresh(5, 0)
        h = fit(model, x_k, y_k, steps=s["curve_steps"], lr=1e-3, batch_size=None, seed=0, progress=False,
                val=val, eval_every=max(1, s["curve_steps"] // 30),
                regularizer=l2_sp(model, ref.theta0, 0.1) if name.startswith("l2_sp") else None)
        out[name] = {"step": h.step, "train_loss": h.loss, "eval_step": h.eval_step, "val_loss": h.val_loss,
                     "val_acc": h.val_acc}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("sweep", "curves", "lambda"), default="sweep",
                        help="sweep: the paired comparison; curves: learning curves of long runs")
    parser.add_argument("--small", action="store_true", help="tiny setting for the test suite")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = reproducible everywhere)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (to split a sweep over processes)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    s = dict(SMALL if args.small else FULL)
    if args.part == "lambda" and not args.small:
        s.update(LAMBDAS)
    if args.seeds:
        s["seeds"] = [int(v) for v in args.seeds.split(",")]
    args.out = args.out or ROOT / "results" / {"sweep": "regularisation.json", "curves": "regularisation_curves.json",
                                               "lambda": "regularisation_lambda.json"}[args.part]
    started = time.perf_counter()
    result = {"settings": {**s, "source": "netb_source (classes 0-4)", "target_classes": list(TARGET_CLASSES),
                           "recipe": "full-batch Adam lr 1e-3, no augmentation unless 'augment'",
                           "early_stopping": "eval every 10 steps, patience 3, best weights restored",
                           "dropout": 0.5, "augment": "torchvision v2 RandomAffine(10°, 10 %) + RandomHorizontalFlip",
                           "threads": args.threads}}

    def save(rows):
        result["rows"] = rows
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_result(args.out, result)

    if args.part == "curves":
        result["curves"] = curves(s)
        result["settings"]["curves"] = "seed 0, k-shot as in the sweep, validation: curve_val_per_class " \
                                       "images per class (seed 10000), evaluated every curve_steps/30 steps"
        result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
        write_result(args.out, result)
        print(f"wrote {args.out}")
        return
    others = () if args.part == "lambda" else ("dropout", "early_stopping", "augment")
    rows = sweep(configs(s["wd_lams"], s["sp_lams"], others), k=s["k"], seeds=s["seeds"], steps=s["steps"],
                 test_per_class=s["test_per_class"], probe_per_class=s["probe_per_class"],
                 fisher_per_class=s["fisher_per_class"], probe=False, verbose=not args.small, on_row=save)
    result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
    save(rows)
    print(f"wrote {args.out} ({len(rows)} runs)")


if __name__ == "__main__":
    main()
