"""The learning-rate range test, ``lr_find`` (Smith 2017; fastai's lr_find), lesson 05.

Train for a few steps while the learning rate grows exponentially from ``start_lr`` to
``end_lr``, record the (smoothed) loss at each rate, stop when the loss explodes, and put
the weights back as they were.  How to read the plot:

- on the left the rate is too small: the loss hardly moves;
- in the middle the loss falls fastest — a good learning rate lies there;
- on the right the loss shoots up: too large, training diverges.

Two common suggestions: the rate where the smoothed loss falls *steepest*, and the rate
of the *minimum loss divided by 10*.  Both are rules of thumb, not guarantees.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ftlib import guards
from ftlib.data import check_labels
from ftlib.freezing import set_frozen_bn_eval, trainable_params
from ftlib.training import as_float_input


@dataclass
class LRFindResult:
    """Rates tried, raw and smoothed losses, and the two suggestions."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    steepest: float
    min_over_10: float
    diverged: bool

    @property
    def suggestion(self) -> float:
        """The suggested rate: the steepest descent of the smoothed loss."""
        return self.steepest

    def plot(self, ax=None):
        """Loss against learning rate (log x axis) with both suggestions marked."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss")
        ax.plot(self.lrs, self.smoothed, label="smoothed loss")
        ax.axvline(self.steepest, color="C2", ls="--", label=f"steepest: {self.steepest:.1e}")
        ax.axvline(self.min_over_10, color="C3", ls=":", label=f"minimum / 10: {self.min_over_10:.1e}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        top = min(max(self.smoothed), 3 * self.smoothed[0])
        ax.set_ylim(min(self.smoothed) * 0.9, top * 1.05)
        ax.legend()
        return ax


def exponential_lrs(start_lr: float, end_lr: float, num_steps: int) -> list[float]:
    """``num_steps`` rates spaced evenly on a log scale from ``start_lr`` to ``end_lr``."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2, got {num_steps}")
    ratio = (end_lr / start_lr) ** (1 / (num_steps - 1))
    return [start_lr * ratio ** i for i in range(num_steps)]


def suggestions(lrs: list[float], smoothed: list[float]) -> tuple[float, float]:
    """(steepest descent, minimum / 10) of a smoothed loss curve."""
    if len(lrs) != len(smoothed) or len(lrs) < 3:
        raise ValueError("need at least three (lr, loss) points of equal length")
    best = min(range(len(smoothed)), key=smoothed.__getitem__)
    logs = [math.log10(v) for v in lrs]
    slopes = [(smoothed[i + 1] - smoothed[i - 1]) / (logs[i + 1] - logs[i - 1]) for i in range(1, len(lrs) - 1)]
    upto = max(1, min(best, len(slopes)))  # steepest *before* the minimum
    steep = 1 + min(range(upto), key=slopes.__getitem__)
    return lrs[steep], lrs[best] / 10


def lr_find(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, start_lr: float = 1e-6,
            end_lr: float = 1.0, num_steps: int = 60, batch_size: int | None = 64, beta: float = 0.8,
            diverge_factor: float = 4.0, seed: int = 0,
            make_optimizer: Callable[[list, float], torch.optim.Optimizer] | None = None,
            augment: Callable | None = None) -> LRFindResult:
    """Run the range test on ``model`` (weights and BatchNorm statistics are restored afterwards).

    The loss is smoothed with an exponential moving average (``beta``, bias-corrected);
    the test stops early when the smoothed loss exceeds ``diverge_factor`` × its minimum.
    Only trainable parameters are trained — an error when everything is frozen.
    """
    params = trainable_params(model)
    if not params:
        raise ValueError("the model has no trainable parameters (everything is frozen), so there is no "
                         "learning rate to find. Unfreeze something first: ftlib.unfreeze(model).")
    x = guards.check_inputs(x)
    y = guards.as_labels(y, n=len(x))
    lrs = exponential_lrs(start_lr, end_lr, num_steps)
    saved = copy.deepcopy(model.state_dict())
    was_training = model.training
    optimizer = (make_optimizer or (lambda p, lr: torch.optim.Adam(p, lr=lr)))(params, lrs[0])
    inputs = as_float_input(x)
    n = len(inputs)
    batch = guards.check_batch_size(batch_size, n)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    tried, raw, smooth = [], [], []
    avg, best, diverged = 0.0, float("inf"), False
    try:
        guards.training_mode(model)
        for i, lr in enumerate(lrs):
            for g in optimizer.param_groups:
                g["lr"] = lr
            idx = torch.randperm(n, generator=generator)[:batch]
            xb = inputs[idx] if augment is None else augment(inputs[idx], generator)
            logits = model(xb.to(device))
            if i == 0:
                check_labels(y, logits.shape[1])  # every label, once
            loss = F.cross_entropy(logits, y[idx].to(device))
            value = loss.item()
            if not math.isfinite(value):   # the range test *wants* to find where training diverges
                diverged = True
                break
            guards.update(optimizer, loss)
            avg = beta * avg + (1 - beta) * value
            s = avg / (1 - beta ** (i + 1))
            tried.append(lr)
            raw.append(value)
            smooth.append(s)
            best = min(best, s)
            if s > diverge_factor * best and i > 5:
                diverged = True
                break
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
        if was_training:
            set_frozen_bn_eval(model)
    if len(tried) < 3:
        raise RuntimeError(f"the loss diverged after {len(tried)} steps: lower start_lr (now {start_lr:g})")
    steep, min10 = suggestions(tried, smooth)
    return LRFindResult(tried, raw, smooth, steep, min10, diverged)
