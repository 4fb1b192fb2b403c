"""The guarded training step: one home for the checks every training loop in ftlib runs.

Lesson 00 promises them and lessons 04-05 explain why they matter:

- :func:`as_labels` checks *all* labels once, up front (integer class indices, shape (N,), in range);
- :func:`check_inputs` refuses image batches whose value range cannot be right (0-255 floats, or
  images normalised twice), NumPy arrays and lists are converted, float64 is refused with the fix;
- :func:`check_batch_size` turns a batch size into a number of examples, or says what is wrong;
- :func:`check_optimizer` refuses an optimizer that would train nothing (all learning rates 0, no
  trainable parameter) or that misses trainable parameters (built before ``unfreeze``);
- :func:`training_mode` puts the model in training mode with frozen BatchNorm kept in eval mode
  (the BatchNorm trap, lesson 04);
- :class:`DivergenceGuard` stops on a NaN/infinite loss *or* one that explodes far beyond its start, and
  blames the regularizer, not the learning rate, when the regularizer is what became NaN;
- :func:`update` is the optimizer step itself (with optional gradient clipping).

``fit``, the live view, ``lr_find``, DANN, the forgetting and probing helpers, the BatchNorm-trap
baseline, the text track's fine-tuning (``ftlib.text.finetune.train``) and its language-model pretraining
(``ftlib.tooling.pretrain_lm``) all use these functions, each keeping its own shape around them (DANN has two losses; the
BatchNorm-trap baseline deliberately skips :func:`training_mode`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ftlib.freezing import set_frozen_bn_eval

# a loss this many times its first value (and above EXPLODE_MIN) has left any sensible training run
EXPLODE_FACTOR = 1e3
EXPLODE_MIN = 1e3
# ftlib.to_input maps pixels 0..255 to (p/255 - 0.286)/0.353, i.e. into [-0.81, 2.03]
COURSE_INPUT_RANGE = (-0.81, 2.03)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite, or exploded far beyond its starting value."""


def as_tensor(values, what: str) -> torch.Tensor:
    """A tensor from a tensor, a NumPy array or a list; one clear sentence otherwise."""
    if isinstance(values, torch.Tensor):
        return values
    if isinstance(values, (np.ndarray, list, tuple)):
        try:
            return torch.as_tensor(np.asarray(values))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{what} could not be turned into a tensor ({exc}); pass a torch tensor or a "
                            "NumPy array of numbers") from None
    raise TypeError(f"{what} must be a torch tensor (or a NumPy array), got {type(values).__name__}")


def as_labels(y, num_classes: int | None = None, n: int | None = None) -> torch.Tensor:
    """All labels checked once: integer class indices of shape (N,), in [0, num_classes); int64 returned."""
    y = as_tensor(y, "the labels y")
    if y.dtype == torch.bool or torch.is_floating_point(y) or torch.is_complex(y):
        raise TypeError(f"labels must be integer class indices (0, 1, 2, ...), got dtype {y.dtype}; "
                        "if they are whole numbers stored as floats, use y.long()")
    if y.ndim != 1:
        hint = " — one-hot labels? use y.argmax(1)" if y.ndim == 2 else ""
        raise ValueError(f"labels must have shape (N,), one class index per example, got {tuple(y.shape)}{hint}")
    if n is not None and len(y) != n:
        raise ValueError(f"need as many labels as inputs, got {n} inputs and {len(y)} labels")
    if len(y) == 0:
        raise ValueError("there are no labels (an empty training set): check the subset you selected")
    low, high = int(y.min()), int(y.max())
    if low < 0 or (num_classes is not None and high >= num_classes):
        where = int((y < 0).nonzero()[0]) if low < 0 else int((y >= num_classes).nonzero()[0])
        limit = f"[0, {num_classes - 1}] for a {num_classes}-class head" if num_classes is not None else ">= 0"
        raise ValueError(f"labels must lie in {limit}, got values from {low} to {high} (first bad one at index "
                         f"{where}: {int(y[where])}); relabel with ftlib.class_subset or replace the head with "
                         "the right number of classes")
    return y.long()


def check_inputs(x) -> torch.Tensor:
    """Images as a tensor, refusing value ranges that cannot come from the course's preprocessing."""
    x = as_tensor(x, "the inputs x")
    if x.dtype == torch.float64:
        raise TypeError("the inputs are float64 but models train in float32: convert them with x.float()")
    if torch.is_floating_point(x) and x.numel():
        low, high = float(x.min()), float(x.max())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("the inputs contain NaN or infinite values: check how they were computed")
        if high > 20:
            raise ValueError(f"the float inputs range from {low:.3g} to {high:.3g}: these look like raw pixel "
                             "values 0-255. Pass the uint8 images themselves (fit normalises them) or "
                             "ftlib.to_input(images)")
        if x.shape[-2:] == (28, 28) and (low < COURSE_INPUT_RANGE[0] - 0.5 or high > COURSE_INPUT_RANGE[1] + 1.0):
            raise ValueError(f"the float inputs range from {low:.3g} to {high:.3g}, but ftlib.to_input gives "
                             f"{COURSE_INPUT_RANGE[0]} to {COURSE_INPUT_RANGE[1]}: were they normalised twice? "
                             "Pass the uint8 images, or ftlib.to_input(images) once")
    return x


