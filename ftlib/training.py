"""``fit`` and ``evaluate``: the training loop every lesson uses (lessons 00, 04, 06).

A plain PyTorch loop with the guard rails students need: frozen BatchNorm stays in eval
mode, a loss that becomes NaN stops with a message that names the step, an optimizer
with nothing to train is an error, and early stopping restores the best weights.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ftlib import guards
from ftlib.data import check_labels, to_input
from ftlib.freezing import set_frozen_bn_eval, trainable_params
from ftlib.guards import TrainingDiverged  # noqa: F401  (re-exported: ftlib.TrainingDiverged)

Regularizer = Callable[[nn.Module], torch.Tensor]


@dataclass
class History:
    """What happened during :func:`fit`: per-step loss and learning rate, periodic validation."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    best_step: int | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def plot(self, ax=None):
        """Training loss (and validation loss when present) against the step."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        ax.plot(self.step, self.loss, label="training loss", alpha=0.8)
        if self.eval_step:
            ax.plot(self.eval_step, self.val_loss, "o-", label="validation loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


def as_float_input(x: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) images become normalised floats; float (N, C, H, W) pass through, after
    :func:`ftlib.guards.check_inputs` has ruled out value ranges that cannot be right."""
    x = guards.check_inputs(x)
    if x.dtype == torch.uint8:
        return to_input(x)
    if not torch.is_floating_point(x):
        raise TypeError(f"inputs must be uint8 images or float tensors, got {x.dtype}")
    return x


def make_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam over the trainable parameters; an error when there are none."""
    params = trainable_params(model)
    if not params:
        raise ValueError("the model has no trainable parameters (everything is frozen), so training "
                         "would do nothing. Unfreeze something first: ftlib.unfreeze(model) or "
                         "ftlib.freeze_to(model, n).")
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine decay from the optimizer's learning rates to zero over ``total_steps``."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits for all of ``x`` in eval mode (the model's mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        out = [model(as_float_input(x[i:i + batch_size]).to(device)).cpu()
               for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
        if was_training:
            set_frozen_bn_eval(model)
    return torch.cat(out)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on (x, y), in eval mode."""
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} inputs but {len(y)} labels")
    logits = predict(model, x, batch_size)
    check_labels(y, logits.shape[1])
    return {"loss": F.cross_entropy(logits, y).item(),
            "accuracy": (logits.argmax(1) == y).float().mean().item()}


def _check_validation(val, eval_every, patience) -> None:
    """``val``, ``eval_every`` and ``patience`` only work together; alone they would silently do nothing."""
    if val is not None and not eval_every:
        raise ValueError("val= was given without eval_every=, so the validation set would never be used: "
                         "add eval_every=10 (evaluate every 10 steps)")
    if eval_every is not None and (isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1):
        raise ValueError(f"eval_every must be a whole number >= 1, got {eval_every!r}")
    if eval_every and val is None:
        raise ValueError("eval_every= was given without val=(x_val, y_val): there is nothing to evaluate on")
    if patience is not None and val is None:
        raise ValueError("patience= (early stopping) needs val=(x_val, y_val) and eval_every=: without a "
                         "validation set there is nothing to stop on")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 0):
        raise ValueError(f"patience must be a whole number >= 0, got {patience!r}")


