"""Lesson 08's measurements: negative transfer and domain shift -> results/negative_transfer.json,
results/domain_shift.json.

Usage::

    python scripts/precompute_domain_shift.py --part negative     # 8 seeds
    python scripts/precompute_domain_shift.py --part shift        # 8 seeds, both shifts
    python scripts/precompute_domain_shift.py --part shift --shift rotate90   # -> domain_shift_rotate90.json
    python scripts/precompute_domain_shift.py --part invariance   # 8 seeds -> domain_invariance.json
    python scripts/precompute_domain_shift.py --part negative --small --out results/negative_transfer_small.json

*negative*: target classes 5-9, k labelled images per class; scratch versus three sources,
each fine-tuned end to end and used as frozen features (only the fresh head trains): the
related source (data/netb_source: classes 0-4), shuffled labels trained 235 steps
(data/netb_shuffled, never fitted them) and shuffled labels memorised (data/netb_memorised:
2,000 images, 100 % on their random labels), plus a control: a randomly initialised Net-B
used as frozen features (frozen sources train only their fresh head, at 1e-2: lesson 04's
rate for a new head); the fine-tuned related and 235-step shuffled sources are also combined
by averaging their probabilities.  COURSE.md's recipe: 100 full-batch Adam steps lr 1e-3,
±2 px shifts + flips, fresh head.

*shift*: all ten classes in a shifted domain (contrast inversion + Gaussian noise σ=60,
or a 90° rotation) with data/netb_all10 (pretrained on clean images of all ten classes)
as the source.  Source-only accuracy and AdaBN (statistics from 2,000 unlabelled shifted
training images) are deterministic; per seed: scratch and fine-tuning with k labels per
class, DANN (no target labels: clean labelled source + unlabelled shifted images),
and one round of pseudo-labelling on top of the fine-tuned model.

*invariance*: after training, can a fresh domain classifier still tell clean from
inverted+noisy features?  Held-out test images (each image in one domain only) go through
the source model (its pretraining statistics), AdaBN and each seed's DANN (both: each domain
normalised by its own statistics); :func:`ftlib.domain.domain_separability` trains a new
MLP on half of the features and scores the other half (0.5 = indistinguishable).  Each
seed's DANN is retrained exactly as in *shift*, and its target accuracy is recorded too.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ftlib import experiments as E
from ftlib.augment import shift_flip
from ftlib.data import k_shot, load_fashion_mnist
from ftlib.domain import (adabn, dann, domain_features, domain_separability, ensemble_predict, invert_noise,
                          rotate90, self_train)
from ftlib.forgetting import stratified_head
from ftlib.freezing import freeze_to
from ftlib.models import NetB, load_pretrained
from ftlib.results import write_result
from ftlib.training import evaluate

ROOT = Path(__file__).resolve().parent.parent
FULL = {"negative": {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 100},
        "shift": {"k": 5, "seeds": list(range(8)), "steps": 100, "test_per_class": 50, "unlabelled": 2000,
                  "dann_steps": 100, "dann_batch": 32, "dann_lam": 0.3, "pseudo_steps": 20, "pseudo_batch": 64,
                  "pseudo_threshold": 0.9, "pseudo_max": 1000, "shifts": ["invert+noise", "rotate90"]},
        "invariance": {"seeds": list(range(8)), "test_per_class": 50, "unlabelled": 2000, "dann_steps": 100,
                       "dann_batch": 32, "dann_lam": 0.3, "held_out": 2000, "classifier_steps": 200}}
SMALL = {"negative": {"k": 1, "seeds": [0], "steps": 3, "test_per_class": 10},
         "shift": {"k": 1, "seeds": [0], "steps": 3, "test_per_class": 5, "unlabelled": 50, "dann_steps": 3,
                   "dann_batch": 8, "dann_lam": 0.3, "pseudo_steps": 2, "pseudo_batch": 8, "pseudo_threshold": 0.5,
                   "pseudo_max": 20,
                   "shifts": ["invert+noise", "rotate90"]},
         "invariance": {"seeds": [0], "test_per_class": 5, "unlabelled": 50, "dann_steps": 3, "dann_batch": 8,
                        "dann_lam": 0.3, "held_out": 40, "classifier_steps": 20}}


NEGATIVE_SOURCES = {"source (classes 0-4)": "netb_source",        # related clothing classes
                    "shuffled labels": "netb_shuffled",           # 235 steps: never fitted its random labels
                    "memorised labels": "netb_memorised"}         # 2,000 random labels fitted to 100 %


# a frozen backbone's new head trains at 10x the fine-tuning rate: lesson 04 section 4 measured that the
# fine-tuning rate (1e-3) under-trains a head alone, which would blame the features for the head's recipe
FROZEN_HEAD_LR = 1e-2


def accuracy_of_probs(probs: torch.Tensor, y: torch.Tensor) -> float:
    return (probs.argmax(1) == y).float().mean().item()


def random_frozen(steps: int):
    """A method: Net-B at its seeded random initialisation, every block frozen, only the head trains.

    The control for frozen sources: is a frozen source worse than features nobody trained?
    """
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        model = NetB(int(y.max()) + 1)
        freeze_to(model, 3)
        return E.finetune(model, x, y, steps=steps, lr=FROZEN_HEAD_LR, seed=seed)
    return run


def negative(s: dict, on_row=None) -> dict:
    task = E.class_task()
    x_test, y_test = stratified_head(task.x_test, task.y_test, s["test_per_class"])
    methods = {"scratch": E.scratch(steps=s["steps"])}
    for name, weights in NEGATIVE_SOURCES.items():
        methods[name] = E.pretrained(steps=s["steps"], weights=weights)
    for name, weights in NEGATIVE_SOURCES.items():  # frozen features: only the fresh head trains, at 1e-2
        methods[f"{name}, frozen"] = E.pretrained(lr=FROZEN_HEAD_LR, steps=s["steps"], weights=weights,
                                                  frozen_blocks=3)
    methods["random init, frozen"] = random_frozen(s["steps"])  # control: features nobody trained
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
        print(f"seed {seed}: " + ", ".join(f"{r['method']} {r['accuracy']:.4f}" for r in rows[-len(methods) - 2:]),
              flush=True)
        if on_row is not None:
            on_row({"rows": rows})
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
                d, log = trained_dann(x_train, y_train, x_unl, s, seed)
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


def trained_dann(x_train, y_train, x_unl, s: dict, seed: int):
    """Each seed's DANN, exactly as *shift* trains it (same data, same seeds)."""
    torch.manual_seed(seed)
    d = load_pretrained("netb_all10")
    i = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:5000]
    log = dann(d, x_train[i], y_train[i], x_unl, steps=s["dann_steps"], batch_size=s["dann_batch"],
               lam=s["dann_lam"], seed=seed)
    return d, log


