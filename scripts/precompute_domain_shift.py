"""Lesson 08's measurements: negative transfer and domain shift -> results/negative_transfer.json,
results/domain_shift.json.

Usage::

    python scripts/precompute_domain_shift.py --part negative     # 8 seeds
    python scripts/precompute_domain_shift.py --part shift        # 8 seeds, both shifts
    python scripts/precompute_domain_shift.py --part shift --shift rotate90   # -> domain_shift_rotate90.json
    python scripts/precompute_domain_shift.py --part negative --small --out results/negative_transfer_small.json

*negative*: target classes 5-9, k labelled images per class; scratch versus fine-tuning
the helpful source (data/netb_source: classes 0-4) and a harmful one (data/netb_shuffled:
all ten classes with shuffled labels); the two fine-tuned sources are also combined by
averaging their probabilities.  COURSE.md's recipe: 100 full-batch Adam steps lr 1e-3,
±2 px shifts + flips, fresh head.

*shift*: all ten classes in a shifted domain (contrast inversion + Gaussian noise σ=60,
or a 90° rotation) with data/netb_all10 (pretrained on clean images of all ten classes)
as the source.  Source-only accuracy and AdaBN (statistics from 2,000 unlabelled shifted
training images) are deterministic; per seed: scratch and fine-tuning with k labels per
class, DANN (no target labels: clean labelled source + unlabelled shifted images),
and one round of pseudo-labelling on top of the fine-tuned model.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ftlib import experiments as E
from ftlib.augment import shift_flip
from ftlib.data import k_shot, load_fashion_mnist
from ftlib.domain import adabn, dann, ensemble_predict, invert_noise, rotate90, self_train
from ftlib.forgetting import stratified_head
from ftlib.models import load_pretrained
from ftlib.results import write_result
from ftlib.training import evaluate

ROOT = Path(__file__).resolve().parent.parent
FULL = {"negative": {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 100},
        "shift": {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 50, "unlabelled": 2000,
                  "dann_steps": 100, "dann_batch": 32, "dann_lam": 0.3, "pseudo_steps": 20, "pseudo_batch": 64,
                  "pseudo_threshold": 0.9, "pseudo_max": 1000, "shifts": ["invert+noise", "rotate90"]}}
SMALL = {"negative": {"k": 1, "seeds": [0], "steps": 3, "test_per_class": 10},
         "shift": {"k": 1, "seeds": [0], "steps": 3, "test_per_class": 5, "unlabelled": 50, "dann_steps": 3,
                   "dann_batch": 8, "dann_lam": 0.3, "pseudo_steps": 2, "pseudo_batch": 8, "pseudo_threshold": 0.5,
                   "pseudo_max": 20,
                   "shifts": ["invert+noise", "rotate90"]}}


def accuracy_of_probs(probs: torch.Tensor, y: torch.Tensor) -> float:
    return (probs.argmax(1) == y).float().mean().item()


def negative(s: dict) -> dict:
    task = E.class_task()
    x_test, y_test = stratified_head(task.x_test, task.y_test, s["test_per_class"])
    methods = {"scratch": E.scratch(steps=s["steps"]),
               "source (classes 0-4)": E.pretrained(steps=s["steps"], weights="netb_source"),
               "shuffled labels": E.pretrained(steps=s["steps"], weights="netb_shuffled")}
    rows = []
    for seed in s["seeds"]:
        x_k, y_k = k_shot(task.x_pool, task.y_pool, s["k"], seed=seed)
        models = {}
        for name, method in methods.items():
            models[name] = method(x_k, y_k, seed)
            rows.append({"method": name, "k": s["k"], "seed": seed,
                         "accuracy": evaluate(models[name], x_test, y_test)["accuracy"]})
        for name, pair in (("ensemble: source + shuffled", ("source (classes 0-4)", "shuffled labels")),
                           ("ensemble: source + scratch", ("source (classes 0-4)", "scratch"))):
            probs = ensemble_predict([models[p] for p in pair], x_test)
            rows.append({"method": name, "k": s["k"], "seed": seed, "accuracy": accuracy_of_probs(probs, y_test)})
        print(f"seed {seed}: " + ", ".join(f"{r['method']} {r['accuracy']:.4f}" for r in rows[-5:]), flush=True)
    return {"rows": rows}


def shifted(x: torch.Tensor, name: str, seed: int) -> torch.Tensor:
    return invert_noise(x, 60.0, seed=seed) if name == "invert+noise" else rotate90(x)


def shift_part(s: dict, on_row=None) -> dict:
    x_train, y_train = load_fashion_mnist("train")
    x_test, y_test = stratified_head(*load_fashion_mnist("test"), s["test_per_class"])
    source = load_pretrained("netb_all10")
    out = {"zero_shot": {"clean": evaluate(source, x_test, y_test)["accuracy"]}, "rows": []}
    g = torch.Generator().manual_seed(123)
    unl_idx = torch.randperm(len(x_train), generator=g)[:s["unlabelled"]]
    for shift_name in s["shifts"]:
        xs_train = shifted(x_train, shift_name, seed=1)
        xs_test = shifted(x_test, shift_name, seed=2)
        x_unl = xs_train[unl_idx]
        model = load_pretrained("netb_all10")
        out["zero_shot"][shift_name] = evaluate(model, xs_test, y_test)["accuracy"]
        out["zero_shot"][f"{shift_name} + AdaBN"] = evaluate(adabn(model, x_unl), xs_test, y_test)["accuracy"]
        for seed in s["seeds"]:
            x_k, y_k = k_shot(xs_train, y_train, s["k"], seed=seed)
            res = {"scratch": E.scratch(steps=s["steps"])(x_k, y_k, seed)}
            ft = E.pretrained(steps=s["steps"], weights="netb_all10")(x_k, y_k, seed)
            res["fine-tune all10"] = ft
            acc = {name: evaluate(m, xs_test, y_test)["accuracy"] for name, m in res.items()}
            if shift_name == "invert+noise":
                torch.manual_seed(seed)
                d = load_pretrained("netb_all10")
                i = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:5000]
                log = dann(d, x_train[i], y_train[i], x_unl, steps=s["dann_steps"], batch_size=s["dann_batch"],
                           lam=s["dann_lam"], seed=seed)
                acc["DANN (no target labels)"] = evaluate(d, xs_test, y_test)["accuracy"]
                acc["DANN final domain acc"] = sum(log["domain_acc"][-10:]) / len(log["domain_acc"][-10:])
                info = self_train(ft, x_k, y_k, x_unl, threshold=s["pseudo_threshold"], steps=s["pseudo_steps"],
                                  seed=seed, augment=shift_flip(), max_pseudo=s["pseudo_max"],
                                  batch_size=s["pseudo_batch"])
                acc["fine-tune + pseudo-labels"] = evaluate(ft, xs_test, y_test)["accuracy"]
                acc["pseudo-labels used"] = float(info["pseudo_labels"])
                truth = y_train[unl_idx][info["indices"]]
                acc["pseudo-label precision"] = (truth == info["labels"]).float().mean().item() \
                    if len(truth) else 0.0
            for name, value in acc.items():
                out["rows"].append({"shift": shift_name, "method": name, "k": s["k"], "seed": seed,
                                    "accuracy": value})
            print(f"{shift_name} seed {seed}: " + ", ".join(f"{n} {v:.4f}" for n, v in acc.items()), flush=True)
            if on_row is not None:
                on_row(out)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("negative", "shift"), required=True)
    parser.add_argument("--shift", choices=("invert+noise", "rotate90"), default=None,
                        help="with --part shift: only this shift (default: both)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (to split a sweep over processes)")
    parser.add_argument("--small", action="store_true", help="tiny setting for the test suite")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = reproducible everywhere)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    s = dict((SMALL if args.small else FULL)[args.part])
    if args.seeds:
        s["seeds"] = [int(v) for v in args.seeds.split(",")]
    stem = "negative_transfer" if args.part == "negative" else "domain_shift"
    if args.part == "shift" and args.shift:
        s["shifts"] = [args.shift]
        stem += "_" + args.shift.replace("+", "_")
    out = args.out or ROOT / "results" / f"{stem}.json"
    started = time.perf_counter()
    result = {"settings": {**s, "part": args.part, "threads": args.threads,
                           "recipe": "100 full-batch Adam steps lr 1e-3, ±2 px shift + flip, fresh head (COURSE.md)"}}
    def save(part):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_result(out, {**result, **part})

    result.update(negative(s) if args.part == "negative" else shift_part(s, on_row=save))
    result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_result(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
