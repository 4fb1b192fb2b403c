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
from ftlib.training import _batch_indices as batch_indices, evaluate, fit

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
             seed: int = 0, augment: bool = True, batch_size: int | None = None, **fit_kwargs) -> nn.Module:
    """COURSE.md's recipe: full-batch Adam, ±2 px shifts + flips; returns the trained model.

    ``batch_size`` gives mini-batches instead (lesson 04's BatchNorm trap with small batches).
    The :class:`ftlib.training.History` of the run is kept as ``model.fit_history``.
    """
    history = fit(model, x, y, steps=steps, lr=lr, batch_size=batch_size, seed=seed, progress=False,
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
               weights: str = "netb_source", head_lr: float | None = None, head_init: str = "random",
               **fit_kwargs) -> Method:
    """A method: shipped pretrained Net-B, fresh head, first ``frozen_blocks`` blocks frozen.

    - ``head_lr``: the new head's own learning rate (the trainable blocks keep ``lr``) — lesson 04
      measures what a 10x head rate does (d2l's fine-tuning recipe);
    - ``head_init``: ``"random"`` (``nn.Linear``'s init, seeded) or ``"zeros"`` (as the linear probes).
    """
    if head_init not in ("random", "zeros"):
        raise ValueError(f"head_init must be 'random' or 'zeros', got {head_init!r}")

    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        if head_init == "zeros":
            nn.init.zeros_(model.head.weight)
            nn.init.zeros_(model.head.bias)
        freeze_to(model, frozen_blocks)
        optimizer = None if head_lr is None else _head_optimizer(model, lr, head_lr)
        return finetune(model, x, y, steps=steps, lr=lr, seed=seed, optimizer=optimizer, **fit_kwargs)
    return run


def _head_optimizer(model: NetB, lr: float, head_lr: float) -> torch.optim.Adam:
    """Adam with every trainable block at ``lr`` and the head at ``head_lr``."""
    rates = {name: lr for name in ("block1", "block2", "block3")}
    return make_group_optimizer(model, {**rates, "head": head_lr})


def lp_ft(head_lr: float = 1e-2, head_steps: int = 100, lr: float = 1e-3, steps: int = 100,
          weights: str = "netb_source", **fit_kwargs) -> Method:
    """A method (lesson 04): LP-FT (Kumar et al. 2022) — first train only the new head on the frozen
    backbone (``head_steps`` at ``head_lr``), then fine-tune everything (``steps`` at ``lr``)."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        freeze_to(model, 3)
        finetune(model, x, y, steps=head_steps, lr=head_lr, seed=seed, **fit_kwargs)
        freeze_to(model, 0)
        return finetune(model, x, y, steps=steps, lr=lr, seed=seed + 10_000, **fit_kwargs)
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


def gradual_freezing(lr: float = 1e-3, steps: int = 100, weights: str = "netb_source", **fit_kwargs) -> Method:
    """A control for gradual unfreezing (lesson 05): every block trains for *as many steps* as under gradual
    unfreezing (block 1 a quarter of them, block 2 half, block 3 three quarters), but for its *first* steps
    instead of its last: everything trains from the start and the blocks freeze one by one from the bottom."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        names = ["block1", "block2", "block3"]
        freeze_at = {round(steps * (i + 1) / (len(names) + 1)): i + 1 for i in range(len(names))}
        optimizer = make_group_optimizer(model, lr, include_frozen=True)
        done = {"steps": 0}

        def callback(step: int, history: object = None) -> None:
            done["steps"] += 1
            if done["steps"] in freeze_at:
                freeze_to(model, freeze_at[done["steps"]])
        return finetune(model, x, y, steps=steps, seed=seed, optimizer=optimizer, callback=callback, **fit_kwargs)
    return run