def check_batch_size(batch_size, n: int) -> int:
    """How many examples one step uses: ``None`` means all ``n``; otherwise a whole number >= 1."""
    if batch_size is None:
        return n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number >= 1 (or None for the full batch), got {batch_size!r}")
    return min(int(batch_size), n)


def _block_of(name: str) -> str:
    return name.split(".")[0]


def check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """An optimizer must train something, at a usable rate, and hold every trainable parameter."""
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if not any(p.requires_grad for g in optimizer.param_groups for p in g["params"]):
        raise ValueError("the optimizer has no trainable parameters: every parameter it holds has "
                         "requires_grad=False. Unfreeze the blocks you want to train, then build the "
                         "optimizer again (or let fit build it).")
    for g in optimizer.param_groups:
        lr = g.get("lr", 0.0)
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
            raise ValueError(f"learning rates must be finite numbers >= 0, got {lr!r}")
    trained = [g for g in optimizer.param_groups if any(p.requires_grad for p in g["params"])]
    if all(g["lr"] == 0 for g in trained):
        raise ValueError("every learning rate is 0, so training would change nothing: give at least one "
                         "trainable group a learning rate above 0 (or freeze what should not move)")
    missing = sorted({_block_of(name) for name, p in model.named_parameters() if p.requires_grad and id(p) not in held})
    if missing:
        raise ValueError(f"trainable parameters of {', '.join(missing)} are not in the optimizer, so they would "
                         "silently stay as they are (was the optimizer built before unfreeze?). Build it after "
                         "unfreezing, or with make_group_optimizer(model, lrs, include_frozen=True) for "
                         "gradual unfreezing.")


def training_mode(model: nn.Module) -> None:
    """``model.train()``, but frozen BatchNorm layers stay in eval mode (lesson 04's trap)."""
    model.train()
    set_frozen_bn_eval(model)


def check_model_dtype(model: nn.Module) -> None:
    """Models train in float32 here; a float64 model would fail with a raw dtype error in the first step."""
    dtypes = {p.dtype for p in model.parameters()}
    if torch.float64 in dtypes:
        raise TypeError("the model's weights are float64 but inputs are float32: convert it with model.float()")


class DivergenceGuard:
    """Stops training whose loss became NaN/infinite or exploded far beyond its first value."""

    def __init__(self, lr_text) -> None:
        self.lr_text = lr_text  # a function giving the current learning rate(s) as text
        self.first: float | None = None

    def check(self, step: int, task: torch.Tensor | float, penalty: torch.Tensor | float | None = None) -> float:
        """The total loss value; raises with the right cause when it is not a sensible number."""
        task_value = float(task)
        penalty_value = 0.0 if penalty is None else float(penalty)
        if math.isfinite(task_value) and not math.isfinite(penalty_value):
            raise ValueError(f"the regularizer returned {penalty_value} at step {step} while the task loss is "
                             f"{task_value:.4g}: the penalty is broken, not the learning rate. Check its "
                             "reference weights, Fisher information and λ for NaN or infinite values.")
        value = task_value + penalty_value
        if not math.isfinite(value):
            raise TrainingDiverged(f"the loss became {value} at step {step} with learning rate {self.lr_text()}: "
                                   "training diverged. Try a smaller learning rate (for example a tenth of it).")
        if self.first is None:
            self.first = value
        elif value > max(EXPLODE_MIN, EXPLODE_FACTOR * self.first):
            raise TrainingDiverged(f"the loss grew from {self.first:.3g} to {value:.3g} by step {step} with learning "
                                   f"rate {self.lr_text()}: training diverged. Try a smaller learning rate (for "
                                   "example a tenth of it).")
        return value


def lr_text(optimizer: torch.optim.Optimizer) -> str:
    """The optimizer's learning rates, as text for messages."""
    lrs = sorted({g["lr"] for g in optimizer.param_groups})
    return ", ".join(f"{lr:.3g}" for lr in lrs)


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float | None = None,
           clip_params=None) -> None:
    """One optimizer step on ``loss``: zero the gradients, backpropagate, clip (optional), step.

    ``grad_clip`` rescales the gradients so that their joint norm is at most that value (the text track's
    recipe, lessons 12-13); ``clip_params`` are the parameters whose norm counts, by default every parameter
    of the optimizer that received a gradient.
    """
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        if clip_params is None:
            clip_params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(clip_params, grad_clip)
    optimizer.step()
