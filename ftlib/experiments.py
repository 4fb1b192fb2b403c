"""Honest comparisons: paired k-shot experiments over seeds (lessons 04-08).

Every method sees *the same* k-shot subset within a seed, so differences between methods
are paired: per seed, ``method − baseline``.  ``summarize`` reports mean ± std, the mean
paired difference with a 95 % t-interval, and how many seeds each method won.

A *method* is a function ``(x_k, y_k, seed) -> trained model``; ``run_paired`` evaluates
it on the task's test set.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ftlib.augment import shift_flip
from ftlib.data import class_subset, k_shot, load_fashion_mnist
from ftlib.freezing import freeze_to
from ftlib.models import NetB, load_pretrained, replace_head
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
    """COURSE.md's recipe: full-batch Adam, ±2 px shifts + flips; returns the trained model."""
    fit(model, x, y, steps=steps, lr=lr, batch_size=None, seed=seed, progress=False,
        augment=shift_flip() if augment else None, **fit_kwargs)
    return model


def scratch(lr: float = 1e-3, steps: int = 100) -> Method:
    """A method: Net-B from random initialisation (seeded), trained with :func:`finetune`."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return finetune(NetB(int(y.max()) + 1), x, y, steps=steps, lr=lr, seed=seed)
    return run


def pretrained(lr: float = 1e-3, steps: int = 100, frozen_blocks: int = 0,
               weights: str = "netb_source") -> Method:
    """A method: shipped pretrained Net-B, fresh head, first ``frozen_blocks`` blocks frozen."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = replace_head(load_pretrained(weights), int(y.max()) + 1, seed=seed)
        freeze_to(model, frozen_blocks)
        return finetune(model, x, y, steps=steps, lr=lr, seed=seed)
    return run


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


def format_summary(summary: Sequence[dict], percent: bool = True) -> str:
    """A text table of :func:`summarize`'s output (accuracies in % by default)."""
    f = 100.0 if percent else 1.0
    lines = [f"{'method':<28}{'k':>4}{'mean':>8}{'± std':>8}{'paired diff [95% CI]':>26}{'wins':>7}"]
    for e in summary:
        diff = (f"{f * e['diff']:+.1f} [{f * e['diff_lo']:+.1f}, {f * e['diff_hi']:+.1f}]"
                if "diff" in e else "baseline")
        wins = f"{e['wins']}/{e['pairs']}" if "wins" in e else ""
        lines.append(f"{e['method']:<28}{e['k']:>4}{f * e['mean']:>8.1f}{f * e['std']:>8.1f}{diff:>26}{wins:>7}")
    return "\n".join(lines)
