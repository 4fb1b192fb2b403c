"""Honest comparisons: paired k-shot experiments over seeds (lessons 04-08).

Every method sees *the same* k-shot subset within a seed, so differences between methods
are paired: per seed, ``method − baseline``.  ``summarize`` reports mean ± std, the mean
paired difference with a 95 % t-interval, and how many seeds each method won.

A *method* is a function ``(x_k, y_k, seed) -> trained model``; ``run_paired`` evaluates
it on the task's test set.
"""
from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ftlib import guards
from ftlib.augment import shift_flip
from ftlib.results import load_result
from ftlib.data import class_subset, k_shot, load_fashion_mnist, to_input
from ftlib.freezing import ULMFIT_FACTOR, discriminative_lrs, freeze_to, make_group_optimizer
from ftlib.models import NetB, load_pretrained, replace_head
from ftlib.probing import fit_probe_model
from ftlib.schedules import gradual_unfreezing, slanted_triangular
from ftlib.training import evaluate, fit

Method = Callable[[torch.Tensor, torch.Tensor, int], nn.Module]
SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
# two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)


@dataclass
class Task:
    """A classification task: a training pool to draw k-shot subsets from, and a test set."""

    name: str
    x_pool: torch.Tensor
    y_pool: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def num_classes(self) -> int:
        return int(self.y_pool.max()) + 1


def class_task(classes: Sequence[int] = TARGET_CLASSES, name: str | None = None) -> Task:
    """The shipped Fashion-MNIST restricted to ``classes`` (relabelled 0..n-1)."""
    x, y = class_subset(*load_fashion_mnist("train"), classes)
    xt, yt = class_subset(*load_fashion_mnist("test"), classes)
    return Task(name or f"classes {list(classes)}", x, y, xt, yt)


def finetune(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int = 100, lr: float = 1e-3,
             seed: int = 0, augment: bool = True, **fit_kwargs) -> nn.Module:
    """COURSE.md's recipe: full-batch Adam, ±2 px shifts + flips; returns the trained model.

    The :class:`ftlib.training.History` of the run is kept as ``model.fit_history``.
    """
    history = fit(model, x, y, steps=steps, lr=lr, batch_size=None, seed=seed, progress=False,
                  augment=shift_flip() if augment else None, **fit_kwargs)
    model.fit_history = history
    return model


def scratch(lr: float = 1e-3, steps: int = 100, **fit_kwargs) -> Method:
    """A method: Net-B from random initialisation (seeded), trained with :func:`finetune`."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return finetune(NetB(int(y.max()) + 1), x, y, steps=steps, lr=lr, seed=seed, **fit_kwargs)
    return run


def _pretrained_with_head(weights: str, num_classes: int, seed: int) -> NetB:
    model = replace_head(load_pretrained(weights), num_classes, seed=seed)
    model.source_weights = weights  # lets source_retention() find the source head again
    return model


def pretrained(lr: float = 1e-3, steps: int = 100, frozen_blocks: int = 0,
               weights: str = "netb_source", **fit_kwargs) -> Method:
    """A method: shipped pretrained Net-B, fresh head, first ``frozen_blocks`` blocks frozen."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        freeze_to(model, frozen_blocks)
        return finetune(model, x, y, steps=steps, lr=lr, seed=seed, **fit_kwargs)
    return run


def discriminative(lr: float = 1e-3, steps: int = 100, factor: float = ULMFIT_FACTOR,
                   gradual: bool = False, stlr: bool = False, weights: str = "netb_source",
                   **fit_kwargs) -> Method:
    """A method (lesson 05): pretrained Net-B with ULMFiT's ingredients, each optional.

    - ``factor``: discriminative rates, head ``lr`` and each lower block ÷ ``factor``
      (``factor=1`` gives every block the same rate);
    - ``gradual``: unfreeze one block at a time from the top, in equal stages;
    - ``stlr``: slanted triangular learning rates instead of a constant rate.
    """
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        freeze_to(model, 0)
        callback = gradual_unfreezing(model, steps) if gradual else None
        optimizer = make_group_optimizer(model, discriminative_lrs(model, lr, factor), include_frozen=True)
        return finetune(model, x, y, steps=steps, seed=seed, optimizer=optimizer, callback=callback,
                        schedule=slanted_triangular() if stlr else None, **fit_kwargs)
    return run