def _batch_indices(n: int, batch_size: int, generator: torch.Generator):
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            yield order[start:start + batch_size]


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int | None = None,
        epochs: int | None = None, lr: float = 1e-3, batch_size: int | None = 128,
        optimizer: torch.optim.Optimizer | None = None, weight_decay: float = 0.0,
        schedule: str | Callable | None = None, augment: Callable | None = None,
        regularizer: Regularizer | None = None, val: tuple[torch.Tensor, torch.Tensor] | None = None,
        eval_every: int | None = None, patience: int | None = None, seed: int = 0,
        progress: bool = True, history: History | None = None,
        callback: Callable[[int, History], None] | None = None) -> History:
    """Train ``model`` on (x, y) with cross-entropy and return a :class:`History`.

    - ``steps`` (optimizer steps) or ``epochs``; ``batch_size=None`` means full batch.
    - ``optimizer`` defaults to Adam(lr, weight_decay) over the trainable parameters.
    - ``schedule="cosine"`` or a function ``(optimizer, total_steps) -> scheduler``.
    - ``augment(x_batch, generator)`` transforms each float batch (see ftlib.augment).
    - ``regularizer(model)`` is added to the loss (L2-SP, EWC: lesson 06 and 07).
    - ``val``, ``eval_every`` and ``patience`` give validation curves and early stopping
      (best weights restored); ``callback(step, history)`` runs after every step.
    """
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= or epochs=")
    inputs = as_float_input(guards.check_inputs(x))
    if len(inputs) == 0:
        raise ValueError("there are no training examples (an empty training set): check the subset you selected")
    y = guards.as_labels(y, n=len(inputs))
    guards.check_model_dtype(model)
    n = len(inputs)
    batch = guards.check_batch_size(batch_size, n)
    total = steps if steps is not None else epochs * max(1, n // batch)
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"steps and epochs must be whole numbers >= 0, got {total!r}")
    _check_validation(val, eval_every, patience)
    if optimizer is None:
        optimizer = make_optimizer(model, lr, weight_decay)
    guards.check_optimizer(model, optimizer)
    scheduler = cosine_schedule(optimizer, total) if schedule == "cosine" else \
        schedule(optimizer, total) if callable(schedule) else None
    if schedule is not None and scheduler is None:
        raise ValueError(f"unknown schedule {schedule!r}: use 'cosine' or a function (optimizer, steps)")
    history = history or History()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    batches = _batch_indices(n, batch, generator)
    best_state, best_loss, bad_evals = None, float("inf"), 0
    start_step = history.step[-1] + 1 if history.step else 0
    divergence = guards.DivergenceGuard(lambda: guards.lr_text(optimizer))
    started = time.perf_counter()
    from tqdm.auto import tqdm
    bar = tqdm(total=total, disable=not progress, desc="fit", leave=False, mininterval=0.5)
    try:
        guards.training_mode(model)
        for i in range(total):
            step = start_step + i
            idx = next(batches)
            xb, yb = inputs[idx], y[idx]
            if augment is not None:
                xb = augment(xb, generator)
            logits = model(xb.to(device))
            if i == 0:
                check_labels(y, logits.shape[1])  # every label, once, against the head's size
            task = F.cross_entropy(logits, yb.to(device))
            penalty = regularizer(model) if regularizer is not None else None
            value = divergence.check(step, task.detach(), None if penalty is None else penalty.detach())
            guards.update(optimizer, task if penalty is None else task + penalty)
            history.step.append(step)
            history.loss.append(value)
            history.lr.append(optimizer.param_groups[0]["lr"])
            if scheduler is not None:
                scheduler.step()
            bar.update(1)
            if val is not None and eval_every and ((i + 1) % eval_every == 0 or i + 1 == total):
                metrics = evaluate(model, *val)
                history.eval_step.append(step)
                history.val_loss.append(metrics["loss"])
                history.val_acc.append(metrics["accuracy"])
                if metrics["loss"] < best_loss:
                    best_loss, bad_evals, history.best_step = metrics["loss"], 0, step
                    best_state = copy.deepcopy(model.state_dict()) if patience is not None else None
                else:
                    bad_evals += 1
                    if patience is not None and bad_evals > patience:
                        history.stopped_early = True
                        break
            if callback is not None:
                callback(step, history)
                guards.check_optimizer(model, optimizer)  # a callback that unfreezes needs the params held
    finally:
        bar.close()
        history.seconds += time.perf_counter() - started
    if best_state is not None and history.best_step != history.step[-1]:
        model.load_state_dict(best_state)
    return history