def invariance(s: dict) -> dict:
    x_train, y_train = load_fashion_mnist("train")
    x_all_test, y_all_test = load_fashion_mnist("test")
    x_test, y_test = stratified_head(x_all_test, y_all_test, s["test_per_class"])
    unl_idx = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(123))[:s["unlabelled"]]
    x_unl = shifted(x_train, "invert+noise", seed=1)[unl_idx]   # the target statistics (as AdaBN and DANN)
    x_clean_stats = x_train[unl_idx]                             # the same images, clean: the source statistics
    order = torch.randperm(len(x_all_test), generator=torch.Generator().manual_seed(321))
    n = s["held_out"] // 2                                      # n clean images, n *other* images shifted
    held_clean = x_all_test[order[:n]]
    held_shift = shifted(x_all_test[order[n:2 * n]], "invert+noise", seed=3)
    steps = s["classifier_steps"]

    def separability(model, per_domain: bool, seed: int) -> float:
        fa = domain_features(model, held_clean, x_clean_stats if per_domain else None)
        fb = domain_features(model, held_shift, x_unl if per_domain else None)
        return domain_separability(fa, fb, steps=steps, seed=seed)

    source = load_pretrained("netb_all10")
    rows = []
    for seed in s["seeds"]:
        d, log = trained_dann(x_train, y_train, x_unl, s, seed)
        acc = {"source-only": separability(source, False, seed), "AdaBN": separability(source, True, seed),
               "DANN": separability(d, True, seed)}
        for name, value in acc.items():
            rows.append({"method": name, "seed": seed, "domain_accuracy": value})
        rows.append({"method": "DANN target accuracy", "seed": seed,
                     "accuracy": evaluate(d, shifted(x_test, "invert+noise", seed=2), y_test)["accuracy"]})
        rows.append({"method": "DANN co-trained domain acc (last 10 batches)", "seed": seed,
                     "domain_accuracy": sum(log["domain_acc"][-10:]) / len(log["domain_acc"][-10:])})
        print(f"seed {seed}: held-out domain accuracy " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items())
              + f"; DANN target accuracy {rows[-2]['accuracy']:.4f}", flush=True)
    return {"rows": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("negative", "shift", "invariance"), required=True)
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
    stem = {"negative": "negative_transfer", "shift": "domain_shift", "invariance": "domain_invariance"}[args.part]
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

    if args.part == "negative":
        result.update(negative(s, on_row=save))
    elif args.part == "invariance":
        result.update(invariance(s))
    else:
        result.update(shift_part(s, on_row=save))
    result["seconds_not_reproducible"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_result(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
