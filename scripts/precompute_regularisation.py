"""Lesson 06's measurements: regularising fine-tuning with few labels -> results/regularisation.json.

Usage::

    python scripts/precompute_regularisation.py                 # the lesson's sweep (8 seeds)
    python scripts/precompute_regularisation.py --part curves   # -> results/regularisation_curves.json
    python scripts/precompute_regularisation.py --part lambda   # -> results/regularisation_lambda.json
    python scripts/precompute_regularisation.py --part decay    # -> results/regularisation_decay.json
    python scripts/precompute_regularisation.py --part curve_seeds  # -> results/regularisation_curve_seeds.json
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
``--part decay`` separates what "weight decay" can mean: the coupled L2 penalty on every parameter
(what ``weight_decay`` rows are), on the weights only (no BatchNorm γ/β, no biases: common practice),
on BatchNorm γ/β and biases only (the control that isolates them), and AdamW's decoupled decay on the
weights only and on every parameter (Loshchilov & Hutter 2019); grids fixed before the sweep.
``--part curve_seeds`` repeats the learning curves of ``--part curves`` on every seed, so their shapes
are asserted over 8 seeds rather than read off seed 0.
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
from ftlib.results import resumable_rows, write_result
from ftlib.training import fit

ROOT = Path(__file__).resolve().parent.parent
FULL = {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 100, "probe_per_class": 50,
        "fisher_per_class": 100, "wd_lams": [0.001], "sp_lams": [0.01, 0.1], "curve_steps": 300,
        "curve_val_per_class": 50}
LAMBDAS = {"wd_lams": [1e-4, 1e-3, 1e-2, 1e-1], "sp_lams": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]}
DECAY = {"l2_lams": [1e-3, 1e-2, 1e-1], "adamw_decays": [1e-2, 1e-1, 1.0, 10.0]}
SMALL_DECAY = {"l2_lams": [1e-2], "adamw_decays": [1.0]}
SMALL = {"k": 2, "seeds": [0], "steps": 4, "test_per_class": 10, "probe_per_class": 10,
         "fisher_per_class": 5, "wd_lams": [0.01], "sp_lams": [0.01], "curve_steps": 6, "curve_val_per_class": 4}


def configs(wd_lams, sp_lams, others=("dropout", "early_stopping", "augment")):
    out = [{"name": "plain", "method": "plain"}]
    out += [{"name": f"weight_decay λ={lam:g}", "method": "weight_decay", "lam": lam} for lam in wd_lams]
    out += [{"name": f"l2_sp λ={lam:g}", "method": "l2_sp", "lam": lam} for lam in sp_lams]
    out += [{"name": m, "method": m} for m in others]
    return out


def decay_configs(l2_lams, adamw_decays):
    out = [{"name": "plain", "method": "plain"}]
    for family, label in (("weight_decay", "L2 all"), ("l2_weights", "L2 weights"), ("l2_norm_bias", "L2 norm+bias")):
        out += [{"name": f"{label} λ={lam:g}", "method": family, "lam": lam} for lam in l2_lams]
    for family, label in (("adamw", "AdamW weights"), ("adamw_all", "AdamW all")):
        out += [{"name": f"{label} wd={d:g}", "method": family, "lam": d} for d in adamw_decays]
    return out


def curves(s: dict, seed: int = 0) -> dict:
    """Training and validation loss every 10 steps over a long run (one seed): overfitting made visible.

    Three runs on the same k-shot subset: Net-B from scratch, plain fine-tuning, and fine-tuning
    with L2-SP (λ=0.1).  The recorded training loss is what ``fit`` minimises (cross-entropy
    plus the penalty).
    """
    ref = SourceReference(fisher_per_class=s["fisher_per_class"])
    x_pool, y_pool = class_subset(*load_fashion_mnist("train"), TARGET_CLASSES)
    x_k, y_k = k_shot(x_pool, y_pool, s["k"], seed=seed)
    val = k_shot(x_pool, y_pool, s["curve_val_per_class"], seed=10_000 + seed)
    out = {}
    for name in ("scratch", "plain", "l2_sp λ=0.1"):
        if name == "scratch":
            torch.manual_seed(seed)
            model = NetB(5)
        else:
            model = ref.fresh(5, seed)
        h = fit(model, x_k, y_k, steps=s["curve_steps"], lr=1e-3, batch_size=None, seed=seed, progress=False,
                val=val, eval_every=max(1, s["curve_steps"] // 30),
                regularizer=l2_sp(model, ref.theta0, 0.1) if name.startswith("l2_sp") else None)
        out[name] = {"step": h.step, "train_loss": h.loss, "eval_step": h.eval_step, "val_loss": h.val_loss,
                     "val_acc": h.val_acc}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("sweep", "curves", "lambda", "decay", "curve_seeds"), default="sweep",
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
    if args.part == "decay":
        s.update(SMALL_DECAY if args.small else DECAY)
    if args.seeds:
        s["seeds"] = [int(v) for v in args.seeds.split(",")]
    args.out = args.out or ROOT / "results" / {"sweep": "regularisation.json", "curves": "regularisation_curves.json",
                                               "lambda": "regularisation_lambda.json", "decay": "regularisation_decay.json",
                                               "curve_seeds": "regularisation_curve_seeds.json"}[args.part]
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
    if args.part == "curve_seeds":
        result["curves"] = {}
        result["settings"]["curves"] = "as --part curves, on every seed (validation seed 10000 + seed)"
        for seed in s["seeds"]:
            result["curves"][str(seed)] = curves(s, seed)
            write_result(args.out, result)
            print(f"curves of seed {seed} done", flush=True)
        result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
        write_result(args.out, result)
        return
    if args.part == "decay":
        chosen = decay_configs(s["l2_lams"], s["adamw_decays"])
        result["settings"]["decay"] = ("L2 = λ·Σθ² added to the loss under Adam (coupled); AdamW = decoupled "
                                       "θ ← θ − lr·wd·θ; 'weights' = no BatchNorm γ/β and no biases")
    else:
        others = () if args.part == "lambda" else ("dropout", "early_stopping", "augment")
        chosen = configs(s["wd_lams"], s["sp_lams"], others)
    done = resumable_rows(args.out, result["settings"])
    rows = sweep(chosen, k=s["k"], seeds=s["seeds"], steps=s["steps"],
                 test_per_class=s["test_per_class"], probe_per_class=s["probe_per_class"],
                 fisher_per_class=s["fisher_per_class"], probe=False, verbose=not args.small, on_row=save, done=done)
    result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
    save(rows)
    print(f"wrote {args.out} ({len(rows)} runs)")


if __name__ == "__main__":
    main()