def naive_frozen(lr: float = 1e-3, steps: int = 100, weights: str = "netb_source") -> Method:
    """A method (lesson 04, the BatchNorm trap): feature extraction written as plain PyTorch.

    The backbone is frozen with ``requires_grad_(False)`` only and trained with
    ``model.train()`` every step — so its BatchNorm layers keep *training mode*: they
    normalise with the statistics of each target batch and overwrite their running
    statistics.  Same data, augmentation, seed and optimizer as ``pretrained(frozen_blocks=3)``.
    """
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        for name in ("block1", "block2", "block3"):
            getattr(model, name).requires_grad_(False)
        optimizer = torch.optim.Adam(model.head.parameters(), lr=lr)
        inputs, augment = to_input(x), shift_flip()
        y = guards.as_labels(y, model.head.out_features, n=len(inputs))
        generator = torch.Generator().manual_seed(seed)
        divergence = guards.DivergenceGuard(lambda: f"{lr:.3g}")
        for step in range(steps):
            order = torch.randperm(len(inputs), generator=generator)  # full batch, as fit draws it
            xb, yb = augment(inputs[order], generator), y[order]
            model.train()  # the trap: frozen BatchNorm layers are back in training mode (no guards.training_mode)
            loss = F.cross_entropy(model(xb), yb)
            divergence.check(step, loss.detach())
            guards.update(optimizer, loss)
        return model
    return run


def linear_probe(layer: str = "pooled", steps: int = 200, lr: float = 1e-2,
                 weights: str = "netb_source") -> Method:
    """A method: a linear probe on a frozen pretrained ``layer`` (see :mod:`ftlib.probing`)."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        return fit_probe_model(load_pretrained(weights), x, y, layer, steps=steps, lr=lr)
    return run


def source_retention(weights: str = "netb_source", max_per_class: int | None = None
                     ) -> Callable[[nn.Module], dict[str, float]]:
    """A ``metrics`` function for :func:`run_paired`: source-task accuracy after fine-tuning.

    The fine-tuned backbone gets the *source* head of ``weights`` back and is evaluated on
    the source classes' test images (lessons 05 and 07).  Models that did not start from
    those weights (scratch, probes) get no entry.
    """
    source = load_pretrained(weights)
    xs, ys = class_subset(*load_fashion_mnist("test"), SOURCE_CLASSES)
    if max_per_class is not None:
        xs, ys = _first_per_class(xs, ys, max_per_class)

    def metrics(model: nn.Module) -> dict[str, float]:
        if getattr(model, "source_weights", None) != weights:
            return {}
        probe = copy.deepcopy(model)
        probe.head = copy.deepcopy(source.head)
        return {"source_accuracy": evaluate(probe, xs, ys)["accuracy"]}
    return metrics


def _first_per_class(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    keep = torch.cat([torch.nonzero(y == c).flatten()[:n] for c in torch.unique(y).tolist()])
    return x[keep], y[keep]


def limit_test(task: Task, per_class: int | None) -> Task:
    """The same task with only the first ``per_class`` test images of each class (for quick runs)."""
    if per_class is None:
        return task
    xt, yt = _first_per_class(task.x_test, task.y_test, per_class)
    return Task(task.name, task.x_pool, task.y_pool, xt, yt)


def run_paired(methods: Mapping[str, Method], task: Task, ks: Sequence[int], seeds: Sequence[int],
               metrics: Callable[[nn.Module], dict[str, float]] | None = None,
               verbose: bool = False) -> list[dict]:
    """Run every method on the same k-shot subset per (k, seed); one row per run.

    Each row has ``method``, ``k``, ``seed``, ``accuracy`` on the task's test set and, with
    ``metrics``, whatever that function returns for the trained model (e.g. source accuracy).
    """
    if not methods or not ks or not seeds:
        raise ValueError("need at least one method, one k and one seed")
    rows = []
    for k in ks:
        for seed in seeds:
            x_k, y_k = k_shot(task.x_pool, task.y_pool, k, seed=seed)
            for name, method in methods.items():
                model = method(x_k, y_k, seed)
                row = {"method": name, "k": k, "seed": seed,
                       "accuracy": evaluate(model, task.x_test, task.y_test)["accuracy"]}
                if metrics is not None:
                    row.update(metrics(model))
                rows.append(row)
                if verbose:
                    print(f"k={k} seed={seed} {name}: {row['accuracy']:.4f}", flush=True)
    return rows


def paired_interval(diffs: Sequence[float]) -> tuple[float, float]:
    """95 % t-interval for the mean of paired differences."""
    n = len(diffs)
    mean = statistics.fmean(diffs)
    if n < 2:
        return (mean, mean)
    t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96
    half = t * statistics.stdev(diffs) / math.sqrt(n)
    return (mean - half, mean + half)


def summarize(rows: Sequence[dict], baseline: str | None = None, metric: str = "accuracy") -> list[dict]:
    """Per (method, k): n, mean, std and — against ``baseline`` — paired diff, 95 % CI, wins."""
    index = {(r["method"], r["k"], r["seed"]): r[metric] for r in rows}
    methods = list(dict.fromkeys(r["method"] for r in rows))
    ks = list(dict.fromkeys(r["k"] for r in rows))
    if baseline is not None and baseline not in methods:
        raise KeyError(f"baseline {baseline!r} is not among the methods {methods}")
    out = []
    for k in ks:
        for m in methods:
            seeds = [s for (mm, kk, s) in index if mm == m and kk == k]
            values = [index[(m, k, s)] for s in seeds]
            if not values:
                continue
            entry = {"method": m, "k": k, "n": len(values), "mean": statistics.fmean(values),
                     "std": statistics.stdev(values) if len(values) > 1 else 0.0}
            if baseline is not None and m != baseline:
                diffs = [index[(m, k, s)] - index[(baseline, k, s)] for s in seeds if (baseline, k, s) in index]
                lo, hi = paired_interval(diffs)
                entry.update(diff=statistics.fmean(diffs), diff_lo=lo, diff_hi=hi,
                             wins=sum(d > 0 for d in diffs), pairs=len(diffs))
            out.append(entry)
    return out


def format_summary(summary: Sequence[dict], percent: bool = True, width: int = 28) -> str:
    """A text table of :func:`summarize`'s output (accuracies in % by default; ``width`` of the method column)."""
    f = 100.0 if percent else 1.0
    lines = [f"{'method':<{width}}{'k':>4}{'mean':>8}{'± std':>8}{'paired diff [95% CI]':>26}{'wins':>7}"]
    for e in summary:
        diff = (f"{f * e['diff']:+.1f} [{f * e['diff_lo']:+.1f}, {f * e['diff_hi']:+.1f}]"
                if "diff" in e else "baseline")
        wins = f"{e['wins']}/{e['pairs']}" if "wins" in e else ""
        lines.append(f"{e['method']:<{width}}{e['k']:>4}{f * e['mean']:>8.1f}{f * e['std']:>8.1f}{diff:>26}{wins:>7}")
    return "\n".join(lines)


