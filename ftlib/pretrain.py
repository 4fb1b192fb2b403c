"""Reproduce the shipped pretrained backbone: ``python -m ftlib.pretrain`` (``make pretrain``).

Recipe (see COURSE.md, measured on a 2-core CPU): Net-B (241k parameters) trained on the
*source* classes 0-4 of the shipped Fashion-MNIST subset with Adam 2e-3, cosine decay,
batch 128, ±2 px shifts and horizontal flips.  The same seed on the same machine gives
the same weights; the sidecar JSON records the recipe and the source test accuracy.
Other sources for lesson 08 use the same script: all ten classes (``netb_all10``), shuffled
labels for 235 steps (``netb_shuffled``) and shuffled labels *memorised*: 2,000 images, no
augmentation, 1,000 steps, 100 % on its own random labels (``netb_memorised``)::

    python -m ftlib.pretrain --name netb_memorised --classes 0,1,2,3,4,5,6,7,8,9 --shuffle-labels \
        --examples 2000 --no-augment --steps 1000
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ftlib.augment import shift_flip
from ftlib.checkpoint import save_weights
from ftlib.data import CLASS_NAMES, DATA_DIR, DATA_FILE, MEAN, STD, class_subset, load_fashion_mnist, sha256_of
from ftlib.make_data import update_manifest
from ftlib.models import NetB
from ftlib.training import evaluate, fit

SOURCE_CLASSES = (0, 1, 2, 3, 4)
RECIPE = {"optimizer": "Adam", "lr": 2e-3, "schedule": "cosine", "batch_size": 128, "steps": 1410,
          "augmentation": "shift ±2 px + horizontal flip", "seed": 0}


def pretrain(classes=SOURCE_CLASSES, steps: int = RECIPE["steps"], seed: int = 0,
             shuffle_labels: bool = False, progress: bool = True, examples: int | None = None,
             augment: bool = True) -> tuple[NetB, dict]:
    """Train Net-B on ``classes`` of the shipped train split; return (model, sidecar dict).

    ``examples`` keeps only the first that many training images (after shuffling the labels);
    ``augment=False`` trains without shifts and flips (so random labels can be memorised).
    """
    if examples is not None and (isinstance(examples, bool) or not isinstance(examples, int) or examples < 1):
        raise ValueError(f"examples must be a whole number >= 1 (or None for all), got {examples!r}")
    torch.manual_seed(seed)
    x, y = class_subset(*load_fashion_mnist("train"), classes)
    if shuffle_labels:  # a deliberately useless source for lesson 08
        y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed + 1))]
    if examples is not None:
        if examples > len(x):
            raise ValueError(f"examples={examples} but the training split has only {len(x)} images of these classes")
        x, y = x[:examples], y[:examples]
    xt, yt = class_subset(*load_fashion_mnist("test"), classes)
    model = NetB(num_classes=len(classes))
    started = time.perf_counter()
    fit(model, x, y, steps=steps, lr=RECIPE["lr"], batch_size=RECIPE["batch_size"], schedule="cosine",
        augment=shift_flip(2, True) if augment else None, seed=seed, progress=progress)
    seconds = time.perf_counter() - started
    metrics = evaluate(model, xt, yt)
    own = evaluate(model, x, y)  # on the labels it was trained on (shuffled ones, if shuffled)
    meta = {
        "architecture": {"name": "NetB", **model.config},
        "classes": list(classes), "class_names": [CLASS_NAMES[c] for c in classes],
        "normalisation": {"mean": MEAN, "std": STD, "input": "1×28×28 grayscale, uint8/255"},
        "data": {"file": DATA_FILE, "sha256": sha256_of(DATA_DIR / DATA_FILE), "split": "train",
                 "examples": len(x), "shuffled_labels": shuffle_labels},
        "recipe": {**RECIPE, "steps": steps, "seed": seed,
                   "augmentation": RECIPE["augmentation"] if augment else "none"},
        "metrics": {"source_test_accuracy": round(metrics["accuracy"], 4),
                    "source_test_loss": round(metrics["loss"], 4), "test_examples": len(xt),
                    "own_training_accuracy": round(own["accuracy"], 4), "own_training_loss": round(own["loss"], 4)},
        "training_seconds": round(seconds, 1), "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return model, meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="netb_source", help="output stem inside --out")
    parser.add_argument("--classes", default="0,1,2,3,4", help="comma-separated source classes")
    parser.add_argument("--steps", type=int, default=RECIPE["steps"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shuffle-labels", action="store_true")
    parser.add_argument("--examples", type=int, default=None, help="keep only the first N training images")
    parser.add_argument("--no-augment", action="store_true", help="train without shifts and flips")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--overwrite", action="store_true", help="replace existing weights")
    args = parser.parse_args(argv)
    classes = tuple(int(c) for c in args.classes.split(","))
    existing = [p for p in (args.out / f"{args.name}.safetensors", args.out / f"{args.name}.json") if p.exists()]
    if existing and not args.overwrite:  # say so before spending minutes on training
        raise FileExistsError(f"{existing[0]} already exists; pass --overwrite to replace it (nothing was trained)")
    model, meta = pretrain(classes, args.steps, args.seed, args.shuffle_labels, examples=args.examples,
                           augment=not args.no_augment)
    weights, sidecar = save_weights(model, args.out / args.name, meta, overwrite=args.overwrite)
    if args.out.resolve() == DATA_DIR.resolve():
        update_manifest(DATA_DIR, weights.name)
        update_manifest(DATA_DIR, sidecar.name)
    print(f"{args.name}: source test accuracy {meta['metrics']['source_test_accuracy']:.4f} "
          f"after {args.steps} steps in {meta['training_seconds']} s -> {weights}")


if __name__ == "__main__":
    main()
