"""Learning-rate schedules and gradual unfreezing, ULMFiT style (lesson 05).

- :func:`stlr_factor` / :func:`slanted_triangular`: the *slanted triangular* schedule of
  Howard & Ruder (2018): a short linear warm-up to the peak, then a long linear decay.
- :func:`one_cycle`: PyTorch's own ``OneCycleLR`` (Smith 2018) wrapped for ``fit(schedule=...)``.
- :func:`unfreeze_plan` and :func:`gradual_unfreezing`: unfreeze one block at a time, top first.

Every schedule here is a function ``(optimizer, total_steps) -> scheduler`` so it can be
passed straight to ``ftlib.fit(..., schedule=...)``.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
from torch import nn

from ftlib.freezing import block_names, freeze_to

Schedule = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]


def stlr_factor(step: int, total_steps: int, cut_frac: float = 0.1, ratio: float = 32.0) -> float:
    """Multiplier of the peak learning rate at ``step`` (Howard & Ruder 2018, eq. 3).

    It rises linearly for the first ``cut_frac`` of training from ``1/ratio`` to 1, then
    falls linearly back to ``1/ratio`` at the end.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}")
    if not 0 < cut_frac < 1:
        raise ValueError(f"cut_frac must be in (0, 1), got {cut_frac}")
    if ratio < 1:
        raise ValueError(f"ratio must be at least 1, got {ratio}")
    cut = max(1, math.floor(total_steps * cut_frac))
    t = min(max(step, 0), total_steps)
    p = t / cut if t < cut else 1 - (t - cut) / max(1, cut * (1 / cut_frac - 1))
    p = min(max(p, 0.0), 1.0)
    return (1 + p * (ratio - 1)) / ratio


def slanted_triangular(cut_frac: float = 0.1, ratio: float = 32.0) -> Schedule:
    """A schedule for ``fit(schedule=...)``: every group's lr follows :func:`stlr_factor`."""
    def make(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
        stlr_factor(0, total_steps, cut_frac, ratio)  # validate the arguments now
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: stlr_factor(s, total_steps, cut_frac, ratio))
    return make


def one_cycle(pct_start: float = 0.25, div_factor: float = 25.0, final_div_factor: float = 1e4) -> Schedule:
    """``torch.optim.lr_scheduler.OneCycleLR`` for ``fit(schedule=...)``.

    The peak of each group is the learning rate the group was created with, so it works
    with discriminative rates.  (OneCycleLR also cycles Adam's beta1 between 0.85 and 0.95.)
    """
    def make(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
        peaks = [g["lr"] for g in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=peaks, total_steps=max(total_steps, 2), pct_start=pct_start,
            div_factor=div_factor, final_div_factor=final_div_factor)
    return make


def lr_curve(schedule: Schedule, total_steps: int, lr: float = 1.0) -> list[float]:
    """The learning rates ``schedule`` gives over ``total_steps`` steps (for plots and tests)."""
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=lr)
    sched = schedule(opt, total_steps)
    out = []
    with warnings.catch_warnings():  # nothing trains here, so the optimizer is never stepped
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
        for _ in range(total_steps):
            out.append(opt.param_groups[0]["lr"])
            sched.step()
    return out


def unfreeze_plan(model: nn.Module, total_steps: int, stages: int | None = None) -> list[tuple[int, int]]:
    """When to unfreeze: a list of ``(start_step, frozen_blocks)``, one entry per stage.

    Stage 0 trains only the top block (the head); each later stage unfreezes the next block
    down; the last stage trains everything.  ``stages`` defaults to the number of blocks
    and the steps are split evenly.
    """
    n = len(block_names(model))
    stages = n if stages is None else stages
    if not 1 <= stages <= n:
        raise ValueError(f"stages must be between 1 and {n} (the number of blocks), got {stages}")
    if total_steps < stages:
        raise ValueError(f"need at least one step per stage: {total_steps} steps for {stages} stages")
    plan = []
    for i in range(stages):
        frozen = n - 1 - i if i < stages - 1 else 0
        plan.append((round(i * total_steps / stages), frozen))
    return plan


def gradual_unfreezing(model: nn.Module, total_steps: int, stages: int | None = None) -> Callable[[int, object], None]:
    """Freeze all but the head now and return a ``fit(callback=...)`` that unfreezes on schedule.

    Build the optimizer with ``include_frozen=True`` (see :func:`ftlib.freezing.param_groups`)
    so every block is already in it; the callback runs after each step and calls
    :func:`ftlib.freezing.freeze_to` when the next stage starts.
    """
    plan = unfreeze_plan(model, total_steps, stages)
    freeze_to(model, plan[0][1])
    starts = dict(plan[1:])
    state = {"done": 0}

    def callback(step: int, history: object = None) -> None:
        state["done"] += 1
        if state["done"] in starts:
            freeze_to(model, starts[state["done"]])
    callback.plan = plan  # type: ignore[attr-defined]
    return callback