# -- reading precomputed results (lessons 03-05) ------------------------------------------------

def load_results(name: str = "transfer") -> dict:
    """``results/<name>.json`` as written by ``scripts/precompute_<...>.py`` (see ftlib.results)."""
    return load_result(name)


def by_method_and_k(summary: Sequence[dict]) -> dict[tuple[str, int], dict]:
    """Index :func:`summarize` output by ``(method, k)``."""
    return {(e["method"], e["k"]): e for e in summary}


def time_to_accuracy(curves: Sequence[dict], reference: str = "scratch, lr 1e-3", fraction: float = 0.9) -> dict[str, float]:
    """Mean (over seeds) first step at which each method reaches ``fraction`` × ``reference``'s final accuracy.

    ``curves`` are rows ``{"method", "seed", "step": [...], "accuracy": [...]}`` (see
    ``scripts/precompute_transfer.py``); a method that never gets there counts as the last step + 1.
    """
    by_seed: dict[int, dict[str, dict]] = {}
    for c in curves:
        by_seed.setdefault(c["seed"], {})[c["method"]] = c
    steps: dict[str, list[float]] = {}
    for seed, runs in by_seed.items():
        if reference not in runs:
            raise KeyError(f"seed {seed} has no curve for the reference {reference!r}")
        goal = fraction * runs[reference]["accuracy"][-1]
        for method, c in runs.items():
            hit = next((s for s, a in zip(c["step"], c["accuracy"]) if a >= goal), c["step"][-1] + 1)
            steps.setdefault(method, []).append(hit)
    return {m: statistics.fmean(v) for m, v in steps.items()}