def matched_rates(lr: float = 1e-3, steps: int = 100, weights: str = "netb_source", **fit_kwargs) -> Method:
    """A control for gradual unfreezing (lesson 05): all blocks train all the time, each at ``lr`` times the
    share of the steps it trains under gradual unfreezing (block 1 ×1/4, block 2 ×2/4, block 3 ×3/4, head ×1),
    so each block's summed learning rate matches."""
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        rates = {"block1": lr / 4, "block2": lr / 2, "block3": 3 * lr / 4, "head": lr}
        return finetune(model, x, y, steps=steps, seed=seed, optimizer=make_group_optimizer(model, rates),
                        **fit_kwargs)
    return run


def lr_found(steps: int = 100, weights: str = "netb_source", **fit_kwargs) -> Method:
    """Full fine-tuning at the rate ``lr_find`` suggests on the same k-shot images (lesson 05's range test,
    30 steps from 1e-6 to 1, full batch); the rate is kept as ``model.found_lr``."""
    from ftlib.lr_finder import lr_find

    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        found = lr_find(model, x, y, start_lr=1e-6, end_lr=1.0, num_steps=30, batch_size=None, seed=seed)
        model = finetune(model, x, y, steps=steps, lr=found.suggestion, seed=seed, **fit_kwargs)
        model.found_lr = found.suggestion
        return model
    return run


def naive_frozen(lr: float = 1e-3, steps: int = 100, weights: str = "netb_source",
                 batch_size: int | None = None) -> Method:
    """A method (lesson 04, the BatchNorm trap): feature extraction written as plain PyTorch.

    The backbone is frozen with ``requires_grad_(False)`` only and trained with
    ``model.train()`` every step — so its BatchNorm layers keep *training mode*: they
    normalise with the statistics of each target batch and overwrite their running
    statistics.  Same data, augmentation, seed, batches and optimizer as
    ``pretrained(frozen_blocks=3, batch_size=batch_size)`` (``None``: full batch).
    """
    def run(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        model = _pretrained_with_head(weights, int(y.max()) + 1, seed)
        for name in ("block1", "block2", "block3"):
            getattr(model, name).requires_grad_(False)
        optimizer = torch.optim.Adam(model.head.parameters(), lr=lr)
        inputs, augment = to_input(x), shift_flip()
        y = guards.as_labels(y, model.head.out_features, n=len(inputs))
        generator = torch.Generator().manual_seed(seed)
        batches = batch_indices(len(inputs), guards.check_batch_size(batch_size, len(inputs)), generator)
        divergence = guards.DivergenceGuard(lambda: f"{lr:.3g}")
        for step in range(steps):
            order = next(batches)  # the batches fit draws
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


def verdict(entry: Mapping[str, float]) -> str:
    """How lessons 03-09 read a paired comparison (a :func:`summarize` entry with a ``diff``):
    "helps" / "hurts" when its 95 % interval excludes 0, else "no clear effect" (8 seeds cannot tell)."""
    if entry["diff_lo"] > 0:
        return "helps"
    if entry["diff_hi"] < 0:
        return "hurts"
    return "no clear effect"


def format_paired(entry: Mapping[str, float], percent: bool = True) -> str:
    """A paired comparison in one phrase: ``+9.2 [+2.3, +16.0], 7/8 seeds`` (points when ``percent``)."""
    f = 100.0 if percent else 1.0
    return (f"{f * entry['diff']:+.1f} [{f * entry['diff_lo']:+.1f}, {f * entry['diff_hi']:+.1f}], "
            f"{entry['wins']}/{entry['pairs']} seeds")


def compare(rows: Sequence[dict], method: str, baseline: str, metric: str = "accuracy") -> dict[int, dict]:
    """``method`` against ``baseline`` paired by seed, per k: ``{k: summarize entry with diff}``."""
    entries = summarize([r for r in rows if r["method"] in (method, baseline)], baseline, metric)
    out = {e["k"]: e for e in entries if e["method"] == method}
    if not out:
        raise KeyError(f"no rows of method {method!r} (the methods are {sorted({r['method'] for r in rows})})")
    return out


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
